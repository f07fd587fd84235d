"""The credentials file: a YAML vars file of the inventory holding ``secrets_credentials``.

::

    secrets_credentials:
      pets-api-token:
        header: Authorization
        value: !vault |
          $ANSIBLE_VAULT;1.2;AES256;airgap
          6231...
        created: '2026-06-01T10:00:00Z'
        rotated: '2026-09-01T10:00:00Z'

Only ``value`` is secret, sealed on its own; the rest is plain so that listing needs no password.
Ansible reads the file as group_vars (the secrets role takes the mapping as it is).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from airgapctl.bundle.fileio import fsync_directory, write_atomic
from airgapctl.errors import BadInputError
from airgapctl.gateway.credentials import DEFAULT_HEADER, CredentialError, check_header, check_name
from airgapctl.vault.sealing import vault_id_of

TOP_KEY = "secrets_credentials"
FILE_MODE = 0o600
_ENTRY_KEYS = ("header", "value", "created", "rotated")
_PREAMBLE = (
    "# Upstream credentials for the secrets role, written by 'airgapctl vault' (docs/vault.md).\n"
    "# Each value is sealed on its own with Ansible Vault; names, headers and dates are not secret.\n"
)
# A vars file this large is not a credentials file.
_MAX_BYTES = 16 << 20


@dataclass
class Entry:
    header: str
    vaulttext: str = field(repr=False)
    created: str
    rotated: str | None = None

    @property
    def vault_id(self) -> str | None:
        return vault_id_of(self.vaulttext)


@dataclass
class CredentialsFile:
    path: Path
    entries: dict[str, Entry]
    # The bytes read, so that a save notices another writer in between.
    loaded: bytes | None = field(default=None, repr=False)


class _Sealed(str):
    """The text of a ``!vault`` scalar."""


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=True) for key, _ in node.value]
        duplicates = sorted({str(key) for key in keys if keys.count(key) > 1})
        if duplicates:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {duplicates[0]!r}", node.start_mark)
        return super().construct_mapping(node, deep)


_Loader.add_constructor("!vault", lambda loader, node: _Sealed(loader.construct_scalar(node)))


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Sealed, lambda dumper, data: dumper.represent_scalar("!vault", str(data), style="|"))


def timestamp(now: dt.datetime | None = None) -> str:
    """The time recorded for created and rotated: UTC, to the second."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_file(path: Path) -> CredentialsFile:
    """A credentials file with no entries yet; ``path`` must not exist."""
    if path.exists() or path.is_symlink():
        raise BadInputError(f"{path} already exists; refusing to overwrite it", hint="give a new file, or use it as is")
    return CredentialsFile(path, {})


def load(path: Path) -> CredentialsFile:
    """Read and check ``path``; every problem names the file and the key."""
    if not path.is_file():
        hint = f"create it with 'airgapctl vault init --file {path}'"
        raise BadInputError(f"{path}: no such credentials file", hint=hint)
    data = path.read_bytes()
    if len(data) > _MAX_BYTES:
        raise BadInputError(f"{path}: {len(data)} bytes is too large for a credentials file")
    try:
        document = yaml.load(data.decode("utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader plus !vault
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        where = getattr(error, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise BadInputError(f"{path}:{line}: not valid YAML: {problem}", hint="fix the file, or restore it") from None
    if not isinstance(document, dict) or set(document) != {TOP_KEY}:
        raise BadInputError(
            f"{path}: a credentials file holds one key, {TOP_KEY}",
            hint="keep other variables in another group_vars file",
        )
    credentials = document[TOP_KEY] or {}
    if not isinstance(credentials, dict):
        raise BadInputError(f"{path}: {TOP_KEY} is not a mapping of credential names", hint="restore the file")
    entries = {_name(path, name): _entry(path, name, raw) for name, raw in credentials.items()}
    return CredentialsFile(path, entries, data)


def _name(path: Path, name: Any) -> str:
    try:
        return check_name(name)
    except CredentialError as error:
        raise BadInputError(f"{path}: {TOP_KEY}: {error.message}", hint=error.hint) from None


def _entry(path: Path, name: str, raw: Any) -> Entry:
    where = f"{path}: {TOP_KEY}.{name}"
    if not isinstance(raw, dict) or "value" not in raw:
        raise BadInputError(f"{where} is not a mapping with a value", hint=f"set it again: airgapctl vault set {name}")
    unknown = sorted(set(map(str, raw)) - set(_ENTRY_KEYS))
    if unknown:
        raise BadInputError(f"{where}: unknown key {unknown[0]!r}", hint=f"the keys are {', '.join(_ENTRY_KEYS)}")
    value = raw["value"]
    if not isinstance(value, _Sealed):
        raise BadInputError(
            f"{where}.value is not a !vault value: a secret in clear in the inventory",
            hint=f"delete the entry from the file and set it again with 'airgapctl vault set {name}'",
        )
    try:
        vault_id_of(value)
    except ValueError as error:
        raise BadInputError(f"{where}.value: {error}", hint=f"rotate it: airgapctl vault rotate {name}") from None
    try:
        header = check_header(name, raw.get("header", DEFAULT_HEADER))
    except CredentialError as error:
        raise BadInputError(f"{where}.header: {error.message}", hint=error.hint) from None
    return Entry(header, str(value), _time(where, raw, "created"), _time(where, raw, "rotated", optional=True))


def _time(where: str, raw: dict[str, Any], key: str, optional: bool = False) -> str | None:
    value = raw.get(key)
    if value is None and optional:
        return None
    if isinstance(value, dt.datetime):  # written unquoted by hand: YAML reads a timestamp
        return timestamp(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    if isinstance(value, str):
        try:
            return timestamp(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise BadInputError(f"{where}.{key}: {value!r} is not a time", hint="write it as YYYY-MM-DDTHH:MM:SSZ")


def render(credentials: CredentialsFile) -> bytes:
    """The file's text: the entries by name, ``!vault`` literal blocks for the values."""
    body: dict[str, Any] = {}
    for name in sorted(credentials.entries):
        entry = credentials.entries[name]
        item: dict[str, Any] = {"header": entry.header, "value": _Sealed(entry.vaulttext), "created": entry.created}
        if entry.rotated is not None:
            item["rotated"] = entry.rotated
        body[name] = item
    text = yaml.dump({TOP_KEY: body}, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=200)
    return (_PREAMBLE + text).encode("utf-8")


def save(credentials: CredentialsFile) -> None:
    """Replace the file atomically, mode 0600, unless someone else changed it since it was read."""
    path = credentials.path
    current = path.read_bytes() if path.exists() else None
    if current != credentials.loaded:
        raise BadInputError(f"{path} changed while this command ran", hint="run the command again")
    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render(credentials), FILE_MODE)
    if created:
        fsync_directory(path.parent.parent)
