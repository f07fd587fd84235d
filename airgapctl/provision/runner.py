"""One provision run: the playbook through ansible-runner, its events reduced to safe records,
shown as progress, written to the run's record, and summed up per host."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from airgapctl.errors import EnvironmentProblem
from airgapctl.provision import safe_event
from airgapctl.provision.ansible_env import Vault, ansible_envvars
from airgapctl.provision.display import DRIFT_PREFIX, PREFIX, Display
from airgapctl.provision.record import RunRecord, start_run, utc_now
from airgapctl.provision.tally import Tally

OUTCOME_OK, OUTCOME_FAILED, OUTCOME_ERROR = "ok", "failed", "error"
ERRORS_KEPT = 10
# The callback that records what ansible-runner's events leave out of a check-mode run (drift).
CHECK_FACTS_CALLBACK = "airgap_check_facts"
CHECK_FACTS_FILE = "check_facts.jsonl"
CALLBACK_PLUGINS = Path(__file__).parent / "callback_plugins"


@dataclass(frozen=True)
class Request:
    inventory: Path
    playbook: Path
    runs_dir: Path
    vault: Vault
    limit: str | None = None
    tags: tuple[str, ...] = ()
    check: bool = False
    diff: bool = False
    serial: int | None = None
    # airgapctl drift: check and diff mode, each result's redacted diff and check-mode facts kept
    # (safe_event.drift_fields, safe_event.CHECK_FACTS).
    drift: bool = False
    # More variables for the playbook (airgapctl audit run --fleet: where the reports are fetched to).
    extravars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary:
    """What summary.json holds and --json prints."""

    run_id: str
    directory: str
    inventory: str
    playbook: str
    limit: str | None
    tags: list[str]
    check: bool
    diff: bool
    serial: int | None
    started: str
    drift: bool = False
    ended: str = ""
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)
    outcome: str = OUTCOME_ERROR
    failed_hosts: list[str] = field(default_factory=list)
    unreachable_hosts: list[str] = field(default_factory=list)
    runner: dict[str, Any] = field(default_factory=dict)
    # Ansible's own error lines (safe_event.ansible_error): why a run stopped before any host failed.
    ansible_errors: list[str] = field(default_factory=list)
    # The first failed tasks: host, task and what it said (never a no_log task's result).
    failures: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Each counter summed over the hosts."""
        totals = dict.fromkeys(safe_event.STAT_NAMES.values(), 0)
        for stats in self.hosts.values():
            for name, count in stats.items():
                totals[name] = totals.get(name, 0) + count
        return totals


def run(
    request: Request, stream: TextIO | None = None, observe: Callable[[dict[str, Any]], None] | None = None
) -> Summary:
    """Run the playbook and record it; progress on ``stream`` (stderr). ``observe`` gets each safe
    record as it is written (the check facts of a drift run after the playbook ended)."""
    import ansible_runner

    envvars = {**ansible_envvars(request.vault), "PATH": _path_with_ansible(), "ANSIBLE_NOCOLOR": "1"}
    record = start_run(request.runs_dir)
    if request.drift:
        envvars.update(_check_facts_envvars(record.runner_dir / CHECK_FACTS_FILE))
    summary = Summary(
        run_id=record.run_id, directory=str(record.directory), inventory=str(request.inventory),
        playbook=str(request.playbook), limit=request.limit, tags=list(request.tags), check=request.check,
        diff=request.diff, serial=request.serial, started=utc_now(), drift=request.drift,
    )  # fmt: skip
    display, tally = Display(stream or sys.stderr, DRIFT_PREFIX if request.drift else PREFIX), Tally()

    def keep(reduced: dict[str, Any]) -> None:
        record.add_event(reduced)
        if observe is not None:
            observe(reduced)

    def on_event(event: dict[str, Any]) -> bool:
        error = safe_event.ansible_error(event)
        if error is not None and len(summary.ansible_errors) < ERRORS_KEPT:
            summary.ansible_errors.append(error)
            display.line(f"ansible: {error}")
        reduced = safe_event.reduce(event, drift=request.drift)
        if reduced is not None:
            if "message" in reduced and len(summary.failures) < ERRORS_KEPT:
                summary.failures.append({k: reduced[k] for k in ("host", "task", "message")})
            keep(reduced)
            display.show(reduced, tally.add(reduced))
        return False  # ansible-runner keeps no job_events file of its own

    options: list[str] = (["--check"] if request.check else []) + (["--diff"] if request.diff else [])
    status: tuple[int | None, str] = (None, "interrupted")
    try:
        result = ansible_runner.run(
            private_data_dir=str(record.runner_dir),
            playbook=str(request.playbook),
            inventory=str(request.inventory),
            limit=request.limit,
            tags=",".join(request.tags) or None,
            cmdline=" ".join(options) or None,
            extravars=_extravars(request),
            envvars=envvars,
            # The run() keyword of this name is overridden by the settings in 2.4: given here.
            settings={"suppress_output_file": True},
            event_handler=on_event,
            quiet=True,
        )
        status = (result.rc, result.status)
    except (OSError, RuntimeError, ValueError) as error:
        status = (None, "error")
        raise EnvironmentProblem(f"ansible-runner could not run ansible-playbook: {error}") from None
    finally:
        # Written however the run ended (an interrupt too), so the record says how far it got.
        display.close()
        if request.drift:
            _keep_check_facts(record, keep)
        record.close()
        _conclude(summary, tally, *status)
        record.write_summary(_plain(summary))
    return summary


def _extravars(request: Request) -> dict[str, Any] | None:
    extravars = {**request.extravars}
    if request.serial is not None:
        extravars["airgap_serial"] = request.serial
    return extravars or None


def _check_facts_envvars(path: Path) -> dict[str, str]:
    """The check-facts callback enabled beside any the environment enables, writing to ``path``."""
    plugins = [os.environ.get("ANSIBLE_CALLBACK_PLUGINS", ""), str(CALLBACK_PLUGINS)]
    enabled = [os.environ.get("ANSIBLE_CALLBACKS_ENABLED", ""), CHECK_FACTS_CALLBACK]
    return {
        "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join(p for p in plugins if p),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join(e for e in enabled if e),
        "AIRGAPCTL_CHECK_FACTS": str(path),
    }


def _keep_check_facts(record: RunRecord, keep: Callable[[dict[str, Any]], None]) -> None:
    """The callback's lines as safe records, before runner/ (which holds its file) is removed; none
    when Ansible never loaded it (the drift report then goes by the events alone, and says so)."""
    try:
        lines = (record.runner_dir / CHECK_FACTS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            reduced = safe_event.reduce_check_facts(json.loads(line))
        except ValueError:  # a line cut short by an interrupt
            continue
        if reduced is not None:
            keep(reduced)


def _conclude(summary: Summary, tally: Tally, rc: int | None, status: str) -> None:
    summary.ended = utc_now()
    summary.runner = {"rc": rc, "status": status}
    summary.hosts = tally.final()
    summary.failed_hosts = sorted(h for h, s in summary.hosts.items() if s["failed"])
    summary.unreachable_hosts = sorted(h for h, s in summary.hosts.items() if s["unreachable"])
    if summary.failed_hosts or summary.unreachable_hosts:
        summary.outcome = OUTCOME_FAILED
    elif rc == 0 and status == "successful":
        summary.outcome = OUTCOME_OK


def _path_with_ansible() -> str:
    """PATH with this interpreter's scripts first when ansible-playbook is among them: airgapctl run
    from a virtual environment that is not activated still runs its own Ansible."""
    path = os.environ.get("PATH", os.defpath)
    scripts = Path(sys.executable).parent
    if (scripts / "ansible-playbook").is_file():
        path = os.pathsep.join([str(scripts), path])
    if shutil.which("ansible-playbook", path=path) is None:
        raise EnvironmentProblem(
            "ansible-playbook is not installed", hint="install airgapctl with its dependencies (ansible-core)"
        )
    return path


def _plain(summary: Summary) -> dict[str, Any]:
    from airgapctl.output import to_plain

    return to_plain(summary)
