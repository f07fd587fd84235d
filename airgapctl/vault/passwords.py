"""Where the vault password comes from: a file or a script as Ansible reads them, or the environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import get_file_vault_secret

from airgapctl.bundle.fileio import create_new_file
from airgapctl.errors import BadInputError, EnvironmentProblem

# The name of the variable, not a password.
PASSWORD_ENV = "AIRGAPCTL_VAULT_PASSWORD"  # noqa: S105
# 256 random bits, as URL-safe text: no character a shell or a YAML file would mangle.
_GENERATED_BYTES = 32


@dataclass(frozen=True)
class Password:
    secret: bytes = field(repr=False)
    source: str  # where it came from, for messages: "--vault-password-file F", "AIRGAPCTL_VAULT_PASSWORD"


def read_password(
    password_file: Path | None,
    vault_id: str,
    environ: Mapping[str, str] = os.environ,
    prompt: Callable[[], str] | None = None,
    option: str = "--vault-password-file",
) -> Password:
    """The password from ``password_file``, else the environment, else ``prompt`` (given only on a terminal)."""
    if password_file is not None:
        return Password(_from_file(password_file, vault_id, option), f"{option} {password_file}")
    if environ.get(PASSWORD_ENV):
        return Password(environ[PASSWORD_ENV].encode("utf-8"), PASSWORD_ENV)
    if prompt is not None:
        typed = prompt().encode("utf-8")
        if typed:
            return Password(typed, "the terminal")
    raise BadInputError(
        "no vault password given",
        hint=f"give {option} FILE (a file, or an executable that prints the password) or set {PASSWORD_ENV}",
    )


def _from_file(path: Path, vault_id: str, option: str) -> bytes:
    """Ansible's own reading: an executable is run (a ``*-client`` one with --vault-id), stdout stripped."""
    if not path.is_file():
        raise BadInputError(f"{option} {path}: no such file", hint="give the file that holds the vault password")
    try:
        secret = get_file_vault_secret(str(path.absolute()), vault_id=vault_id, loader=DataLoader())
        secret.load()
    except AnsibleError as error:
        message = " ".join(error.message.split())
        if os.access(path, os.X_OK):
            raise EnvironmentProblem(f"{option} {path}: {message}", hint="run the script by hand to see why") from None
        raise BadInputError(f"{option} {path}: {message}", hint="the file's first line is the password") from None
    return secret.bytes


def generate_password_file(path: Path) -> None:
    """A new random password in ``path``, mode 0600; an existing file is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    create_new_file(path, (secrets.token_urlsafe(_GENERATED_BYTES) + "\n").encode("ascii"), 0o600)
