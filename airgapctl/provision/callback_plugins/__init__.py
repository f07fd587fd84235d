"""Ansible callback plugins airgapctl enables for its own runs (ANSIBLE_CALLBACK_PLUGINS points here)."""
