"""A CycloneDX 1.5 SBOM of everything a bundle carries, deterministic for the same contents."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Component:
    kind: str  # deb, wheel, collection, spec, file, toolkit
    name: str
    version: str
    path: str  # inside the bundle
    sha256: str
    purl: str | None = None


def deb_purl(name: str, version: str, architecture: str) -> str:
    return f"pkg:deb/debian/{name}@{version.replace(':', '%3A')}?arch={architecture}&distro=debian-12"


def wheel_component(path: str, sha256: str) -> Component:
    """Name and version from the wheel file name (PEP 427), normalised as PyPI purls want."""
    filename = path.rsplit("/", 1)[-1]
    name, version = filename.split("-")[:2]
    normalised = re.sub(r"[-_.]+", "-", name).lower()
    return Component("wheel", normalised, version, path, sha256, f"pkg:pypi/{normalised}@{version}")


def cyclonedx(bundle_name: str, release: str, components: list[Component]) -> dict[str, Any]:
    ordered = sorted(components, key=lambda c: (c.kind, c.name, c.path))
    serial = uuid.uuid5(uuid.NAMESPACE_URL, "airgapctl:" + "|".join(f"{c.path}:{c.sha256}" for c in ordered))
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "component": {"type": "data", "name": bundle_name, "version": release, "bom-ref": f"bundle:{bundle_name}"},
            "tools": {"components": [{"type": "application", "name": "airgapctl"}]},
        },
        "components": [_entry(c) for c in ordered],
    }


def _entry(component: Component) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "library" if component.kind in ("deb", "wheel", "collection") else "file",
        "bom-ref": component.path,
        "name": component.name,
        "version": component.version,
        "hashes": [{"alg": "SHA-256", "content": component.sha256}],
        "properties": [
            {"name": "airgapctl:kind", "value": component.kind},
            {"name": "airgapctl:path", "value": component.path},
        ],
    }
    if component.purl:
        entry["purl"] = component.purl
    return entry
