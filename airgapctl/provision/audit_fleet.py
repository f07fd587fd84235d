"""airgapctl audit run --fleet: every gateway appliance audits its own logs, the site report merges them.

playbooks/audit_fleet.yml runs through the provision runner, all gateways at once: each starts
its audit service (the audit_schedule role's) and the reports it wrote are fetched into a
directory of this run's own, ``<report dir>/.incoming-<time>-<id>/hosts/<host>/latest.<format>``,
so a report left by an earlier run is never taken for this one's. They are then filed as
``<report dir>/hosts/<host>/audit-<time>.<format>`` (``latest.<format>`` links to the newest)
and merged into the site report ``<report dir>/fleet-<time>.<format>``
(log_analysis.reports.fleet; ``fleet-latest.<format>`` links to the newest).
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from airgapctl.errors import AirgapError
from airgapctl.provision import runner
from airgapctl.provision.ansible_env import Vault, toolkit_dir
from airgapctl.provision.record import default_runs_dir
from log_analysis.reports import fleet
from log_analysis.reports.retention import link_latest

FETCH_VAR = "airgap_fleet_dir"  # the playbook's extra variable: where the reports are fetched to
HOSTS = "hosts"
INCOMING = ".incoming-"


def default_playbook() -> Path:
    return toolkit_dir() / "playbooks" / "audit_fleet.yml"


def default_report_dir() -> Path:
    """Beside provision's runs directory: /var/lib/airgap/fleet as root, else the user's
    $XDG_STATE_HOME/airgapctl/fleet."""
    return default_runs_dir().parent / "fleet"


@dataclass
class FleetRun:
    """A fleet audit's Ansible run, the site report and the files written."""

    summary: runner.Summary
    document: dict[str, Any] | None = None  # None: ansible-playbook stopped before any host ran
    written: list[Path] = field(default_factory=list)


def run_fleet(
    inventory: Path,
    playbook: Path,
    report_dir: Path,
    runs_dir: Path,
    vault: Vault,
    limit: str | None = None,
    stream: TextIO | None = None,
) -> FleetRun:
    """Run the playbook, file what it fetched and write the site report (progress on ``stream``)."""
    incoming = _incoming_dir(report_dir)
    messages: dict[str, str] = {}

    def observe(record: dict[str, Any]) -> None:
        # The first failure of each host: the summary keeps only the run's first few.
        if record.get("message") and record.get("host"):
            messages.setdefault(record["host"], record["message"])

    try:
        request = runner.Request(
            inventory=inventory, playbook=playbook, runs_dir=runs_dir, vault=vault, limit=limit,
            extravars={FETCH_VAR: str(incoming)},
        )  # fmt: skip
        summary = runner.run(request, stream=stream, observe=observe)
        fetched = {p.name: p for p in (incoming / HOSTS).iterdir() if p.is_dir()} if (incoming / HOSTS).is_dir() else {}
        names = sorted(set(summary.hosts) | set(fetched))
        if not names:
            return FleetRun(summary)
        stamp = fleet.stamp_of(summary.started)
        audits = [
            fleet.HostAudit(
                host=name, ran=_ran(summary, name), message=messages.get(name),
                reports=_file_reports(fetched[name], report_dir / HOSTS / name, stamp) if name in fetched else {},
            )
            for name in names
        ]  # fmt: skip
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    document = fleet.build_fleet_report(
        audits, base=report_dir, inventory=str(inventory), limit=limit, run_id=summary.run_id
    )
    return FleetRun(summary, document, fleet.write_fleet_reports(document, report_dir))


def _incoming_dir(report_dir: Path) -> Path:
    try:
        report_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        incoming = report_dir / f"{INCOMING}{secrets.token_hex(4)}"
        incoming.mkdir(mode=0o700)
    except OSError as error:
        raise AirgapError(
            f"cannot use the report directory {report_dir}: {error.strerror or error}",
            hint="give a writable --report-dir",
        ) from error
    return incoming


def _ran(summary: runner.Summary, host: str) -> str:
    if host in summary.unreachable_hosts:
        return fleet.RAN_UNREACHABLE
    if host in summary.failed_hosts or host not in summary.hosts:
        return fleet.RAN_FAILED
    return fleet.RAN_OK


def _file_reports(fetched: Path, directory: Path, stamp: str) -> dict[str, Path]:
    """Move one host's fetched ``latest.<format>`` files to ``audit-<stamp>.<format>`` in its
    directory and link its ``latest.<format>`` to them; returns them by format."""
    filed: dict[str, Path] = {}
    try:
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        for name in fleet.FORMATS:
            source = fetched / f"latest.{name}"
            if source.is_file() and not source.is_symlink():
                target = directory / f"audit-{stamp}.{name}"
                os.replace(source, target)
                os.chmod(target, 0o640)
                filed[name] = target
    except OSError as error:
        raise AirgapError(
            f"cannot keep the reports fetched into {directory}: {error.strerror or error}",
            hint="give a writable --report-dir",
        ) from error
    link_latest(directory, list(filed.values()))
    return filed
