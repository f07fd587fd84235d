"""What a data package may carry: the declared list of sources, and the files never sent out.

A source is a name (the path it gets inside the package) and a local file or directory. Only
what is declared is packed, and nothing that looks like a secret: no symlink or special file,
nothing below a secrets, vault or credentials directory (the site's credential includes live
in /etc/airgap/credentials), no sealed Ansible Vault value and no private key.

The list comes from ``--include NAME=PATH`` options or from a YAML file (``--from-list``)::

    - name: audit/report.json
      path: /var/lib/airgap/reports/latest.json
    - name: ledger.jsonl
      path: /var/lib/airgap/ledger.jsonl
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from airgapctl.bundle import trust
from airgapctl.errors import BadInputError, trust_errors

# The secrets role's secrets_dir (roles/secrets/defaults/main.yml): the gateway's credential includes.
CREDENTIALS_DIR = Path("/etc/airgap/credentials")
# A directory of one of these names holds secrets by its name alone, wherever it is.
SECRET_DIR_NAMES = frozenset({"credentials", "secrets", "vault", ".ssh", ".gnupg"})
# Content that is a secret even in a file of an innocent name: a sealed vault value, a private key.
SECRET_MARKERS = (b"$ANSIBLE_VAULT;", b"PRIVATE KEY-----")
REFUSAL_HINT = "only reports, ledgers and summaries leave the site; never credentials or keys"
LIST_LIMIT = 1 << 20
_SCAN_CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """One declared source: its path inside the package and where it is read from."""

    name: str
    path: Path


def parse_include(text: str) -> Source:
    """A Source from ``NAME=PATH`` (an ``--include`` option)."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise BadInputError(f"--include {text!r} is not NAME=PATH", hint="e.g. --include audit/report.json=report.json")
    return Source(_checked_name(name), Path(path))


def load_source_list(path: Path) -> list[Source]:
    """The sources a YAML list file declares; relative paths are read from the list's directory."""
    path = Path(path)
    with trust_errors():
        data = trust.read_regular_file(path, LIST_LIMIT, "source list")
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise BadInputError(f"source list {path} is not YAML: {str(error).splitlines()[0]}") from None
    hint = "a YAML list of {name: PATH_IN_PACKAGE, path: LOCAL_PATH} mappings"
    if not isinstance(document, list) or not document:
        raise BadInputError(f"source list {path} is not a non-empty list", hint=hint)
    sources = []
    for index, item in enumerate(document, start=1):
        if (
            not isinstance(item, dict)
            or sorted(item) != ["name", "path"]
            or not all(isinstance(item[key], str) and item[key] for key in ("name", "path"))
        ):
            raise BadInputError(f"source list {path}: item {index} is not a mapping of name and path", hint=hint)
        sources.append(Source(_checked_name(item["name"]), path.parent / item["path"]))
    return sources


def _checked_name(name: str) -> str:
    if not trust.is_safe_relative_path(name) or name in trust.RESERVED_NAMES or len(name) > trust.PATH_LIMIT:
        raise BadInputError(
            f"source name {name!r} cannot be a path inside a package",
            hint="a relative path such as audit/report.json, without '..' and not manifest.json",
        )
    return name


def secret_location(path: Path) -> str | None:
    """Why ``path`` lies where secrets live (as given or resolved), or None."""
    given = Path(os.path.abspath(path))
    for candidate in dict.fromkeys((given, Path(os.path.realpath(path)))):
        named = sorted(SECRET_DIR_NAMES.intersection(candidate.parent.parts))
        if named:
            return f"it is below a {named[0]!r} directory"
        if candidate.is_relative_to(CREDENTIALS_DIR):
            return f"it is below the credentials directory {CREDENTIALS_DIR}"
    return None


def contains_secret(path: Path) -> str | None:
    """The secret marker found in the regular file ``path`` (read without following a link), or None."""
    overlap = max(len(marker) for marker in SECRET_MARKERS) - 1
    tail = b""
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            window = tail + chunk
            for marker in SECRET_MARKERS:
                if marker in window:
                    return marker.decode()
            tail = window[-overlap:]
    return None


def expand(source: Source) -> dict[str, Path]:
    """Package path -> local file for one source (a directory brings every file below it), refused
    as a whole when any part of it is a link, a special file or where secrets live."""
    path = source.path
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise BadInputError(f"source {source.name}: {path} does not exist") from None
    except OSError as error:
        raise BadInputError(f"source {source.name}: cannot read {path}: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise BadInputError(f"source {source.name}: {path} is a symlink; refusing to follow it",
                            hint="name the file it points to, if it may leave the site")  # fmt: skip
    if stat.S_ISDIR(info.st_mode):
        try:
            listing, _ = trust.list_tree(path)
        except trust.TrustError as error:
            raise BadInputError(f"source {source.name}: {path}: {error.message}") from None
        files = {f"{source.name}/{rel}": path / rel for rel in sorted(listing)}
    elif stat.S_ISREG(info.st_mode):
        files = {source.name: path}
    else:
        raise BadInputError(f"source {source.name}: {path} is not a regular file or directory")
    for name, local in files.items():
        _refuse_secret_location(source, name, local)
    return files


def _refuse_secret_location(source: Source, name: str, local: Path) -> None:
    where = secret_location(local)
    if where is not None:
        raise BadInputError(f"source {source.name}: {local} may hold secrets: {where}", hint=REFUSAL_HINT)
    if not trust.is_safe_relative_path(name):
        raise BadInputError(f"source {source.name}: file name {name!r} cannot be a path inside a package")


def refuse_secret_content(name: str, path: Path) -> None:
    """Refuse the packed copy ``path`` of ``name`` if it holds a secret (the copy: it cannot change under us)."""
    marker = contains_secret(path)
    if marker is not None:
        raise BadInputError(f"source file {name} holds a secret ({marker!r} found)", hint=REFUSAL_HINT)
