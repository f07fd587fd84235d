"""``bundle build``: collect everything bundle.yml names into a directory, then seal it.

Work happens in a sibling staging directory that only becomes the output once sealed, so
a failed build never leaves a half bundle where a good one is expected.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from airgapctl.bundle_build import apt_fetch, collections, wheels
from airgapctl.bundle_build.bundle_file import BundleFile, sha256_file
from airgapctl.bundle_build.inputs import TOOLKIT_PARTS, ResolvedInputs, toolkit_part
from airgapctl.bundle_build.sbom import Component, deb_purl, wheel_component
from airgapctl.bundle_build.toolkit_parts import folder_files, toolkit_tree
from airgapctl.progress import Reporter


@dataclass
class Section:
    name: str
    items: int = 0
    bytes: int = 0
    seconds: float = 0.0


@dataclass
class StagedBundle:
    directory: Path
    kinds: dict[str, str] = field(default_factory=dict)  # bundle path -> manifest kind
    components: list[Component] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def add(self, relative: str, kind: str, component: Component | None = None) -> None:
        self.kinds[relative] = kind
        if component:
            self.components.append(component)


def timed(staged: StagedBundle, name: str, step: Callable[[], None], progress: Reporter) -> None:
    progress.note(f"bundle: {name}…")
    before, started = set(staged.kinds), time.monotonic()
    step()
    added = [p for p in staged.kinds if p not in before]
    size = sum((staged.directory / p).stat().st_size for p in added)
    staged.sections.append(Section(name, len(added), size, time.monotonic() - started))


def stage_apt(spec: BundleFile, staged: StagedBundle, cache: Path, baseline: Path, progress: Reporter) -> None:
    repo = staged.directory / "apt"
    request = apt_fetch.AptRequest(spec.apt, baseline, spec.architecture)
    for deb in apt_fetch.fetch_debs(request, cache / "apt", repo, progress):
        path = f"apt/{deb.filename}"
        purl = deb_purl(deb.name, deb.version, deb.architecture)
        staged.add(path, "apt", Component("deb", deb.name, deb.version, path, deb.sha256, purl))
    apt_fetch.publish_repository(repo)
    staged.add("apt/Packages", "apt")
    staged.add("apt/Release", "apt")


def stage_wheels(spec: BundleFile, staged: StagedBundle, inputs: ResolvedInputs, progress: Reporter) -> None:
    out = staged.directory / "wheels"
    out.mkdir()
    requirements = list(spec.requirements)
    if spec.airgapctl_wheels:
        if inputs.airgapctl_wheel:
            shutil.copyfile(inputs.airgapctl_wheel, out / inputs.airgapctl_wheel.name)
        elif inputs.checkout:
            wheels.build_project_wheel(inputs.checkout, out)
        requirements += [str(p) for p in out.glob("airgapctl-*.whl")]
    constraints = inputs.toolkit / "constraints.txt"
    target = wheels.WheelTarget(python_version=spec.python)
    wheels.download_wheels(requirements, constraints if constraints.is_file() else None, target, out, progress)
    for wheel in sorted(out.glob("*.whl")):
        relative = f"wheels/{wheel.name}"
        staged.add(relative, "wheel", wheel_component(relative, sha256_file(wheel)))


def stage_collections(spec: BundleFile, staged: StagedBundle, search_path: tuple[Path, ...]) -> None:
    out = staged.directory / "collections"
    for artifact in collections.pack_collections(list(spec.collections), list(search_path), out):
        digest = sha256_file(staged.directory / artifact.filename)
        purl = f"pkg:generic/ansible-collection/{artifact.name}@{artifact.version}"
        component = Component("collection", artifact.name, artifact.version, artifact.filename, digest, purl)
        staged.add(artifact.filename, "collection", component)


def _copy_file(source: Path, bundle_path: str, staged: StagedBundle, kind: str) -> None:
    target = staged.directory / bundle_path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    staged.add(bundle_path, kind, Component(kind, bundle_path.split("/", 1)[-1], "", bundle_path, sha256_file(target)))


def tree_files(source: Path) -> list[Path]:
    """Regular files under source, links and caches left out (toolkit_parts.folder_files)."""
    return folder_files(source)


def _copy_tree(source: Path, prefix: str, staged: StagedBundle, kind: str) -> None:
    for path in tree_files(source):
        _copy_file(path, f"{prefix}/{path.relative_to(source).as_posix()}", staged, kind)


def stage_specs(spec: BundleFile, staged: StagedBundle, spec_files: Callable[[Path], list[Path]]) -> None:
    for source in spec.specs:
        if source.is_dir():
            _copy_tree(source, f"specs/{source.name}", staged, "spec")
            continue
        files = spec_files(source)  # the root and every file its $refs reach, layout kept
        root = Path(os.path.commonpath([str(f.parent) for f in files]))
        for path in files:
            _copy_file(path, f"specs/{root.name}/{path.relative_to(root).as_posix()}", staged, "spec")


def stage_files(spec: BundleFile, staged: StagedBundle) -> None:
    for item in spec.files:
        if item.source.is_dir():
            _copy_tree(item.source, f"files/{item.dest}", staged, "file")
        else:
            _copy_file(item.source, f"files/{item.dest}", staged, "file")


def toolkit_files(toolkit: Path) -> list[tuple[Path, str]]:
    """(file, bundle path) of every toolkit file that travels: sealed credentials stay behind."""
    files = []
    for part in TOOLKIT_PARTS:
        source = toolkit_part(toolkit, part)
        if source.is_dir():
            files += [(path, f"toolkit/{part}/{path.relative_to(source).as_posix()}") for path in toolkit_tree(source)]
        else:
            files.append((source, f"toolkit/{part}"))
    return files


def stage_toolkit(staged: StagedBundle, toolkit: Path) -> None:
    """The roles, playbooks and inventories travel with the media: the high side needs nothing else."""
    for path, relative in toolkit_files(toolkit):
        _copy_file(path, relative, staged, "toolkit")
