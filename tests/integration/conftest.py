"""Integration fixtures: a real Docker daemon and the locally built lab image."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from airgapctl.lab import ensure_daemon, ensure_image

VENV_BIN = str(Path(sys.executable).parent)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\x1b\]8;;[^\x1b]*\x1b\\")


def tool_env() -> dict[str, str]:
    """Environment for ansible and molecule: this venv's tools first, no colour codes."""
    return {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1"}


def run_tool(
    argv: list[str], cwd: Path, timeout: float = 900, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**tool_env(), **(extra_env or {})}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    proc.stdout = ANSI.sub("", proc.stdout)
    proc.stderr = ANSI.sub("", proc.stderr)
    return proc


@pytest.fixture(scope="session")
def lab_image() -> str:
    """Start Docker and build the image if needed (make test has usually done both)."""
    ensure_daemon()
    return ensure_image().tag


@dataclass(frozen=True)
class SharedBundle:
    path: Path
    public_key: Path
    private_key: Path

    def env(self) -> dict[str, str]:
        return {
            "AIRGAPCTL_TEST_BUNDLE": str(self.path),
            "AIRGAPCTL_TEST_PUBKEY": str(self.public_key),
            "AIRGAPCTL_TEST_KEY": str(self.private_key),
        }


REPO = Path(__file__).parents[2]
BUNDLE_FILE = REPO / "tests" / "fixtures" / "bundle" / "test-bundle.yml"
BUNDLE_CACHE = REPO / ".cache" / "test-bundle"
# The bundle carries airgapctl's own wheel and the petstore specs: their sources are inputs too.
BUNDLE_INPUTS = ("pyproject.toml", "constraints.txt", "airgapctl", "log_analysis", "examples/lab/specs")


def inputs_digest(*extra: str) -> str:
    digest = hashlib.sha256()
    for text in extra:
        digest.update(text.encode() + b"\0")
    for name in BUNDLE_INPUTS:
        root = REPO / name
        files = sorted(p for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def test_bundle(lab_image: str) -> SharedBundle:
    """One signed bundle for the whole run, rebuilt only when its inputs change (bundle.yml, base image, sources)."""
    from airgapctl.bundle.keys import generate_keypair
    from airgapctl.bundle_build.assemble import build_bundle

    digest = inputs_digest(BUNDLE_FILE.read_text(), lab_image)
    home = BUNDLE_CACHE / digest
    bundle = SharedBundle(home / "bundle", home / "keys" / "bundle.pub", home / "keys" / "bundle.key")
    if not (bundle.path / "manifest.json.sig").is_file():
        shutil.rmtree(home, ignore_errors=True)
        (home / "keys").mkdir(parents=True)
        generate_keypair(bundle.private_key, bundle.public_key)
        build_bundle(BUNDLE_FILE, bundle.path, bundle.private_key, cache_dir=BUNDLE_CACHE / "downloads")
    return bundle
