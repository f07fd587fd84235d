"""Describing a bundle as its manifest claims, without trusting it (``bundle inspect``)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle.fileio import bundle_root, read_regular_file
from airgapctl.bundle.manifest import MANIFEST_LIMIT, MANIFEST_NAME, SIGNATURE_NAME, parse_manifest


@dataclass(frozen=True)
class BundleSummary:
    """What manifest.json claims, read WITHOUT checking the signature (``bundle verify`` does that)."""

    bundle_dir: str
    name: str
    version: str
    sequence: int
    created: str
    expires: str | None
    key_id: str
    files: int
    total_bytes: int
    files_by_kind: dict[str, int]
    sbom: str | None
    has_attestation: bool
    signature_present: bool
    signature_checked: bool = False


def inspect_bundle(bundle_dir: Path) -> BundleSummary:
    """Summarise manifest.json as it claims to be; nothing here is verified."""
    root = bundle_root(bundle_dir)
    manifest = parse_manifest(read_regular_file(root / MANIFEST_NAME, MANIFEST_LIMIT, "manifest"), MANIFEST_NAME)
    return BundleSummary(
        bundle_dir=str(root),
        name=manifest.name,
        version=manifest.version,
        sequence=manifest.sequence,
        created=manifest.created,
        expires=manifest.expires,
        key_id=manifest.key_id,
        files=len(manifest.files),
        total_bytes=manifest.total_size,
        files_by_kind=dict(sorted(Counter(entry.kind for entry in manifest.files).items())),
        sbom=manifest.sbom,
        has_attestation=manifest.attestation is not None,
        signature_present=os.path.lexists(root / SIGNATURE_NAME),
    )
