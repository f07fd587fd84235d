"""Verifying a bundle, failing closed: signature, format, files, expiry, sequence; then accept.

The checks, their order, their messages and what the ledger records are the trust core's
(airgapctl/bundle/trust/), shared with the appliance's Ansible module; this front end
checks signatures with the cryptography package and adds the attestation check. Nothing the
manifest says is used before its signature verified with the site's key, not even its file
list. A rejection raises the BundleRejectedError subclass of its class (one exit code each),
leaves the accepted state untouched and, with a ledger, is recorded there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from airgapctl.bundle import trust
from airgapctl.bundle.attestation import check_attestation
from airgapctl.bundle.keys import raw_public_key, signature_ok
from airgapctl.bundle.manifest import MANIFEST_NAME, Manifest, manifest_from_document
from airgapctl.errors import trust_errors
from airgapctl.progress import NO_PROGRESS, Reporter

HASH_PREFIX = trust.HASH_PREFIX


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


def read_signed_manifest(root: Path, public_key: Ed25519PublicKey) -> tuple[Manifest, str]:
    """The manifest and the SHA-256 of its bytes, only once its signature verified with ``public_key``."""
    with trust_errors():
        document, digest = trust.read_signed_manifest(root, raw_public_key(public_key), signature_ok)
    return manifest_from_document(document, MANIFEST_NAME), digest


def check_bundle(root: Path, public_key: Ed25519PublicKey, now: datetime | None = None) -> tuple[Manifest, str]:
    """Signature, format, files and expiry, without state or ledger (split checks its input so)."""
    with trust_errors():
        document, digest = trust.read_signed_manifest(root, raw_public_key(public_key), signature_ok)
        trust.check_files(root, document["files"])
        trust.check_expiry(document, now or datetime.now(UTC))
    return manifest_from_document(document, MANIFEST_NAME), digest


def _hashing_bar(progress: Reporter) -> Callable[[int, int], AbstractContextManager]:
    """The trust core's hashing progress hook, drawn as one of our bars."""

    @contextmanager
    def bar(total: int, count: int) -> Iterator[Callable[[int, int], None]]:
        with progress.bar("hashing", total, count) as opened:
            yield opened.advance

    return bar


def _attested(document: dict) -> None:
    check_attestation(manifest_from_document(document, MANIFEST_NAME))


def verify_bundle(
    bundle_dir: Path,
    public_key_path: Path,
    state_dir: Path | None = None,
    allow_downgrade: bool = False,
    now: datetime | None = None,
    ledger_path: Path | None = None,
    require_attestation: bool = False,
    progress: Reporter = NO_PROGRESS,
    expected_name: str | None = None,
) -> VerifyResult:
    """Verify ``bundle_dir`` and accept it (state, ledger) only when every check passed.

    With ``require_attestation`` the signed test record is checked once the files it names
    are proven, and a failure is recorded like every other rejection.
    """
    started = time.monotonic()
    with trust_errors():
        verdict = trust.verify(
            str(bundle_dir),
            Path(public_key_path),
            signature_ok,
            now or datetime.now(UTC),
            state_dir=state_dir,
            ledger=ledger_path,
            allow_downgrade=allow_downgrade,
            after_files=_attested if require_attestation else None,
            progress=_hashing_bar(progress),
            expected_name=expected_name,
        )
    manifest = manifest_from_document(verdict.manifest, MANIFEST_NAME)
    return VerifyResult(
        bundle_dir=str(bundle_dir),
        name=manifest.name,
        version=manifest.version,
        sequence=manifest.sequence,
        key_id=manifest.key_id,
        manifest_sha256=verdict.manifest_sha256,
        created=manifest.created,
        expires=manifest.expires,
        files=len(manifest.files),
        total_bytes=manifest.total_size,
        previous_sequence=verdict.previous_sequence,
        sequence_checked=verdict.sequence_checked,
        downgrade=verdict.downgrade,
        state_updated=verdict.sequence_checked,
        ledger=None if ledger_path is None else str(ledger_path),
        seconds=round(time.monotonic() - started, 3),
        warnings=tuple(verdict.warnings),
    )
