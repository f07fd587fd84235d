"""Build a bundle end to end: stage every section, write the SBOM, seal, then publish the directory."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import airgapctl
from airgapctl.bundle_build.build import (
    Section,
    StagedBundle,
    stage_apt,
    stage_collections,
    stage_files,
    stage_specs,
    stage_toolkit,
    stage_wheels,
    timed,
)
from airgapctl.bundle_build.bundle_file import BundleFile, load_bundle_file
from airgapctl.bundle_build.inputs import BuildInputs, ResolvedInputs, lab_baseline, resolve_inputs
from airgapctl.bundle_build.sbom import cyclonedx
from airgapctl.errors import BadInputError
from airgapctl.progress import NO_PROGRESS, Reporter

SBOM_PATH = "sbom.cdx.json"


@dataclass
class BuildResult:
    out: Path
    name: str
    release: str
    sequence: int
    files: int
    bytes: int
    seconds: float
    sections: list[Section] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # where the toolkit, wheel, baseline, collections came from


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airgapctl" / "bundle"


def default_project_dir() -> Path:
    """The checkout airgapctl runs from: the commit and the roles a test record names."""
    return Path(airgapctl.__file__).resolve().parent.parent


def _spec_files(path: Path) -> list[Path]:
    from airgapctl.specs.loader import load_spec

    return [Path(f) for f in load_spec(path).files]


def build_bundle(
    bundle_yml: Path,
    out_dir: Path,
    private_key: Path,
    cache_dir: Path | None = None,
    inputs: BuildInputs | None = None,
    attestation: dict[str, Any] | None = None,
    progress: Reporter = NO_PROGRESS,
    sequence: int | None = None,
) -> BuildResult:
    spec = load_bundle_file(bundle_yml)
    if sequence is not None:  # media cut by a pipeline count up without editing bundle.yml
        spec = dataclasses.replace(spec, sequence=sequence)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BadInputError(f"{out_dir} exists and is not empty", hint="choose a new --out directory or remove it")
    if not private_key.is_file():
        raise BadInputError(f"--key: {private_key} does not exist", hint="airgapctl bundle keygen makes a key pair")
    resolved = resolve_inputs(spec, inputs or BuildInputs())
    for name, source in resolved.describe(spec).items():
        progress.note(f"bundle: {name} from {source}")
    # Absolute: apt resolves relative option paths against /etc/apt, not the working directory.
    cache, started = (cache_dir or default_cache_dir()).resolve(), time.monotonic()
    staged = StagedBundle(out_dir.with_name(out_dir.name + ".partial"))
    shutil.rmtree(staged.directory, ignore_errors=True)
    staged.directory.mkdir(parents=True)
    try:
        _stage_and_seal(spec, staged, cache, resolved, private_key, attestation, progress)
    except BaseException:
        shutil.rmtree(staged.directory, ignore_errors=True)  # never leave half a bundle behind
        raise
    if out_dir.exists():
        out_dir.rmdir()
    staged.directory.rename(out_dir)
    total = sum(s.bytes for s in staged.sections)
    count = sum(s.items for s in staged.sections) + 1
    elapsed = time.monotonic() - started
    return BuildResult(out_dir, spec.name, spec.release, spec.sequence, count, total, elapsed, staged.sections,
                       resolved.describe(spec))  # fmt: skip


def _stage_and_seal(
    spec: BundleFile,
    staged: StagedBundle,
    cache: Path,
    inputs: ResolvedInputs,
    private_key: Path,
    attestation: dict[str, Any] | None,
    progress: Reporter,
) -> None:
    from airgapctl.bundle.manifest import seal_bundle

    if spec.apt:

        def apt() -> None:
            baseline = lab_baseline(cache) if inputs.baseline == "lab" else Path(inputs.baseline)
            stage_apt(spec, staged, cache, baseline, progress)

        timed(staged, "apt", apt, progress)
    if spec.airgapctl_wheels or spec.requirements:
        timed(staged, "wheels", lambda: stage_wheels(spec, staged, inputs, progress), progress)
    if spec.collections:
        timed(staged, "collections", lambda: stage_collections(spec, staged, inputs.collections_path), progress)
    timed(staged, "specs", lambda: stage_specs(spec, staged, _spec_files), progress)
    timed(staged, "files", lambda: stage_files(spec, staged), progress)
    if spec.toolkit:
        timed(staged, "toolkit", lambda: stage_toolkit(staged, inputs.toolkit), progress)
    sbom = cyclonedx(spec.name, spec.release, staged.components)
    (staged.directory / SBOM_PATH).write_text(json.dumps(sbom, indent=2, sort_keys=True) + "\n")
    staged.add(SBOM_PATH, "sbom")
    progress.note("bundle: hashing and signing…")
    seal = {"expires": spec.expires, "sbom": SBOM_PATH, "attestation": attestation, "progress": progress}
    seal_bundle(staged.directory, spec.name, spec.release, spec.sequence, private_key, staged.kinds, **seal)


def read_attestation(path: Path) -> dict[str, Any]:
    """The test-run record to sign into the manifest: a JSON object, read as it is."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BadInputError(f"--attest: {path}: not a readable JSON file ({error})") from None
    if not isinstance(document, dict):
        raise BadInputError(f"--attest: {path}: must hold a JSON object")
    return document
