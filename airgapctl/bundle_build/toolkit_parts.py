"""What the toolkit is: the parts of the project tree that travel with the media.

Standard library only: setup.py reads this file to copy the parts into the wheel.
"""

from pathlib import Path

TOOLKIT_PARTS = ("roles", "playbooks", "inventory", "ansible.cfg", "constraints.txt")
# Ansible Vault's header: a file holding it carries a site's sealed credentials.
SEALED_MARK = b"$ANSIBLE_VAULT"


def carried(path: Path) -> bool:
    """Whether a toolkit file travels: sealed credentials (an inventory's vault file) stay with the
    controller that holds their password, never on media every appliance unpacks world-readable."""
    with open(path, "rb") as handle:
        return SEALED_MARK not in handle.read()
