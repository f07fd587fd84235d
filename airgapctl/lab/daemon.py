"""Start (and stop) a Docker daemon with no bridge and no iptables changes.

Lab instances are network-less and Ansible reaches them through ``docker exec``, so the
daemon needs no networking of its own. A daemon that is already running is used as it is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from airgapctl.errors import EnvironmentProblem
from airgapctl.lab.commands import require_program, run

STATE_DIR = Path(os.environ.get("AIRGAPCTL_LAB_STATE", "/var/lib/airgapctl-lab"))
PID_FILE = STATE_DIR / "dockerd.pid"
LOG_FILE = STATE_DIR / "dockerd.log"
DAEMON_ARGS = ["--bridge=none", "--iptables=false"]
START_TIMEOUT_S = 60.0


@dataclass
class DaemonResult:
    running: bool
    started: bool  # True when this call started it
    pid: int | None
    version: str | None


def daemon_version() -> str | None:
    """The server version when a daemon answers on the default socket, else None."""
    proc = run([require_program("docker", "docker.io"), "version", "--format", "{{.Server.Version}}"], check=False)
    version = proc.stdout.strip()
    return version if proc.returncode == 0 and version else None


def _our_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return None
    return pid if cmdline.endswith(b"dockerd") else None


def ensure_daemon() -> DaemonResult:
    """Use the running daemon, or start one and wait until it answers."""
    version = daemon_version()
    if version:
        return DaemonResult(True, False, _our_pid(), version)
    dockerd = require_program("dockerd", "docker.io")
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    with LOG_FILE.open("ab") as log:
        proc = subprocess.Popen(
            [dockerd, *DAEMON_ARGS],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives this command: the lab keeps running
        )
    PID_FILE.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EnvironmentProblem(
                f"dockerd exited with code {proc.returncode} while starting",
                hint=f"read {LOG_FILE}; {_log_tail()}",
            )
        version = daemon_version()
        if version:
            return DaemonResult(True, True, proc.pid, version)
        time.sleep(0.5)
    raise EnvironmentProblem(f"dockerd did not answer within {START_TIMEOUT_S:.0f} s", hint=f"read {LOG_FILE}")


def stop_daemon() -> DaemonResult:
    """Stop the daemon only if airgapctl started it (by its own pid); others are left alone."""
    pid = _our_pid()
    if pid is None:
        return DaemonResult(daemon_version() is not None, False, None, None)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)
    PID_FILE.unlink(missing_ok=True)
    return DaemonResult(False, False, pid, None)


def _log_tail() -> str:
    try:
        lines = LOG_FILE.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "empty log"
