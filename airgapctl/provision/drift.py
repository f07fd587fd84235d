"""airgapctl drift: what the site playbook would change on each host, from a check-and-diff run.

The playbook runs through the provision runner in check and diff mode (``Request(drift=True)``),
and the report is built from the run's safe records alone (safe_event.drift_fields and
safe_event.CHECK_FACTS), never from an event's result: per host, the tasks that would change, each
with its diff (redacted: safe_event.diff_text), and the tasks that could not be checked, each with
why. Tasks that run for real during a check (``check_mode: false``: the roles' private scratch
areas) are neither: they change nothing a site manages.

The report's format is airgapctl/schemas/drift.schema.json; ``airgapctl audit run --drift`` reads it.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from airgapctl.errors import EnvironmentProblem
from airgapctl.provision import runner, safe_event
from airgapctl.provision.ansible_env import Vault

FORMAT = 1
SCHEMA = "drift"
NO_FACTS_NOTE = (
    "the check-facts callback recorded nothing (Ansible did not load it): tasks that run outside "
    "check mode may be listed as changes, and only skipped command, shell, script and raw tasks "
    "are known as not checked"
)


@dataclass
class HostDrift:
    # {"task", "action", "diff"}: a task that would change, its unified diff or a hidden marker.
    changes: list[dict[str, str]] = field(default_factory=list)
    # {"task", "action", "reason"}: a task check mode could not check (a safe_event phrase).
    not_checked: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Report:
    """What ``drift --json`` prints and ``--out`` writes."""

    format: int
    run_id: str
    directory: str
    inventory: str
    playbook: str
    limit: str | None
    tags: list[str]
    started: str
    ended: str
    outcome: str  # the run's: runner.OUTCOME_OK, _FAILED (a host failed or unreachable), _ERROR
    drift: bool  # some host would change
    hosts: dict[str, HostDrift]
    failed_hosts: list[str]
    unreachable_hosts: list[str]
    ansible_errors: list[str]
    check_facts: bool  # the check-facts callback's records were there to read
    notes: list[str] = field(default_factory=list)

    def changes(self) -> int:
        return sum(len(h.changes) for h in self.hosts.values())

    def not_checked(self) -> int:
        return sum(len(h.not_checked) for h in self.hosts.values())


def check(
    inventory: Path,
    playbook: Path,
    runs_dir: Path,
    vault: Vault,
    limit: str | None = None,
    tags: tuple[str, ...] = (),
    stream: TextIO | None = None,
) -> Report:
    """Run ``playbook`` against ``inventory`` in check and diff mode and report what would change."""
    request = runner.Request(
        inventory=inventory, playbook=playbook, runs_dir=runs_dir, vault=vault, limit=limit, tags=tags,
        check=True, diff=True, drift=True,
    )  # fmt: skip
    records: list[dict[str, Any]] = []
    summary = runner.run(request, stream, observe=records.append)
    return build_report(summary, records)


def build_report(summary: runner.Summary, records: Iterable[dict[str, Any]]) -> Report:
    """The report of a drift run from its summary and its safe records, in the order written."""
    records = list(records)
    facts: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
    for record in records:
        if record["event"] == safe_event.CHECK_FACTS:
            facts[(record["task_uuid"], record["host"])].append(record)
    recorded = bool(facts)
    hosts: dict[str, HostDrift] = {name: HostDrift() for name in sorted(summary.hosts)}
    for record in records:
        kind = record["event"]
        if kind not in safe_event.RESULTS or kind == "runner_on_unreachable":
            continue
        host = hosts.setdefault(record["host"], HostDrift())
        # A callback line is written for each result right after the event's, in the same order.
        pending = facts.get((record.get("task_uuid", ""), record["host"]))
        fact = pending.popleft() if pending else None
        check_mode = fact["check_mode"] if fact is not None else True
        changed = fact["changed"] if fact is not None else record["changed"]
        task = {"task": record["task"], "action": record["action"]}
        if kind == "runner_on_ok" and check_mode and changed:
            host.changes.append({**task, "diff": record.get("diff") or ""})
        if kind == "runner_on_skipped" and fact is not None:
            reason = fact["not_checked"]
        elif kind == "runner_on_failed" or check_mode:
            reason = record.get("not_checked")
        else:
            reason = None
        if reason:
            host.not_checked.append({**task, "reason": reason})
    notes = [] if recorded or not any(r["event"] in safe_event.RESULTS for r in records) else [NO_FACTS_NOTE]
    return Report(
        format=FORMAT, run_id=summary.run_id, directory=summary.directory, inventory=summary.inventory,
        playbook=summary.playbook, limit=summary.limit, tags=list(summary.tags), started=summary.started,
        ended=summary.ended, outcome=summary.outcome, drift=any(h.changes for h in hosts.values()),
        hosts=dict(sorted(hosts.items())), failed_hosts=list(summary.failed_hosts),
        unreachable_hosts=list(summary.unreachable_hosts), ansible_errors=list(summary.ansible_errors),
        check_facts=recorded, notes=notes,
    )  # fmt: skip


def plain(report: Report) -> dict[str, Any]:
    from airgapctl.output import to_plain

    return to_plain(report)


def write_report(report: Report, path: Path) -> Path:
    """``path`` (0600: the diffs are the managed files' contents), written whole or not at all."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(plain(report), out, indent=2, sort_keys=True)
            out.write("\n")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise EnvironmentProblem(f"cannot write the drift report {path}: {error.strerror or error}") from None
    return path
