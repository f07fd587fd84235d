"""Upstream credentials in an Ansible Vault file of the inventory, for the secrets role.

Each value is sealed on its own (``!vault``, one vault id), so names, headers and dates stay
readable without the password; ``airgapctl vault`` is the command line over these modules.
"""
