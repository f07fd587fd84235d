"""Per-host counts of a run as its events arrive (from safe_event records, never raw events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airgapctl.provision import safe_event


@dataclass
class HostProgress:
    """What one host has done so far: results by kind and the task it is on (ok counts the changed
    results too, as Ansible's recap does)."""

    task: str = ""
    done: int = 0
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


@dataclass
class Tally:
    hosts: dict[str, HostProgress] = field(default_factory=dict)
    play: str = ""
    task: str = ""
    tasks_started: int = 0
    # playbook_on_stats' counters per host (safe_event.stats_by_host), once the playbook ended.
    stats: dict[str, dict[str, int]] | None = None

    def add(self, record: dict[str, Any]) -> HostProgress | None:
        """Count one safe record; the host's progress when it was a host's result."""
        kind = record["event"]
        if kind == safe_event.PLAY_START:
            self.play = record["play"]
        elif kind == safe_event.TASK_START:
            self.task = record["task"]
            self.tasks_started += 1
        elif kind == safe_event.STATS:
            self.stats = record["hosts"]
        elif kind in safe_event.RESULTS:
            host = self.hosts.setdefault(record["host"], HostProgress())
            host.task, host.done = record["task"], host.done + 1
            outcome = safe_event.RESULTS[kind]
            if outcome == "failed" and record["ignored"]:
                outcome = "ok"
            setattr(host, outcome, getattr(host, outcome) + 1)
            host.changed += record["changed"]
            return host
        return None

    def final(self) -> dict[str, dict[str, int]]:
        """Per-host totals: Ansible's own stats when the playbook got that far, else the counted
        results (a run stopped before its recap)."""
        if self.stats is not None:
            return self.stats
        return {
            name: {"ok": h.ok, "changed": h.changed, "failed": h.failed, "unreachable": h.unreachable,
                   "skipped": h.skipped, "rescued": 0, "ignored": 0}
            for name, h in self.hosts.items()
        }  # fmt: skip
