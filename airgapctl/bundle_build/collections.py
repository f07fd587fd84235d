"""Ansible collections as installable tarballs, taken from collections installed on the build host.

Galaxy is out of reach, so the source is what is installed on the connected side: the
``ansible`` package in this interpreter's site-packages by default, or the folders given
with ``--collections-path``. An installed collection keeps its MANIFEST.json and FILES.json,
which is exactly what an artifact for ``ansible-galaxy collection install`` holds at its root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle_build.reproducible_tar import write_tar_gz
from airgapctl.errors import BadInputError


@dataclass(frozen=True)
class CollectionArtifact:
    name: str  # namespace.name
    version: str
    filename: str  # relative to the bundle: collections/<ns>-<name>-<version>.tar.gz


def installed_collection(name: str, search_paths: list[Path]) -> tuple[Path, str]:
    """Each search path holds ansible_collections/, or is it, as with ANSIBLE_COLLECTIONS_PATH."""
    namespace, _, short = name.partition(".")
    for root in search_paths:
        base = root if root.name == "ansible_collections" else root / "ansible_collections"
        manifest = base / namespace / short / "MANIFEST.json"
        if manifest.is_file():
            return manifest.parent, json.loads(manifest.read_text())["collection_info"]["version"]
    searched = ", ".join(str(p) for p in search_paths) or "nothing"
    raise BadInputError(
        f"collections: {name!r} is not installed in the collections search path ({searched})",
        hint="give the folders that hold it with --collections-path DIR[:DIR...], "
        "or pip install the ansible package (it carries community.docker, community.crypto, ansible.posix)",
    )


def pack_collections(names: list[str], search_paths: list[Path], out_dir: Path) -> list[CollectionArtifact]:
    out_dir.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for name in sorted(set(names)):
        source, version = installed_collection(name, search_paths)
        filename = f"{name.replace('.', '-')}-{version}.tar.gz"
        write_tar_gz(source, out_dir / filename)
        artifacts.append(CollectionArtifact(name, version, f"{out_dir.name}/{filename}"))
    return artifacts
