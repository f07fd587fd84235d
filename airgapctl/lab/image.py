"""Build the lab base image with debootstrap and ``docker import``: no registry involved.

The tag carries a digest of the recipe, so changing the recipe builds a new image while
an unchanged one is reused (about 40 s the first time, instant after).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from airgapctl.errors import EnvironmentProblem
from airgapctl.lab.apt_sources import debian_mirror
from airgapctl.lab.commands import docker, require_program
from airgapctl.lab.daemon import STATE_DIR

SUITE = "bookworm"
VARIANT = "minbase"
# python3 so Ansible can run; systemd + dbus so services and timers are real.
PACKAGES = ("python3", "systemd", "systemd-sysv", "dbus")
# Units that have no hardware to serve in a container and would leave systemd "degraded".
MASKED_UNITS = (
    "getty.target",
    "console-getty.service",
    "systemd-udevd.service",
    "systemd-udev-trigger.service",
    "systemd-modules-load.service",
    "systemd-remount-fs.service",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "dev-hugepages.mount",
)
IMAGE_REPOSITORY = "airgapctl/lab-bookworm"
# Molecule's platforms name this alias; ensure_image() keeps it on the current recipe.
CURRENT_ALIAS = f"{IMAGE_REPOSITORY}:current"
IMAGE_LABEL = "org.airgapctl.lab-image"


def recipe_digest() -> str:
    recipe = {"suite": SUITE, "variant": VARIANT, "packages": PACKAGES, "masked": MASKED_UNITS, "rev": 1}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def image_tag() -> str:
    return f"{IMAGE_REPOSITORY}:{recipe_digest()}"


@dataclass
class ImageResult:
    tag: str
    built: bool
    seconds: float
    mirror: str | None = None


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def ensure_image() -> ImageResult:
    """Return the lab image, building it first if this recipe has never been built here."""
    tag = image_tag()
    if image_exists(tag):
        result = ImageResult(tag, False, 0.0)
    else:
        STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (STATE_DIR / "image.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent build waits, then finds the image
            result = ImageResult(tag, False, 0.0) if image_exists(tag) else _build(tag)
    docker("tag", tag, CURRENT_ALIAS)
    return result


def _build(tag: str) -> ImageResult:
    debootstrap = require_program("debootstrap", "debootstrap")
    mirror = debian_mirror(SUITE)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="airgapctl-image-", dir="/var/tmp"))
    root = workdir / "root"
    log = workdir / "debootstrap.log"
    try:
        with log.open("wb") as out:
            proc = subprocess.run(
                [debootstrap, f"--variant={VARIANT}", f"--include={','.join(PACKAGES)}", SUITE, str(root), mirror],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if proc.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise EnvironmentProblem(
                f"debootstrap of {SUITE} from {mirror} failed: {' | '.join(tail)}",
                hint="check that this host's apt sources reach a Debian mirror (apt-get update)",
            )
        _prepare_root(root)
        _import(root, tag)
    finally:
        _remove_tree(workdir)
    return ImageResult(tag, True, time.monotonic() - started, mirror)


def _prepare_root(root: Path) -> None:
    """Mask units with nothing to do in a container and drop caches the image does not need."""
    wants = root / "etc/systemd/system"
    wants.mkdir(parents=True, exist_ok=True)
    for unit in MASKED_UNITS:
        link = wants / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (root / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    # systemd generates a machine id at first boot when the file is empty.
    (root / "etc/machine-id").write_text("")


def _import(root: Path, tag: str) -> None:
    docker_bin = require_program("docker", "docker.io")
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    changes = [
        "ENV container=docker",
        'CMD ["/lib/systemd/systemd"]',
        f"LABEL {IMAGE_LABEL}={recipe_digest()}",
    ]
    argv = [docker_bin, "import"]
    for change in changes:
        argv += ["--change", change]
    imported = subprocess.run([*argv, "-", tag], stdin=tar.stdout, capture_output=True, text=True, check=False)
    assert tar.stdout is not None
    tar.stdout.close()
    tar.wait()
    if tar.returncode != 0 or imported.returncode != 0:
        raise EnvironmentProblem(f"docker import of {tag} failed: {imported.stderr.strip() or 'tar failed'}")


def _remove_tree(path: Path) -> None:
    """Remove the build tree, refusing if anything is still mounted inside it."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    inside = sorted((m for m in mounts if m.startswith(str(path) + "/")), reverse=True)
    for mount in inside:
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    if any(m.startswith(str(path) + "/") for m in mounts):
        raise EnvironmentProblem(f"{path} still has mounts; not removing it", hint=f"umount them, then rm -r {path}")
    shutil.rmtree(path, ignore_errors=True)


def base_dpkg_status(dest: Path) -> Path:
    """The lab image's dpkg status: the baseline a bundle's apt closure is computed against."""
    tag = ensure_image().tag
    proc = docker("run", "--rm", "--network", "none", tag, "cat", "/var/lib/dpkg/status")
    dest.write_text(proc.stdout)
    return dest
