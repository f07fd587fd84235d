"""Integration fixtures: a real Docker daemon and the locally built lab image."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airgapctl.lab import ensure_daemon, ensure_image

VENV_BIN = str(Path(sys.executable).parent)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\x1b\]8;;[^\x1b]*\x1b\\")


def tool_env() -> dict[str, str]:
    """Environment for ansible and molecule: this venv's tools first, no colour codes."""
    return {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1"}


def run_tool(argv: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=timeout, check=False)
    proc.stdout = ANSI.sub("", proc.stdout)
    proc.stderr = ANSI.sub("", proc.stderr)
    return proc


@pytest.fixture(scope="session")
def lab_image() -> str:
    """Start Docker and build the image if needed (make test has usually done both)."""
    ensure_daemon()
    return ensure_image().tag
