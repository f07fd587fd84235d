"""Integration fixtures: a real Docker daemon, the locally built lab image, and the shared test bundle."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from airgapctl.bundle_build.bundle_file import sha256_file
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
    venv: Path  # a fresh venv outside the source tree, with airgapctl installed from `wheel`
    wheel: Path  # airgapctl's wheel, built from `source`
    source: Path  # the snapshot of this checkout the wheel was built from (others may edit the checkout)
    build_record: Path  # the --json result of the `airgapctl bundle build` that made it

    def env(self) -> dict[str, str]:
        return {
            "AIRGAPCTL_TEST_BUNDLE": str(self.path),
            "AIRGAPCTL_TEST_PUBKEY": str(self.public_key),
            "AIRGAPCTL_TEST_KEY": str(self.private_key),
        }


REPO = Path(__file__).parents[2]
BUNDLE_FILE = REPO / "tests" / "fixtures" / "bundle" / "test-bundle.yml"
BUNDLE_CACHE = REPO / ".cache" / "test-bundle"
# The bundle carries airgapctl's wheel (its sources, the toolkit inside it), the toolkit and the
# petstore specs: their sources are inputs too. README.md only fills the wheel's description.
TOOLKIT_INPUTS = ("roles", "playbooks", "inventory", "ansible.cfg")
SOURCE_INPUTS = ("pyproject.toml", "setup.py", "constraints.txt", "airgapctl", "log_analysis", "examples/lab/specs")
BUNDLE_INPUTS = (*SOURCE_INPUTS, *TOOLKIT_INPUTS)
# The venv's dependencies change only with these; airgapctl itself is reinstalled from each new wheel.
VENV_INPUTS = ("pyproject.toml", "constraints.txt")


def inputs_digest(*extra: str, names: tuple[str, ...] = BUNDLE_INPUTS) -> str:
    digest = hashlib.sha256()
    for text in extra:
        digest.update(text.encode() + b"\0")
    for name in names:
        root = REPO / name
        files = sorted(p for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def outside_env() -> dict[str, str]:
    """The environment of a program that must see nothing of this checkout or its .venv."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != VENV_BIN]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, "PATH": os.pathsep.join(path), "NO_COLOR": "1"}


def run_outside(argv: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=outside_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(argv[:3])} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc


def installed_venv(wheel: Path) -> Path:
    """A venv of its own, dependencies from the pinned set, airgapctl from ``wheel`` (and nothing else)."""
    venv = BUNDLE_CACHE / f"venv-{inputs_digest(names=VENV_INPUTS)}"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(REPO / "constraints.txt")]
    if not (venv / "bin" / "airgapctl").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        run_outside([sys.executable, "-m", "venv", str(venv)], cwd=BUNDLE_CACHE)
        run_outside([*pip, str(wheel)], cwd=BUNDLE_CACHE)
    marker, wanted = venv / "airgapctl-wheel.sha256", sha256_file(wheel)
    if not marker.is_file() or marker.read_text() != wanted:
        run_outside([*pip, "--no-deps", "--force-reinstall", str(wheel)], cwd=BUNDLE_CACHE)
        marker.write_text(wanted)
    return venv


def shared_bundle(home: Path) -> SharedBundle:
    wheel = next((home / "dist").glob("airgapctl-*.whl"))
    keys = home / "keys"
    return SharedBundle(home / "bundle", keys / "bundle.pub", keys / "bundle.key", installed_venv(wheel), wheel,
                        home / "src", home / "build.json")  # fmt: skip


def build_from_wheel(home: Path) -> SharedBundle:
    """`airgapctl bundle build` run from the wheel's venv, in a folder outside the checkout, with explicit inputs."""
    from airgapctl.bundle_build.wheels import NOT_SOURCES, build_project_wheel
    from airgapctl.lab.image import base_dpkg_status

    shutil.copytree(REPO, home / "src", symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    build_project_wheel(home / "src", home / "dist")
    bundle = shared_bundle(home)
    wheel, venv = bundle.wheel, bundle.venv
    airgapctl = str(venv / "bin" / "airgapctl")
    with tempfile.TemporaryDirectory(prefix="airgapctl-test-bundle-") as scratch:
        work = Path(scratch)
        snapshot = home / "src" / BUNDLE_FILE.relative_to(REPO)  # its specs as the snapshot holds them
        spec = yaml.safe_load(snapshot.read_text())
        spec["specs"] = [str((snapshot.parent / p).resolve()) for p in spec.get("specs", [])]
        (work / "bundle.yml").write_text(yaml.safe_dump(spec))
        base_dpkg_status(work / "dpkg-status")
        run_outside([airgapctl, "bundle", "keygen", "--private", str(bundle.private_key),
                     "--public", str(bundle.public_key)], cwd=work)  # fmt: skip
        explicit = ["--baseline", "dpkg-status", "--airgapctl-wheel", str(wheel)]
        proc = run_outside([airgapctl, "bundle", "build", "bundle.yml", "--out", str(bundle.path), "--key",
                            str(bundle.private_key), "--cache-dir", str(BUNDLE_CACHE / "downloads"), *explicit,
                            "--json"], cwd=work)  # fmt: skip
    bundle.build_record.write_text(proc.stdout)
    return bundle


@pytest.fixture(scope="session")
def test_bundle(lab_image: str) -> SharedBundle:
    """One signed bundle for the whole run, built by airgapctl installed from a wheel of this checkout.

    Rebuilt only when its inputs change (bundle.yml, base image, sources); a lock lets two runs share it.
    """
    digest = inputs_digest(BUNDLE_FILE.read_text(), lab_image)
    home = BUNDLE_CACHE / digest
    BUNDLE_CACHE.mkdir(parents=True, exist_ok=True)
    with (BUNDLE_CACHE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / "bundle" / "manifest.json.sig").is_file() and (home / "build.json").is_file():
            return shared_bundle(home)
        shutil.rmtree(home, ignore_errors=True)
        (home / "keys").mkdir(parents=True)
        return build_from_wheel(home)
