"""bundle.yml: what a bundle carries, checked before anything is downloaded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from airgapctl.errors import BadInputError
from airgapctl.schemas import check_document

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FileItem:
    source: Path
    dest: str  # under files/ in the bundle
    sha256: str | None


@dataclass(frozen=True)
class BundleFile:
    path: Path
    name: str
    release: str
    sequence: int
    expires: str | None
    baseline: str  # 'lab' or a path to a dpkg status file
    architecture: str
    python: str
    apt: tuple[str, ...]
    airgapctl_wheels: bool
    airgapctl_wheel: Path | None  # a given wheel of airgapctl; None: build it from the checkout
    requirements: tuple[str, ...]
    collections: tuple[str, ...]
    specs: tuple[Path, ...]
    files: tuple[FileItem, ...]
    toolkit: bool
    toolkit_dir: Path | None  # a given toolkit folder; None: the one airgapctl carries
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _existing(base: Path, value: str, field_name: str) -> Path:
    path = (base / value).resolve()
    if not path.exists():
        raise BadInputError(
            f"{field_name}: {value} does not exist (relative to {base})", hint="fix the path in bundle.yml"
        )
    return path


def load_bundle_file(path: str | Path) -> BundleFile:
    """Parse and check bundle.yml; every problem is one line naming the field, exit code 2."""
    path = Path(path)
    try:
        document = yaml.load(path.read_text(), Loader=YAML_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader only
    except OSError as error:
        raise BadInputError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise BadInputError(f"{path}: not valid YAML: {getattr(error, 'problem', error)}") from None
    check_document(document, "bundle", str(path))
    base, target, wheels = path.parent, document.get("target", {}), document.get("wheels", {})
    baseline = target.get("baseline", "lab")
    if baseline != "lab":
        baseline = str(_existing(base, baseline, f"{path}: target.baseline"))
    # Both switches also take a path: the wheel file, or the toolkit folder, to carry instead of the default.
    wheel, toolkit = wheels.get("airgapctl", True), document.get("toolkit", True)
    wheel_file = _existing(base, wheel, f"{path}: wheels.airgapctl") if isinstance(wheel, str) else None
    toolkit_dir = _existing(base, toolkit, f"{path}: toolkit") if isinstance(toolkit, str) else None
    return BundleFile(
        path=path, name=document["name"], release=document["release"], sequence=document["sequence"],
        expires=document.get("expires"), baseline=baseline, architecture=target.get("architecture", "amd64"),
        python=target.get("python", "3.11"), apt=tuple(document.get("apt", [])),
        airgapctl_wheels=wheel is not False, airgapctl_wheel=wheel_file,
        requirements=tuple(wheels.get("requirements", [])), collections=tuple(document.get("collections", [])),
        specs=tuple(_existing(base, s, f"{path}: specs[{i}]") for i, s in enumerate(document.get("specs", []))),
        files=_files(path, document.get("files", [])), toolkit=toolkit is not False, toolkit_dir=toolkit_dir,
        raw=document,
    )  # fmt: skip


def _files(path: Path, items: list[dict[str, str]]) -> tuple[FileItem, ...]:
    files = []
    for index, item in enumerate(items):
        source = _existing(path.parent, item["src"], f"{path}: files[{index}].src")
        if item.get("sha256") and source.is_file() and sha256_file(source) != item["sha256"]:
            raise BadInputError(
                f"{path}: files[{index}].sha256: {item['src']} has sha256 {sha256_file(source)[:16]}…, "
                f"expected {item['sha256'][:16]}…",
                hint="the supplied file is not the one you vetted: get the right one, or update the digest",
            )
        files.append(FileItem(source, item.get("dest", source.name), item.get("sha256")))
    return tuple(files)
