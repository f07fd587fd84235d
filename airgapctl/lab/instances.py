"""Lab appliance instances: named, labelled, network-less containers with systemd as PID 1."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field

from airgapctl.errors import BadInputError, EnvironmentProblem
from airgapctl.lab.commands import docker, require_program
from airgapctl.lab.daemon import ensure_daemon
from airgapctl.lab.image import ensure_image

LABEL = "org.airgapctl.lab"
CONTAINER_PREFIX = "airgap-lab-"
DEFAULT_NAME = "appliance"
BOOT_TIMEOUT_S = 90.0

# The container options proven to boot systemd with no network and without --privileged.
# Named as Molecule's Docker driver names them: .config/molecule/config.yml must agree
# (tests/unit/test_lab_runtime.py holds the two together).
RUNTIME = {
    "network_mode": "none",
    "command": "/lib/systemd/systemd",
    "cgroupns_mode": "host",
    "volumes": ["/sys/fs/cgroup:/sys/fs/cgroup:ro"],
    "tmpfs": ["/run", "/run/lock"],
    "capabilities": ["SYS_ADMIN"],
    # systemd halts cleanly on SIGRTMIN+3; on SIGTERM it would re-execute itself.
    "stop_signal": "SIGRTMIN+3",
}


@dataclass
class Instance:
    name: str
    container: str
    state: str
    systemd: str
    network_mode: str
    interfaces: list[str] = field(default_factory=list)
    image: str = ""


@dataclass
class UpResult:
    instance: Instance
    changed: bool
    image: str
    image_built: bool
    daemon_started: bool


def container_name(name: str) -> str:
    # The name is also the instance's host name, so it must be a DNS label.
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?", name):
        raise BadInputError(
            f"invalid lab instance name {name!r}",
            hint="use lower-case letters, digits and '-' (a DNS label of at most 40 characters)",
        )
    return CONTAINER_PREFIX + name


def run_argv(name: str, image: str) -> list[str]:
    """``docker run`` arguments for an instance, built from RUNTIME."""
    argv = ["run", "--detach", "--name", container_name(name), "--hostname", name, "--label", f"{LABEL}={name}"]
    argv += ["--network", RUNTIME["network_mode"], "--cgroupns", RUNTIME["cgroupns_mode"]]
    argv += ["--stop-signal", RUNTIME["stop_signal"]]
    for volume in RUNTIME["volumes"]:
        argv += ["--volume", volume]
    for tmpfs in RUNTIME["tmpfs"]:
        argv += ["--tmpfs", tmpfs]
    for cap in RUNTIME["capabilities"]:
        argv += ["--cap-add", cap]
    return [*argv, image, RUNTIME["command"]]


def _inspect(container: str) -> dict | None:
    proc = docker("container", "inspect", container, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0]


def _systemd_state(container: str) -> str:
    proc = docker("exec", container, "systemctl", "is-system-running", check=False)
    return proc.stdout.strip() or "unknown"


def _interfaces(container: str) -> list[str]:
    proc = docker("exec", container, "ls", "/sys/class/net", check=False)
    return sorted(proc.stdout.split()) if proc.returncode == 0 else []


def _describe(name: str, info: dict) -> Instance:
    container = info["Name"].lstrip("/")
    running = info["State"]["Running"]
    return Instance(
        name=name,
        container=container,
        state=info["State"]["Status"],
        systemd=_systemd_state(container) if running else "-",
        network_mode=info["HostConfig"]["NetworkMode"],
        interfaces=_interfaces(container) if running else [],
        image=info["Config"]["Image"],
    )


def _wait_for_boot(container: str) -> str:
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    state = "unknown"
    while time.monotonic() < deadline:
        state = _systemd_state(container)
        if state in ("running", "degraded"):
            return state
        time.sleep(0.5)
    raise EnvironmentProblem(
        f"systemd in {container} did not finish booting within {BOOT_TIMEOUT_S:.0f} s (state: {state})",
        hint=f"docker logs {container}",
    )


def up(name: str = DEFAULT_NAME) -> UpResult:
    """Start the named instance (daemon and image first, when missing); idempotent."""
    container = container_name(name)
    daemon = ensure_daemon()
    image = ensure_image()
    info = _inspect(container)
    changed = False
    if info is not None and info["Config"]["Image"] != image.tag:
        raise BadInputError(
            f"lab instance {name} runs image {info['Config']['Image']}, not the current {image.tag}",
            hint=f"airgapctl lab down {name}, then airgapctl lab up {name}",
        )
    if info is None:
        docker(*run_argv(name, image.tag))
        changed = True
    elif not info["State"]["Running"]:
        docker("start", container)
        changed = True
    _wait_for_boot(container)
    described = _describe(name, _inspect(container) or {})
    return UpResult(described, changed, image.tag, image.built, daemon.started)


def down(name: str = DEFAULT_NAME) -> bool:
    """Remove the named instance; True when there was one to remove."""
    container = container_name(name)
    if _inspect(container) is None:
        return False
    docker("rm", "--force", "--volumes", container)
    return True


def instance_status() -> list[Instance]:
    """Every lab instance on this host, running or not."""
    proc = docker("ps", "--all", "--filter", f"label={LABEL}", "--format", "{{.Names}}", check=False)
    if proc.returncode != 0:
        raise EnvironmentProblem("the Docker daemon does not answer", hint="airgapctl lab up starts it")
    instances = []
    for container in sorted(proc.stdout.split()):
        info = _inspect(container)
        if info is not None:
            instances.append(_describe(info["Config"]["Labels"].get(LABEL, container), info))
    return instances


def shell_argv(name: str = DEFAULT_NAME) -> list[str]:
    """The argv that opens an interactive login shell in a running instance."""
    container = container_name(name)
    info = _inspect(container)
    if info is None or not info["State"]["Running"]:
        raise BadInputError(f"lab instance {name} is not running", hint=f"airgapctl lab up {name}")
    return [require_program("docker", "docker.io"), "exec", "--interactive", "--tty", container, "/bin/bash", "--login"]


def exec_shell(name: str = DEFAULT_NAME) -> None:
    """Replace this process with an interactive shell in the instance (it owns the terminal)."""
    argv = shell_argv(name)
    os.execv(argv[0], argv)  # noqa: S606 - argv list from shell_argv, no shell involved
