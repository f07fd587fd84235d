"""Whether every target host answers, asked through Ansible itself (ansible -m ping), as the play will connect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from airgapctl.provision.problems import Problem, first_line, shown

CONNECT_TIMEOUT = 5
# Above Ansible's own connection timeout: many hosts are pinged in parallel (forks), a few rounds at most.
RUN_TIMEOUT = 120


def ansible_command() -> str | None:
    """The ``ansible`` beside this Python (the virtual environment's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ansible"
    return str(beside) if beside.is_file() else shutil.which("ansible")


def _toolkit_config() -> Path | None:
    from airgapctl.bundle_build.inputs import PACKAGED_TOOLKIT

    config = PACKAGED_TOOLKIT / "ansible.cfg"
    return config if config.is_file() else None


def check_reach(
    inventory: Path,
    hosts: list[str],
    vault_args: list[str],
    timeout: int = CONNECT_TIMEOUT,
) -> list[Problem]:
    """Ping ``hosts``; one problem per host that is unreachable or whose ping fails."""
    if not hosts:
        return []
    command = ansible_command()
    if command is None:
        return [Problem("ansible is not installed", "reachability", "install ansible-core beside airgapctl")]
    with tempfile.TemporaryDirectory(prefix="airgapctl-preflight-") as scratch:
        # Ansible's temporary and control-socket directories in a scratch place removed afterwards.
        env = {
            **os.environ,
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
            "ANSIBLE_LOCAL_TEMP": os.path.join(scratch, "local"),
            "ANSIBLE_REMOTE_TEMP": os.path.join(scratch, "remote"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(scratch, "cp"),
            "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": os.path.join(scratch, "pc"),
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "1",
        }
        config = _toolkit_config()
        if config is not None:  # the ansible.cfg provision runs the playbook with
            env["ANSIBLE_CONFIG"] = str(config)
        argv = [command, ":".join(hosts), "-i", str(inventory), "-m", "ansible.builtin.ping", "-T", str(timeout)]
        try:
            done = subprocess.run(
                argv + vault_args, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return [
                Problem(f"ansible -m ping did not finish within {RUN_TIMEOUT} s", shown(inventory), "check the hosts")
            ]
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        detail = first_line(done.stderr) or first_line(done.stdout) or f"exit {done.returncode}"
        return [Problem(f"ansible -m ping failed: {detail}", shown(inventory), "run it by hand to see why")]
    results: dict[str, dict] = {}
    for play in document.get("plays", []):
        for task in play.get("tasks", []):
            results.update(task.get("hosts", {}))
    problems = []
    for host in hosts:
        result = results.get(host)
        if result is None:
            problems.append(
                Problem(
                    "ansible did not reach it", f"{shown(inventory)}: host {host}", "check its connection variables"
                )
            )
        elif result.get("unreachable"):
            message = first_line(result.get("msg", "")).removeprefix("Task failed: ")
            problems.append(
                Problem(
                    f"unreachable: {message}",
                    f"{shown(inventory)}: host {host}",
                    "check ansible_host, ansible_port and the path to it",
                )
            )
        elif result.get("failed") or result.get("ping") != "pong":
            message = first_line(result.get("msg", "")).removeprefix("Task failed: ")
            problems.append(
                Problem(
                    f"ping failed: {message}", f"{shown(inventory)}: host {host}", "check its Python and login user"
                )
            )
    return problems
