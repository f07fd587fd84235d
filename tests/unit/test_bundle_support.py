"""Helpers shared by the bundle tests (no tests here): keys, bundle trees, sealed bundles."""

from __future__ import annotations

import hashlib
from pathlib import Path

from airgapctl.bundle import generate_keypair, guess_kind, seal_bundle

CREATED = "2025-01-01T00:00:00Z"
DEFAULT_FILES = {
    "debs/nginx_1.22_amd64.deb": b"deb" * 1000,
    "wheels/pyyaml-6.0-cp311-none-any.whl": b"wheel" * 500,
    "specs/orders.yaml": b"openapi: 3.1.0\n",
    "sbom.cdx.json": b'{"bomFormat": "CycloneDX"}\n',
    "roles/gateway_proxy/tasks/main.yml": b"---\n",
}


def make_keys(directory: Path, stem: str = "site") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / f"{stem}.key", directory / f"{stem}.pub"
    generate_keypair(private, public)
    return private, public


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def make_bundle(root: Path, private: Path, name: str = "site-a", sequence: int = 1, **options) -> Path:
    """A sealed bundle of DEFAULT_FILES (or ``files=``) at ``root``."""
    files = options.pop("files", DEFAULT_FILES)
    write_tree(root, files)
    options.setdefault("created", CREATED)
    options.setdefault("sbom", "sbom.cdx.json" if "sbom.cdx.json" in files else None)
    seal_bundle(root, name, f"1.{sequence}", sequence, private, guess_kind, **options)
    return root


def tree_snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``root`` (to show what changed)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
