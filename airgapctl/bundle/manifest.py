"""The bundle manifest (contract 1): its model, canonical bytes, strict parsing, file kinds, sealing.

The reference for the format is airgapctl/schemas/manifest.schema.json; its rules are checked by
the trust core (airgapctl/bundle/trust/), which the appliance shares. manifest.json is
written canonically (sorted keys, two-space indent, UTF-8, final newline, files sorted by
path as Unicode code points) so sealing the same content twice gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airgapctl.bundle import trust
from airgapctl.bundle.fileio import bundle_root, write_atomic
from airgapctl.bundle.hashing import hash_files, list_tree
from airgapctl.bundle.keys import key_fingerprint, load_private_key, sign_detached
from airgapctl.errors import BadInputError, BundleManifestInvalidError, trust_errors
from airgapctl.progress import NO_PROGRESS, Reporter

MANIFEST_NAME = trust.MANIFEST_NAME
SIGNATURE_NAME = trust.SIGNATURE_NAME
RESERVED_NAMES = trust.RESERVED_NAMES
SCHEMA_ID = trust.MANIFEST_SCHEMA
SCHEMA_VERSION = 1
MANIFEST_LIMIT = trust.MANIFEST_LIMIT
KINDS = trust.KINDS
format_utc = trust.format_utc
parse_utc = trust.parse_utc


def parse_time_option(text: str) -> datetime:
    """A time given by a person: ISO 8601 date or date-time; no zone means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInputError(
            f"invalid time {text!r}", hint="use ISO 8601, e.g. 2026-06-30 or 2026-06-30T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str
    kind: str


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    sequence: int
    created: str
    expires: str | None
    key_id: str
    files: tuple[FileEntry, ...]
    sbom: str | None = None
    attestation: dict[str, Any] | None = field(default=None, hash=False)
    # None for a bundle: its manifest carries no "kind", so bundles seal to the same bytes as ever.
    kind: str | None = None

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.files)

    def to_document(self) -> dict[str, Any]:
        kind = {} if self.kind is None else {"kind": self.kind}
        return {
            **kind,
            "schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "version": self.version,
            "sequence": self.sequence,
            "created": self.created,
            "expires": self.expires,
            "key_id": self.key_id,
            "files": [
                {"path": e.path, "size": e.size, "sha256": e.sha256, "kind": e.kind}
                for e in sorted(self.files, key=lambda e: e.path)
            ],
            "sbom": self.sbom,
            "attestation": self.attestation,
        }

    def to_bytes(self) -> bytes:
        """The canonical bytes that are written to manifest.json and signed."""
        try:
            text = json.dumps(self.to_document(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
            return (text + "\n").encode("utf-8")
        except UnicodeEncodeError as error:
            raise BadInputError(f"a file name in the bundle is not valid UTF-8: {error.object!r}") from None
        except (TypeError, ValueError) as error:  # an attestation holding something JSON cannot carry
            raise BadInputError(f"the manifest cannot be written as JSON: {error}") from None


def load_json_strict(data: bytes, label: str, error_class: type = BundleManifestInvalidError) -> Any:
    """Parse JSON refusing duplicate keys and NaN/Infinity, so one text cannot mean two things."""
    try:
        return trust.load_json_strict(data, label)
    except trust.TrustError as error:
        raise error_class(error.message, hint=error.hint) from None


def is_safe_relative_path(path: str) -> bool:
    """A relative POSIX path that stays inside its root: no '/', '.', '..' or empty segments."""
    return trust.is_safe_relative_path(path)


def manifest_from_document(document: Any, label: str) -> Manifest:
    """A Manifest from a parsed document, checked by the trust core against the format and its rules."""
    with trust_errors():
        trust.check_manifest(document, label)
    return Manifest(
        name=document["name"],
        version=document["version"],
        sequence=document["sequence"],
        created=document["created"],
        expires=document.get("expires"),
        key_id=document["key_id"],
        files=tuple(FileEntry(f["path"], f["size"], f["sha256"], f["kind"]) for f in document["files"]),
        sbom=document["sbom"],
        attestation=document["attestation"],
        kind=document.get("kind"),
    )


def parse_manifest(data: bytes, label: str) -> Manifest:
    """Parse manifest.json bytes; call only after the signature over ``data`` verified."""
    return manifest_from_document(load_json_strict(data, label), label)


_KIND_BY_TOP_DIR = {
    "apt": "apt",
    "debs": "apt",
    "wheels": "wheel",
    "collections": "collection",
    "specs": "spec",
    "sbom": "sbom",
    "toolkit": "toolkit",
    "roles": "role",
    "playbooks": "playbook",
    "meta": "meta",
}


def guess_kind(path: str) -> str:
    """A file's kind from its top directory or extension; ``file`` when nothing says otherwise."""
    top = path.split("/", 1)[0] if "/" in path else ""
    if top in _KIND_BY_TOP_DIR:
        return _KIND_BY_TOP_DIR[top]
    if path.endswith(".deb"):
        return "apt"
    if path.endswith(".whl"):
        return "wheel"
    if path.endswith((".cdx.json", ".cyclonedx.json")) or path.split("/")[-1].startswith("sbom."):
        return "sbom"
    return "file"


KindSource = Mapping[str, str] | Callable[[str], str]


def _time_text(value: datetime | str | None, default: datetime | None) -> str | None:
    if value is None:
        return None if default is None else format_utc(default)
    return format_utc(parse_time_option(value) if isinstance(value, str) else value)


def _kind_for(kinds: KindSource, path: str) -> str:
    kind = kinds(path) if callable(kinds) else kinds.get(path)
    if kind not in KINDS:
        found = "no kind" if kind is None else f"kind {kind!r}"
        raise BadInputError(f"{found} for bundle file {path}", hint=f"every file needs one of: {', '.join(KINDS)}")
    return kind


def _list_sealable_files(root: Path) -> dict[str, int]:
    listing = list_tree(root, skip=RESERVED_NAMES)
    if listing.empty_dirs:
        raise BadInputError(
            f"empty directory {listing.empty_dirs[0]} in {root} cannot be listed in a manifest",
            hint="remove it or put a file in it",
        )
    for path in listing.files:
        if not is_safe_relative_path(path):
            raise BadInputError(f"file name {path!r} in {root} cannot be used in a bundle")
    return listing.files


def seal_bundle(
    bundle_dir: Path,
    name: str,
    version: str,
    sequence: int,
    private_key_path: Path,
    kinds: KindSource,
    expires: datetime | str | None = None,
    sbom: str | None = None,
    attestation: dict[str, Any] | None = None,
    created: datetime | str | None = None,
    progress: Reporter = NO_PROGRESS,
    kind: str | None = None,
) -> Manifest:
    """Hash every file of ``bundle_dir``, write manifest.json and its detached signature.

    ``kind`` "package" seals a data package (airgapctl.sync.package) instead of a bundle.
    """
    root = bundle_root(bundle_dir)
    private_key = load_private_key(private_key_path)  # before hashing: a bad key fails in a second
    files = _list_sealable_files(root)
    with progress.bar("hashing", sum(files.values()), len(files)) as bar:
        digests = hash_files(root, files, report=bar.advance)
    entries = tuple(FileEntry(path, d.size, d.sha256, _kind_for(kinds, path)) for path, d in sorted(digests.items()))
    manifest = Manifest(
        name=name,
        version=version,
        sequence=sequence,
        created=_time_text(created, datetime.now(UTC)),
        expires=_time_text(expires, None),
        key_id=key_fingerprint(private_key.public_key()),
        files=entries,
        sbom=sbom,
        attestation=attestation,
        kind=kind,
    )
    _check_before_signing(manifest, root)
    data = manifest.to_bytes()
    # The old signature goes first, so a crash never leaves a new manifest beside an old valid signature.
    (root / SIGNATURE_NAME).unlink(missing_ok=True)
    write_atomic(root / MANIFEST_NAME, data)
    write_atomic(root / SIGNATURE_NAME, sign_detached(private_key, data))
    return manifest


def _check_before_signing(manifest: Manifest, root: Path) -> None:
    """The manifest we are about to sign must pass the checks every verifier will apply."""
    try:
        manifest_from_document(manifest.to_document(), f"manifest for {root}")
    except BundleManifestInvalidError as error:
        raise BadInputError(error.message, hint=error.hint) from None
    if manifest.expires is not None and manifest.expires <= manifest.created:
        raise BadInputError(f"expiry {manifest.expires} is not after the creation time {manifest.created}")
