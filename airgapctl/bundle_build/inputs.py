"""Where a build takes what bundle.yml only switches on: the toolkit, airgapctl's own wheel,
the target's baseline and the Ansible collections.

Each has an explicit input (a ``bundle build`` option, most also a bundle.yml key) and a
default that needs no checkout: the toolkit airgapctl's wheel carries, the lab image's dpkg
status, this interpreter's site-packages. Only airgapctl's own wheel has no such default: it
is built from the checkout airgapctl runs from, or given.
"""

from __future__ import annotations

import site
from dataclasses import dataclass
from pathlib import Path

import airgapctl
from airgapctl.bundle_build.bundle_file import BundleFile
from airgapctl.bundle_build.toolkit_parts import TOOLKIT_PARTS
from airgapctl.errors import BadInputError, EnvironmentProblem


def _packaged_toolkit() -> Path:
    """The toolkit the wheel carries (setup.py copies it in); run from a checkout, the checkout's own."""
    packaged = Path(__file__).parent / "toolkit"
    checkout = Path(__file__).parents[2]
    if not packaged.is_dir() and (checkout / "pyproject.toml").is_file() and (checkout / "roles").is_dir():
        return checkout
    return packaged


PACKAGED_TOOLKIT = _packaged_toolkit()
NO_DOCKER_HINT = (
    "give the target's dpkg status instead (a copy of its /var/lib/dpkg/status): "
    "--baseline FILE or target.baseline: FILE in bundle.yml; or start Docker with airgapctl lab prepare"
)


@dataclass(frozen=True)
class BuildInputs:
    """What the command line gives; None or empty falls back to bundle.yml, then to the default."""

    toolkit: Path | None = None
    airgapctl_wheel: Path | None = None
    baseline: Path | None = None
    collections_path: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ResolvedInputs:
    toolkit: Path  # holds TOOLKIT_PARTS; its constraints.txt also pins the wheel downloads
    airgapctl_wheel: Path | None  # None: build it from `checkout`
    checkout: Path | None
    baseline: str  # 'lab' or the path of a dpkg status file
    collections_path: tuple[Path, ...]

    def describe(self, spec: BundleFile) -> dict[str, str]:
        """Where each input spec uses came from, for the build's notes and its --json result."""
        wheel = self.airgapctl_wheel or f"the checkout {self.checkout} (built now)"
        baseline = "the lab image's dpkg status" if self.baseline == "lab" else self.baseline
        sources = {
            "toolkit": (spec.toolkit, str(self.toolkit)),
            "airgapctl_wheel": (spec.airgapctl_wheels, str(wheel)),
            "baseline": (bool(spec.apt), baseline),
            "collections_path": (bool(spec.collections), ", ".join(str(p) for p in self.collections_path)),
        }
        return {name: source for name, (used, source) in sources.items() if used}


def checkout_dir() -> Path | None:
    """The source checkout airgapctl is imported from, or None when it runs from an installed wheel."""
    root = Path(airgapctl.__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "roles").is_dir() else None


def resolve_inputs(spec: BundleFile, given: BuildInputs) -> ResolvedInputs:
    """Check every explicit input now, before anything is downloaded."""
    checkout = checkout_dir()
    toolkit = given.toolkit or spec.toolkit_dir or PACKAGED_TOOLKIT
    if given.toolkit and not given.toolkit.is_dir():
        raise BadInputError(f"--toolkit: {given.toolkit} is not a directory", hint=f"give a folder holding {_parts()}")
    baseline = spec.baseline
    if given.baseline:
        if not given.baseline.is_file():
            raise BadInputError(f"--baseline: {given.baseline} does not exist", hint="give the target's dpkg status")
        baseline = str(given.baseline.resolve())
    wheel = _airgapctl_wheel(spec, given, checkout) if spec.airgapctl_wheels else None
    paths = given.collections_path or tuple(Path(p) for p in site.getsitepackages())
    return ResolvedInputs(toolkit.resolve(), wheel, checkout, baseline, paths)


def _parts() -> str:
    return ", ".join(TOOLKIT_PARTS)


def _airgapctl_wheel(spec: BundleFile, given: BuildInputs, checkout: Path | None) -> Path | None:
    wheel, where = (given.airgapctl_wheel, "--airgapctl-wheel") if given.airgapctl_wheel else (
        spec.airgapctl_wheel, f"{spec.path}: wheels.airgapctl")  # fmt: skip
    if wheel is None:
        if checkout is None:
            raise BadInputError(
                f"{spec.path}: wheels.airgapctl: airgapctl {airgapctl.__version__} runs from an installed package, "
                "not a checkout, so its wheel cannot be built here",
                hint=f"give the wheel it was installed from: --airgapctl-wheel airgapctl-{airgapctl.__version__}"
                "-py3-none-any.whl (or wheels.airgapctl: PATH in bundle.yml)",
            )
        return None
    if not wheel.is_file() or not wheel.name.startswith("airgapctl-") or wheel.suffix != ".whl":
        raise BadInputError(f"{where}: {wheel} is not an airgapctl wheel file", hint="give airgapctl-VERSION-*.whl")
    return wheel.resolve()


def toolkit_part(toolkit: Path, part: str) -> Path:
    source = toolkit / part
    if not source.exists():
        raise BadInputError(
            f"toolkit: {source} is missing",
            hint=f"give a folder holding {_parts()} with --toolkit DIR, or toolkit: false in bundle.yml",
        )
    return source.resolve()


def lab_baseline(cache: Path) -> Path:
    """target.baseline: lab, read from the lab image: a convenience that needs Docker."""
    from airgapctl.lab.daemon import daemon_version
    from airgapctl.lab.image import base_dpkg_status

    try:
        if daemon_version() is None:
            raise EnvironmentProblem("no Docker daemon answers")
        cache.mkdir(parents=True, exist_ok=True)
        return base_dpkg_status(cache / "lab-dpkg-status")
    except EnvironmentProblem as error:
        raise EnvironmentProblem(
            f"target.baseline: lab reads the lab image's dpkg status, but {error.message}", hint=NO_DOCKER_HINT
        ) from None
