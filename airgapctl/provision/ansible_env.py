"""What Ansible is run with: the toolkit's roles, playbook and ansible.cfg, and the vault secrets'
sources (paths and labels only: a password is never read, shown or recorded here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from airgapctl.errors import BadInputError

VAULT_FILE_VAR = "ANSIBLE_VAULT_PASSWORD_FILE"
IDENTITY_LIST_VAR = "ANSIBLE_VAULT_IDENTITY_LIST"


def toolkit_dir() -> Path:
    """The checkout's toolkit when run from one, else the one the wheel carries."""
    from airgapctl.bundle_build.inputs import PACKAGED_TOOLKIT

    return PACKAGED_TOOLKIT


def default_playbook() -> Path:
    return toolkit_dir() / "playbooks" / "site.yml"


@dataclass(frozen=True)
class Vault:
    """Where Ansible takes the vault passwords from: the options, else its own environment variables."""

    password_file: Path | None
    ids: tuple[str, ...]

    @classmethod
    def resolve(cls, password_file: Path | None, ids: list[str] | tuple[str, ...]) -> Vault:
        if password_file is None and os.environ.get(VAULT_FILE_VAR):
            password_file = Path(os.environ[VAULT_FILE_VAR])
        if not ids and os.environ.get(IDENTITY_LIST_VAR):
            ids = [item.strip() for item in os.environ[IDENTITY_LIST_VAR].split(",") if item.strip()]
        for vault_id in ids:
            # ansible-runner answers no prompt: ansible-playbook would wait for a password forever.
            if vault_id.rpartition("@")[2] == "prompt":
                raise BadInputError(
                    f"vault id {vault_id.rpartition('@')[0] or 'default'}: a prompt cannot be answered during a run",
                    hint="give a password file: --vault-id LABEL@FILE or --vault-password-file FILE",
                )
        # ansible-playbook runs in the run's own directory: a relative path would name nothing there.
        password_file = password_file.expanduser().absolute() if password_file is not None else None
        return cls(password_file, tuple(_absolute_id(vault_id) for vault_id in ids))

    def envvars(self) -> dict[str, str]:
        values = {}
        if self.password_file is not None:
            values[VAULT_FILE_VAR] = str(self.password_file)
        if self.ids:
            values[IDENTITY_LIST_VAR] = ",".join(self.ids)
        return values


def _absolute_id(vault_id: str) -> str:
    label, at, source = vault_id.rpartition("@")
    return f"{label}{at}{Path(source).expanduser().absolute()}" if source else vault_id


def ansible_envvars(vault: Vault, toolkit: Path | None = None) -> dict[str, str]:
    """The variables ansible-playbook gets on top of this process's environment."""
    toolkit = toolkit or toolkit_dir()
    values = {"ANSIBLE_ROLES_PATH": str(toolkit / "roles"), **vault.envvars()}
    config = toolkit / "ansible.cfg"
    if config.is_file():
        values["ANSIBLE_CONFIG"] = str(config)
    return values
