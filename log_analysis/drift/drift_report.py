"""config_drift's findings from a drift report (``airgapctl drift --out``, ``audit run --drift``).

A check and diff run of the site playbook says, per host, which tasks would change what Ansible
manages there: one finding per host and task, severity medium, with the first lines of the diff.
What the run could not check (tasks check mode cannot run, hosts that failed or were unreachable)
becomes notes: the report's silence about them is not a clean bill.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airgapctl.errors import BadInputError
from log_analysis.context import AuditContext
from log_analysis.model import Finding, Severity, Subject

DIFF_LINES = 20  # of a change's diff, in its finding's evidence
SCHEMA = "drift"  # airgapctl/schemas/drift.schema.json


def load_drift_report(path: Path) -> dict[str, Any]:
    """The report in ``path``, checked against its schema; BadInputError naming the file otherwise."""
    what = f"--drift {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BadInputError(f"{what}: {error.strerror or error}") from None
    except ValueError as error:
        raise BadInputError(
            f"{what}: not a JSON document: {error}", hint="give the file airgapctl drift --out wrote"
        ) from None
    from airgapctl.schemas import check_document

    check_document(document, SCHEMA, what)
    return document


def drift_findings(ctx: AuditContext) -> list[Finding]:
    """One finding per host and task that would change (a task that changes several times on a host,
    as an included file run in a loop does, is one finding with its first diff)."""
    report = ctx.drift_report
    if report is None:
        return []
    _note_gaps(ctx, report)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for host, entry in sorted(report["hosts"].items()):
        for change in entry["changes"]:
            if (host, change["task"]) in seen:
                continue
            seen.add((host, change["task"]))
            diff = change["diff"].splitlines()
            findings.append(
                Finding(
                    detector="config_drift",
                    severity=Severity.MEDIUM,
                    subject=Subject(host=host),
                    start=ctx.window_start,
                    end=ctx.window_end,
                    score=float(max(len(diff), 1)),
                    message=f"host {host}: task {change['task']} would change",
                    evidence={
                        "source": "drift",
                        "host": host,
                        "task": change["task"],
                        "action": change["action"],
                        "diff": diff[:DIFF_LINES],
                        "diff_lines": len(diff),
                        "run_id": report["run_id"],
                        "checked_at": report["ended"] or report["started"],
                        "report": ctx.drift_file,
                    },
                )
            )
    return findings


def _note_gaps(ctx: AuditContext, report: dict[str, Any]) -> None:
    run = f"config_drift: drift run {report['run_id']}"
    if report["outcome"] != "ok":
        stopped = [*report.get("failed_hosts", []), *report.get("unreachable_hosts", [])]
        where = f" (failed or unreachable: {', '.join(stopped)})" if stopped else ""
        ctx.notes.append(f"{run} did not check every host to the end{where}")
    unchecked = {host: len(entry["not_checked"]) for host, entry in report["hosts"].items() if entry["not_checked"]}
    if unchecked:
        ctx.notes.append(
            f"{run} could not check {sum(unchecked.values())} task(s) in check mode on {len(unchecked)} host(s): "
            + ", ".join(f"{host} ({count})" for host, count in sorted(unchecked.items()))
        )
    if ctx.policy is None or ctx.gateway_config is None:
        why = "no policy" if ctx.policy is None else "no deployed configuration (--gateway-config)"
        ctx.notes.append(f"config_drift: the drift report was judged, the rendered configuration was not: {why}")
