"""Python wheels for the target's Python and platform: airgapctl itself and what it needs."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from airgapctl.errors import BadInputError, EnvironmentProblem

# Debian 12 has glibc 2.36: every manylinux tag up to that runs there (duckdb ships 2_27/2_28 only).
DEBIAN12_PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)),
    "manylinux2014_x86_64",
    "linux_x86_64",
    "any",
)


@dataclass(frozen=True)
class WheelTarget:
    python_version: str = "3.11"  # Debian 12's python3
    platforms: tuple[str, ...] = DEBIAN12_PLATFORMS


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)


def build_project_wheel(project_dir: Path, out_dir: Path) -> None:
    """airgapctl's own wheel, built from the checkout (no dependencies)."""
    proc = _pip("wheel", "--no-deps", "-q", "--wheel-dir", str(out_dir), str(project_dir))
    if proc.returncode != 0:
        raise EnvironmentProblem(f"building the wheel of {project_dir} failed: {proc.stderr.strip()[-300:]}")


def download_wheels(requirements: list[str], constraints: Path | None, target: WheelTarget, out_dir: Path) -> None:
    """Binary wheels only, resolved for the target rather than for this machine."""
    if not requirements:
        return
    argv = ["download", "-q", "--dest", str(out_dir), "--only-binary=:all:", "--python-version", target.python_version]
    for platform in target.platforms:
        argv += ["--platform", platform]
    argv += ["--implementation", "cp"]
    if constraints:
        argv += ["--constraint", str(constraints)]
    proc = _pip(*argv, *requirements)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or ["pip failed"]
        if "No matching distribution" in proc.stderr or "Could not find a version" in proc.stderr:
            raise BadInputError(f"wheels: {detail[0]}", hint="check the requirement names and versions")
        raise EnvironmentProblem(f"pip download failed: {detail[0]}")
