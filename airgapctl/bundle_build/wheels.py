"""Python wheels for the target's Python and platform: airgapctl itself and what it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle_build.watch import present_bytes, run_watched
from airgapctl.errors import BadInputError, EnvironmentProblem
from airgapctl.progress import NO_PROGRESS, Reporter

# Debian 12 has glibc 2.36: every manylinux tag up to that runs there (duckdb ships 2_27/2_28 only).
DEBIAN12_PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)),
    "manylinux2014_x86_64",
    "linux_x86_64",
    "any",
)


# 1980-01-01, the earliest time a zip entry holds: same sources, same wheel bytes.
REPRODUCIBLE_EPOCH = "315532800"
# What a checkout holds besides its sources: build output, caches, virtual environments.
NOT_SOURCES = (".git", ".venv", ".cache", ".ansible", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


@dataclass(frozen=True)
class WheelTarget:
    python_version: str = "3.11"  # Debian 12's python3
    platforms: tuple[str, ...] = DEBIAN12_PLATFORMS


def _pip(
    *args: str, tick: Callable[[], None] | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pip", *args]
    if tick is None:
        return subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    return run_watched(argv, tick, env=env)


def build_project_wheel(project_dir: Path, out_dir: Path) -> None:
    """airgapctl's own wheel, built from a clean copy of the checkout (no dependencies).

    setuptools reuses the build/ folder of the tree it builds in, and would carry files removed
    since the last build (a deleted role file, say) into the wheel: the copy leaves it behind.
    """
    env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", REPRODUCIBLE_EPOCH)}
    with tempfile.TemporaryDirectory(prefix="airgapctl-wheel-") as scratch:
        source = Path(scratch) / "src"
        shutil.copytree(project_dir, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
        proc = _pip("wheel", "--no-deps", "-q", "--wheel-dir", str(out_dir.resolve()), str(source), env=env)
    if proc.returncode != 0:
        raise EnvironmentProblem(f"building the wheel of {project_dir} failed: {proc.stderr.strip()[-300:]}")


def _download_argv(constraints: Path | None, target: WheelTarget, out_dir: Path) -> list[str]:
    argv = ["download", "-q", "--dest", str(out_dir), "--only-binary=:all:", "--python-version", target.python_version]
    for platform in target.platforms:
        argv += ["--platform", platform]
    argv += ["--implementation", "cp"]
    if constraints:
        argv += ["--constraint", str(constraints)]
    return argv


def download_wheels(
    requirements: list[str],
    constraints: Path | None,
    target: WheelTarget,
    out_dir: Path,
    progress: Reporter = NO_PROGRESS,
) -> None:
    """Binary wheels only, resolved for the target rather than for this machine.

    pip resolves the dependencies as it goes, so how many wheels will come is not known in
    advance: the bar has no total. pip fetches each wheel into its temporary directory (here a
    private one) and saves them all to ``out_dir`` at the end; the bar counts the wheels seen in
    either while pip runs, and in the end exactly the wheels saved to ``out_dir``.
    """
    if not requirements:
        return
    before = set(out_dir.glob("*.whl"))  # airgapctl's own wheel, built there first
    with (
        tempfile.TemporaryDirectory(prefix="airgapctl-pip-") as scratch,
        progress.bar("wheel download", None, None, "wheels") as bar,
    ):
        seen: dict[str, int] = {}

        def tick() -> None:
            for path in [*_wheels_below(Path(scratch)), *(p for p in out_dir.glob("*.whl") if p not in before)]:
                with suppress(OSError):  # pip moves and removes files while we look
                    seen[path.name] = max(seen.get(path.name, 0), path.stat().st_size)
            bar.update(sum(seen.values()), len(seen))

        proc = _pip(*_download_argv(constraints, target, out_dir), *requirements, tick=tick,
                    env={**os.environ, "TMPDIR": scratch})  # fmt: skip
        bar.update(*present_bytes(p for p in out_dir.glob("*.whl") if p not in before))
        _check_download(proc)


def _wheels_below(root: Path) -> list[Path]:
    """Every .whl file below root; os.walk shrugs off directories that vanish under it."""
    return [Path(top, name) for top, _, names in os.walk(root) for name in names if name.endswith(".whl")]


def _check_download(proc: subprocess.CompletedProcess[str]) -> None:
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or ["pip failed"]
        if "No matching distribution" in proc.stderr or "Could not find a version" in proc.stderr:
            raise BadInputError(f"wheels: {detail[0]}", hint="check the requirement names and versions")
        raise EnvironmentProblem(f"pip download failed: {detail[0]}")
