"""Verifying a bundle, failing closed: signature, schema, files, expiry, sequence; then accept.

Nothing the manifest says is used before its signature verified with the site's key, not
even its file list. A rejection raises the BundleRejectedError subclass of its class (one
exit code each), leaves the accepted state untouched and, with a ledger, is recorded there.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from airgapctl.bundle.attestation import check_attestation
from airgapctl.bundle.fileio import bundle_root, read_regular_file
from airgapctl.bundle.hashing import hash_files, list_tree
from airgapctl.bundle.keys import key_fingerprint, load_public_key, read_signature_file, verify_detached
from airgapctl.bundle.ledger import Attempt, append_attempt, check_appendable
from airgapctl.bundle.manifest import (
    MANIFEST_LIMIT,
    MANIFEST_NAME,
    RESERVED_NAMES,
    SIGNATURE_NAME,
    Manifest,
    format_utc,
    parse_manifest,
    parse_utc,
)
from airgapctl.bundle.state import read_accepted, record_accepted, state_lock
from airgapctl.errors import (
    AirgapError,
    BundleExpiredError,
    BundleFileAlteredError,
    BundleFileExtraError,
    BundleFileMissingError,
    BundleRollbackError,
    BundleSignatureError,
    ExitCode,
)
from airgapctl.progress import NO_PROGRESS, Reporter

HASH_PREFIX = 12


@dataclass(frozen=True)
class VerifyResult:
    bundle_dir: str
    name: str
    version: str
    sequence: int
    key_id: str
    manifest_sha256: str
    created: str
    expires: str | None
    files: int
    total_bytes: int
    # The last accepted sequence before this one (None: first of its name, or no state given).
    previous_sequence: int | None
    sequence_checked: bool
    downgrade: bool
    state_updated: bool
    ledger: str | None
    seconds: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Acceptance:
    previous_sequence: int | None
    sequence_checked: bool
    downgrade: bool
    warnings: tuple[str, ...]


def _claimed_key_id(data: bytes) -> str:
    """For the message only: the key id an unverified manifest claims, or '?'."""
    try:
        claimed = json.loads(data).get("key_id")
    except (ValueError, AttributeError, RecursionError):
        return "?"
    return claimed[:HASH_PREFIX] if isinstance(claimed, str) else "?"


def read_signed_manifest(root: Path, public_key: Ed25519PublicKey) -> tuple[Manifest, str]:
    """The manifest and the SHA-256 of its bytes, only once its signature verified with ``public_key``."""
    data = read_regular_file(root / MANIFEST_NAME, MANIFEST_LIMIT, "manifest")
    signature = read_signature_file(root / SIGNATURE_NAME, MANIFEST_NAME)
    try:
        verify_detached(public_key, data, signature, MANIFEST_NAME)
    except BundleSignatureError as error:
        claimed = f" (the manifest claims key {_claimed_key_id(data)}, unverified)"
        raise BundleSignatureError(error.message + claimed, hint=error.hint) from None
    manifest = parse_manifest(data, MANIFEST_NAME)
    if manifest.key_id != key_fingerprint(public_key):
        raise BundleSignatureError(
            f"{MANIFEST_NAME} names key {manifest.key_id[:HASH_PREFIX]} but verified with key "
            f"{key_fingerprint(public_key)[:HASH_PREFIX]}: refusing a manifest that misstates its signer"
        )
    return manifest, hashlib.sha256(data).hexdigest()


def _count(problems: list[str], what: str) -> str:
    return "" if len(problems) == 1 else f" (and {len(problems) - 1} more {what})"


def check_files(root: Path, manifest: Manifest, progress: Reporter = NO_PROGRESS) -> None:
    """Every listed file present, nothing else present, every size and hash as signed."""
    listing = list_tree(root, skip=RESERVED_NAMES)  # a symlink or device anywhere is refused here
    listed = {entry.path: entry for entry in manifest.files}
    missing = sorted(set(listed) - set(listing.files))
    if missing:
        raise BundleFileMissingError(f"file missing: {missing[0]}{_count(missing, 'missing files')}")
    extra = sorted([*(set(listing.files) - set(listed)), *(f"{d}/" for d in listing.empty_dirs)])
    if extra:
        raise BundleFileExtraError(f"file not in the manifest: {extra[0]}{_count(extra, 'unlisted entries')}")
    for path, entry in listed.items():
        if listing.files[path] != entry.size:
            raise BundleFileAlteredError(
                f"file altered: {path}: {listing.files[path]} bytes, the manifest says {entry.size}"
            )
    with progress.bar("hashing", sum(listing.files.values()), len(listing.files)) as bar:
        digests = hash_files(root, listing.files, report=bar.advance)
    for path, entry in listed.items():
        found = digests[path]
        if found.sha256 != entry.sha256 or found.size != entry.size:
            raise BundleFileAlteredError(
                f"file altered: {path}: sha256 expected {entry.sha256[:HASH_PREFIX]}, "
                f"found {found.sha256[:HASH_PREFIX]}"
            )


def check_expiry(manifest: Manifest, now: datetime) -> None:
    if manifest.expires is not None and now >= parse_utc(manifest.expires):
        raise BundleExpiredError(
            f"bundle {manifest.name} sequence {manifest.sequence} expired at {manifest.expires} "
            f"(now {format_utc(now)})",
            hint="build and seal a fresh bundle on the connected side",
        )


def check_bundle(root: Path, public_key: Ed25519PublicKey, now: datetime | None = None) -> tuple[Manifest, str]:
    """Signature, schema, files and expiry, without state or ledger (split checks its input so)."""
    manifest, manifest_sha256 = read_signed_manifest(root, public_key)
    check_files(root, manifest)
    check_expiry(manifest, now or datetime.now(UTC))
    return manifest, manifest_sha256


def _accept_sequence(
    manifest: Manifest, manifest_sha256: str, state_dir: Path | None, allow_downgrade: bool, now: datetime
) -> _Acceptance:
    """Compare with the last accepted sequence and record this one, under the state lock."""
    if state_dir is None:
        return _Acceptance(None, False, False, ("sequence not checked: no state directory given",))
    with state_lock(state_dir):
        previous = read_accepted(state_dir).get(manifest.name)
        last = previous.sequence if previous else None
        downgrade = last is not None and manifest.sequence <= last
        what = "replay" if manifest.sequence == last else "rollback"
        if downgrade and not allow_downgrade:
            raise BundleRollbackError(
                f"{what}: bundle {manifest.name} sequence {manifest.sequence} is not newer than "
                f"the last accepted sequence {last}",
                hint="only a bundle with a higher sequence is accepted; --allow-downgrade overrides, on purpose",
            )
        record_accepted(state_dir, manifest, manifest_sha256, format_utc(now))
    notes = (f"accepted as a deliberate {what}: sequence {manifest.sequence}, last accepted {last}",)
    return _Acceptance(last, True, downgrade, notes if downgrade else ())


def _record(ledger_path: Path | None, attempt: Attempt, result: str, reason: str, code: int, now: datetime) -> None:
    if ledger_path is not None:
        append_attempt(ledger_path, attempt, result, reason, code, format_utc(now))


def _run_checks(
    bundle_dir: Path,
    public_key_path: Path,
    state_dir: Path | None,
    allow_downgrade: bool,
    now: datetime,
    attempts: list[Attempt],
    require_attestation: bool = False,
    progress: Reporter = NO_PROGRESS,
) -> tuple[Manifest, str, _Acceptance]:
    """Every check in order; appends to ``attempts`` what the ledger may record once it is trusted."""
    root = bundle_root(bundle_dir)
    manifest, digest = read_signed_manifest(root, load_public_key(public_key_path))
    attempts.append(
        Attempt(str(bundle_dir), manifest.name, manifest.version, manifest.sequence, digest, manifest.key_id)
    )
    check_files(root, manifest, progress)
    check_expiry(manifest, now)
    if require_attestation:  # after check_files: the toolkit digests it reads are then proven
        check_attestation(manifest)
    return manifest, digest, _accept_sequence(manifest, digest, state_dir, allow_downgrade, now)


def verify_bundle(
    bundle_dir: Path,
    public_key_path: Path,
    state_dir: Path | None = None,
    allow_downgrade: bool = False,
    now: datetime | None = None,
    ledger_path: Path | None = None,
    require_attestation: bool = False,
    progress: Reporter = NO_PROGRESS,
) -> VerifyResult:
    """Verify ``bundle_dir`` and accept it (state, ledger) only when every check passed."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    if ledger_path is not None:
        check_appendable(Path(ledger_path))  # an attempt we could not record must not start
    attempts = [Attempt(source=str(bundle_dir))]
    try:
        manifest, digest, acceptance = _run_checks(
            bundle_dir, public_key_path, state_dir, allow_downgrade, now, attempts, require_attestation, progress
        )
    except AirgapError as error:
        _record(ledger_path, attempts[-1], "rejected", error.message, error.exit_code, now)
        raise
    except Exception as error:  # an I/O error or a bug still rejects, and is still recorded
        _record(ledger_path, attempts[-1], "rejected", f"internal error: {error!r}", ExitCode.FAILED, now)
        raise
    _record(ledger_path, attempts[-1], "accepted", "; ".join(acceptance.warnings) or "every check passed", 0, now)
    return _result(bundle_dir, manifest, digest, acceptance, ledger_path, time.monotonic() - started)


def _result(
    bundle_dir: Path, manifest: Manifest, digest: str, acceptance: _Acceptance, ledger_path: Path | None, seconds: float
) -> VerifyResult:
    return VerifyResult(
        bundle_dir=str(bundle_dir),
        name=manifest.name,
        version=manifest.version,
        sequence=manifest.sequence,
        key_id=manifest.key_id,
        manifest_sha256=digest,
        created=manifest.created,
        expires=manifest.expires,
        files=len(manifest.files),
        total_bytes=manifest.total_size,
        previous_sequence=acceptance.previous_sequence,
        sequence_checked=acceptance.sequence_checked,
        downgrade=acceptance.downgrade,
        state_updated=acceptance.sequence_checked,
        ledger=None if ledger_path is None else str(ledger_path),
        seconds=round(seconds, 3),
        warnings=acceptance.warnings,
    )
