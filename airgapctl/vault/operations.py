"""What ``airgapctl vault`` does to a credentials file: create, set, rotate, remove, list, rekey.

A value is checked against the include file's rules (airgapctl/gateway/credentials.py) before it
is sealed, so the vault never holds a credential the gateway could not send. No result and no
error holds a value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from airgapctl.errors import BadInputError
from airgapctl.gateway.credentials import DEFAULT_HEADER, CredentialError, check_header, check_name, check_value
from airgapctl.vault import store
from airgapctl.vault.passwords import Password, generate_password_file, read_password
from airgapctl.vault.sealing import seal, unseal


@dataclass(frozen=True)
class Listed:
    name: str
    header: str
    vault_id: str | None
    created: str
    rotated: str | None


@dataclass(frozen=True)
class Initialised:
    file: Path
    password_file: Path | None


@dataclass(frozen=True)
class Changed:
    file: Path
    action: str  # set, rotate, remove
    name: str
    header: str
    vault_id: str | None
    changed: bool


@dataclass(frozen=True)
class Rekeyed:
    file: Path
    vault_id: str
    rekeyed: list[str]
    kept: list[str]  # sealed under another vault id: left as they were
    password_file: Path | None


def _checked(function, *args: object) -> str:
    """A credentials rule's answer, or its failure as bad input (the message names no value)."""
    try:
        return function(*args)
    except CredentialError as error:
        raise BadInputError(error.message, hint=error.hint) from None


def init(path: Path, password_file: Path | None = None) -> Initialised:
    """A new credentials file with no entries; with ``password_file``, a new random password there too."""
    credentials = store.new_file(path)
    if password_file is not None:
        generate_password_file(password_file)
    store.save(credentials)
    return Initialised(path, password_file)


def list_credentials(path: Path) -> list[Listed]:
    credentials = store.load(path)
    return [
        Listed(name, entry.header, entry.vault_id, entry.created, entry.rotated)
        for name, entry in sorted(credentials.entries.items())
    ]


def _check_password(credentials: store.CredentialsFile, password: Password, vault_id: str) -> None:
    """Refuse a password that does not open the entries already sealed under ``vault_id``: a file
    whose entries of one id need two passwords is one Ansible cannot read."""
    for name, entry in sorted(credentials.entries.items()):
        if entry.vault_id == vault_id and unseal(entry.vaulttext, password.secret) is None:
            raise BadInputError(
                f"{credentials.path}: the vault password from {password.source} does not open credential {name} "
                f"(vault id {vault_id})",
                hint=f"give the password the file's '{vault_id}' entries were sealed with",
            )


def set_credential(
    path: Path,
    name: str,
    value: str,
    password: Password,
    vault_id: str,
    header: str | None = None,
    now: dt.datetime | None = None,
) -> Changed:
    """Add credential ``name``; setting an existing one again to the same header and value changes nothing."""
    _checked(check_name, name)
    header = _checked(check_header, name, header or DEFAULT_HEADER)
    _checked(check_value, name, value)
    credentials = store.load(path)
    _check_password(credentials, password, vault_id)
    existing = credentials.entries.get(name)
    if existing is not None:
        if existing.header == header and unseal(existing.vaulttext, password.secret) == value:
            return Changed(path, "set", name, header, existing.vault_id, changed=False)
        raise BadInputError(
            f"{path}: credential {name} already exists with another value or header",
            hint=f"replace its value with 'airgapctl vault rotate {name}'",
        )
    credentials.entries[name] = store.Entry(header, seal(value, password.secret, vault_id), store.timestamp(now))
    store.save(credentials)
    return Changed(path, "set", name, header, vault_id, changed=True)


def rotate_credential(
    path: Path,
    name: str,
    value: str,
    password: Password,
    vault_id: str,
    header: str | None = None,
    now: dt.datetime | None = None,
) -> Changed:
    """Replace the value (and, if given, the header) of an existing credential; record when."""
    _checked(check_name, name)
    credentials = store.load(path)
    existing = credentials.entries.get(name)
    if existing is None:
        raise BadInputError(
            f"{path}: no credential {name} to rotate",
            hint=f"add it with 'airgapctl vault set {name}'; 'airgapctl vault list' shows the names",
        )
    header = _checked(check_header, name, header or existing.header)
    _checked(check_value, name, value)
    _check_password(credentials, password, vault_id)
    same = existing.header == header and existing.vault_id == vault_id
    if same and unseal(existing.vaulttext, password.secret) == value:
        return Changed(path, "rotate", name, header, vault_id, changed=False)
    credentials.entries[name] = store.Entry(
        header, seal(value, password.secret, vault_id), existing.created, store.timestamp(now)
    )
    store.save(credentials)
    return Changed(path, "rotate", name, header, vault_id, changed=True)


def remove_credential(path: Path, name: str) -> Changed:
    """Drop credential ``name``; the secrets role then deletes its include file."""
    _checked(check_name, name)
    credentials = store.load(path)
    existing = credentials.entries.pop(name, None)
    if existing is None:
        raise BadInputError(f"{path}: no credential {name} to remove", hint="'airgapctl vault list' shows the names")
    store.save(credentials)
    return Changed(path, "remove", name, existing.header, existing.vault_id, changed=True)


def rekey(
    path: Path,
    password: Password,
    new_password: Password | None,
    vault_id: str,
    generate: Path | None = None,
) -> Rekeyed:
    """Seal every entry of ``vault_id`` again under a new password, all or none.

    ``generate``: write a new random password to that file first (refusing an existing one) and use it.
    """
    credentials = store.load(path)
    mine = sorted(name for name, entry in credentials.entries.items() if entry.vault_id == vault_id)
    kept = sorted(set(credentials.entries) - set(mine))
    if not mine:
        raise BadInputError(
            f"{path}: no credential is sealed under vault id {vault_id}",
            hint="give the --vault-id the entries use ('airgapctl vault list' shows them)",
        )
    values = {}
    for name in mine:
        value = unseal(credentials.entries[name].vaulttext, password.secret)
        if value is None:
            raise BadInputError(
                f"{path}: the vault password from {password.source} does not open credential {name} "
                f"(vault id {vault_id}); nothing was changed",
                hint="give the current password with --vault-password-file or AIRGAPCTL_VAULT_PASSWORD",
            )
        values[name] = value
    if generate is not None:
        generate_password_file(generate)
        new_password = read_password(generate, vault_id, environ={}, option="--new-vault-password-file")
    if new_password is None:
        raise BadInputError("no new vault password given", hint="give --new-vault-password-file FILE")
    for name in mine:
        entry = credentials.entries[name]
        entry.vaulttext = seal(values[name], new_password.secret, vault_id)
    store.save(credentials)
    return Rekeyed(path, vault_id, mine, kept, generate)
