"""The signed part index and checking one part alone (one disc or USB stick at a time).

A split bundle is its deterministic tar stream (see archive.py) cut into fixed-size chunks.
Each medium holds a directory ``partNNNN/`` with the chunk ``<bundle>-<sequence>.partNNNN``
and a copy of ``parts.json`` + ``parts.json.sig``. parts.json (sorted keys, two-space
indent, final newline) names the bundle, version, sequence, manifest SHA-256, key id, the
archive's size and SHA-256, the part size, and every part's number, file name, size and
SHA-256; parts.json.sig is its detached Ed25519 signature, encoded like manifest.json.sig.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from airgapctl.bundle.fileio import read_regular_file
from airgapctl.bundle.hashing import hash_file
from airgapctl.bundle.keys import key_fingerprint, read_signature_file, verify_detached
from airgapctl.bundle.manifest import load_json_strict
from airgapctl.errors import (
    BadInputError,
    BundleForeignPartError,
    BundleManifestInvalidError,
    BundlePartAlteredError,
    BundlePartMissingError,
    BundleSignatureError,
)

PARTS_INDEX = "parts.json"
PARTS_SIGNATURE = "parts.json.sig"
PARTS_SCHEMA = "airgapctl/bundle-parts"
INDEX_LIMIT = 16 << 20
PART_FILE = re.compile(r"(?P<bundle>[A-Za-z0-9][A-Za-z0-9._-]*)-(?P<sequence>[0-9]+)\.part(?P<number>[0-9]{4})")
SHA256 = re.compile(r"[0-9a-f]{64}")
PREFIX = 12


@dataclass(frozen=True)
class PartEntry:
    number: int
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PartsIndex:
    bundle: str
    version: str
    sequence: int
    manifest_sha256: str
    key_id: str
    archive_size: int
    archive_sha256: str
    part_size: int
    parts: tuple[PartEntry, ...]

    def to_bytes(self) -> bytes:
        document = {"schema": PARTS_SCHEMA, "schema_version": 1, **asdict(self)}
        return (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()

    def describe(self) -> str:
        return f"bundle {self.bundle} sequence {self.sequence} (manifest {self.manifest_sha256[:PREFIX]})"


@dataclass(frozen=True)
class PartCheck:
    part: str
    number: int
    count: int
    bundle: str
    version: str
    sequence: int
    manifest_sha256: str
    size: int
    sha256: str
    index_sha256: str


def part_file_name(bundle: str, sequence: int, number: int) -> str:
    return f"{bundle}-{sequence}.part{number:04d}"


def part_directory_name(number: int) -> str:
    return f"part{number:04d}"


def _field(document: dict[str, Any], name: str, kind: type, label: str) -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BundleManifestInvalidError(f"{label}: /{name}: missing or not a {kind.__name__}")
    return value


def _parse_entry(item: Any, position: int, label: str) -> PartEntry:
    where = f"{label}: /parts/{position}"
    if not isinstance(item, dict) or set(item) != {"number", "name", "size", "sha256"}:
        raise BundleManifestInvalidError(f"{where}: expected number, name, size and sha256")
    entry = PartEntry(**item)
    if not (type(entry.number) is int and type(entry.size) is int and isinstance(entry.sha256, str)):
        raise BundleManifestInvalidError(f"{where}: number and size must be integers, sha256 a string")
    if entry.number != position + 1 or not SHA256.fullmatch(entry.sha256) or entry.size < 1:
        raise BundleManifestInvalidError(f"{where}: invalid part entry {entry.name!r}")
    return entry


def parse_parts_index(data: bytes, label: str) -> PartsIndex:
    """Parse parts.json; call only after its signature verified."""
    document = load_json_strict(data, label)
    if not isinstance(document, dict) or document.get("schema") != PARTS_SCHEMA:
        raise BundleManifestInvalidError(f"{label} is not an airgapctl part index")
    parts = _field(document, "parts", list, label)
    index = PartsIndex(
        bundle=_field(document, "bundle", str, label),
        version=_field(document, "version", str, label),
        sequence=_field(document, "sequence", int, label),
        manifest_sha256=_field(document, "manifest_sha256", str, label),
        key_id=_field(document, "key_id", str, label),
        archive_size=_field(document, "archive_size", int, label),
        archive_sha256=_field(document, "archive_sha256", str, label),
        part_size=_field(document, "part_size", int, label),
        parts=tuple(_parse_entry(item, position, label) for position, item in enumerate(parts)),
    )
    names = {part_file_name(index.bundle, index.sequence, e.number) for e in index.parts}
    if not index.parts or names != {e.name for e in index.parts}:
        raise BundleManifestInvalidError(f"{label}: part names do not follow the bundle name and sequence")
    sizes = [entry.size for entry in index.parts]
    if sum(sizes) != index.archive_size or any(size != index.part_size for size in sizes[:-1]):
        raise BundleManifestInvalidError(f"{label}: part sizes do not add up to the archive size")
    return index


def read_signed_index(directory: Path, public_key: Ed25519PublicKey) -> tuple[PartsIndex, str]:
    """The part index beside a part and the SHA-256 of its bytes, once its signature verified."""
    data = read_regular_file(directory / PARTS_INDEX, INDEX_LIMIT, "part index")
    verify_detached(public_key, data, read_signature_file(directory / PARTS_SIGNATURE, PARTS_INDEX), str(directory))
    index = parse_parts_index(data, str(directory / PARTS_INDEX))
    if index.key_id != key_fingerprint(public_key):
        raise BundleSignatureError(f"{directory / PARTS_INDEX} names another key than the one it verified with")
    return index, hashlib.sha256(data).hexdigest()


def locate_part(path: Path) -> Path:
    """A part file, given itself or the directory (medium) holding it."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if PART_FILE.fullmatch(p.name))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise BadInputError(f"{path} holds {len(found)} part files; name the one to check")
        if (path / PARTS_INDEX).exists():
            raise BundlePartMissingError(f"part missing: {path} holds a part index but no part file")
        raise BadInputError(f"{path} holds no bundle part")
    if not path.exists():
        raise BundlePartMissingError(f"part missing: {path} does not exist")
    return path


def _entry_for(index: PartsIndex, part: Path) -> PartEntry:
    for entry in index.parts:
        if entry.name == part.name:
            return entry
    claimed = PART_FILE.fullmatch(part.name)
    if claimed and (claimed["bundle"], int(claimed["sequence"])) != (index.bundle, index.sequence):
        raise BundleForeignPartError(
            f"foreign part: {part} belongs to bundle {claimed['bundle']} sequence {claimed['sequence']}, "
            f"but the index beside it is for {index.describe()}"
        )
    raise BundleForeignPartError(f"foreign part: {part} is not listed in the index beside it ({index.describe()})")


def check_part(part_path: Path, public_key: Ed25519PublicKey) -> PartCheck:
    """Check one part against the signed index beside it: listed, right size, right hash."""
    part = locate_part(part_path)
    index, index_sha256 = read_signed_index(part.parent, public_key)
    entry = _entry_for(index, part)
    found = hash_file(part)
    if found.size != entry.size or found.sha256 != entry.sha256:
        raise BundlePartAlteredError(
            f"part altered (or from another bundle): {part}: {found.size} bytes sha256 {found.sha256[:PREFIX]}, "
            f"the index lists {entry.size} bytes sha256 {entry.sha256[:PREFIX]}"
        )
    return PartCheck(
        part=str(part),
        number=entry.number,
        count=len(index.parts),
        bundle=index.bundle,
        version=index.version,
        sequence=index.sequence,
        manifest_sha256=index.manifest_sha256,
        size=found.size,
        sha256=found.sha256,
        index_sha256=index_sha256,
    )
