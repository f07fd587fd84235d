"""Run host programs with an argv list and turn their failures into AirgapErrors."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from airgapctl.errors import EnvironmentProblem


def require_program(name: str, package: str) -> str:
    """Return the path of a host program, or fail with the apt package that provides it."""
    path = shutil.which(name)
    if path is None:
        raise EnvironmentProblem(
            f"{name} is not installed on this host",
            hint=f"apt-get install {package} (make setup does this)",
        )
    return path


def run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a program, capturing text output; raise EnvironmentProblem when check fails."""
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit code {proc.returncode}"
        raise EnvironmentProblem(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} failed: {last}".strip())
    return proc


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([require_program("docker", "docker.io"), *args], check=check)
