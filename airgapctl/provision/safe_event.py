"""ansible-runner's events reduced to what may be shown and kept: names, hosts, flags, counts.

A runner event carries the task's arguments and result (``res``), which may hold secrets (a
``no_log`` task's are censored by Ansible, but a plain task's are not). Nothing here copies
either: only the fields named below, and for a result only its changed flag.
"""

from __future__ import annotations

import re
from typing import Any

# The per-host result events; Ansible's outcome is in the name (changed is the result's flag).
RESULTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
PLAY_START = "playbook_on_play_start"
TASK_START = "playbook_on_task_start"
STATS = "playbook_on_stats"
# The playbook_on_stats counters, under the names the record and the table use.
STAT_NAMES = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}
KEPT = {"playbook_on_start", "playbook_on_no_hosts_matched", "playbook_on_no_hosts_remaining", PLAY_START,
        TASK_START, STATS, *RESULTS}  # fmt: skip


def task_name(data: dict[str, Any]) -> str:
    """``role : task`` for a role's task, as Ansible shows it; the bare name otherwise."""
    name = str(data.get("task") or data.get("name") or "")
    role = data.get("role")
    return f"{role} : {name}" if role and not name.startswith(f"{role} :") else name


def is_no_log(data: dict[str, Any]) -> bool:
    res = data.get("res")
    return isinstance(res, dict) and (bool(res.get("_ansible_no_log")) or "censored" in res)


def reduce(event: dict[str, Any]) -> dict[str, Any] | None:
    """The safe record of one runner event, or None for events not kept (verbose output, item
    results, runner_on_start)."""
    kind = event.get("event")
    if kind not in KEPT:
        return None
    data = event.get("event_data") or {}
    record: dict[str, Any] = {"event": kind, "time": event.get("created")}
    if kind == PLAY_START:
        record["play"] = str(data.get("name") or data.get("play") or "")
    elif kind == TASK_START:
        record.update(play=str(data.get("play") or ""), task=task_name(data), action=_action(data))
    elif kind in RESULTS:
        res = data.get("res")
        record.update(
            host=str(data.get("host") or ""),
            task=task_name(data),
            action=_action(data),
            changed=isinstance(res, dict) and res.get("changed") is True,
            failed=kind == "runner_on_failed",
            ignored=kind == "runner_on_failed" and bool(data.get("ignore_errors")),
            no_log=is_no_log(data),
        )
    elif kind == STATS:
        record["hosts"] = stats_by_host(data)
    return record


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# Ansible's own error lines outside any task result (a role not found, a vault secret missing) and
# the file and line they point at; the quoted source lines after them are left out.
_ERROR_LINE = re.compile(r"(\[ERROR\]: |ERROR! |Origin: )")
ERROR_LINE_LIMIT = 300


def ansible_error(event: dict[str, Any]) -> str | None:
    """The error line of a ``verbose`` event (Ansible's output outside tasks), or None."""
    if event.get("event") != "verbose":
        return None
    line = _COLOUR.sub("", str(event.get("stdout") or "")).strip()
    return line[:ERROR_LINE_LIMIT] if _ERROR_LINE.match(line) else None


def stats_by_host(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """playbook_on_stats' counters per host: ``{host: {"ok": 3, "changed": 1, ...}}``."""
    hosts: dict[str, dict[str, int]] = {}
    for source, name in STAT_NAMES.items():
        for host, count in (data.get(source) or {}).items():
            hosts.setdefault(str(host), dict.fromkeys(STAT_NAMES.values(), 0))[name] = int(count)
    return hosts


def _action(data: dict[str, Any]) -> str:
    return str(data.get("resolved_action") or data.get("task_action") or "")
