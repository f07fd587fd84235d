"""The aggregates of the hour a run stopped in, kept for the next run.

A daily run stops in the middle of an hour (and of a five-minute window): its statistics saw only
the part of that hour logged before it started. The next run adds the rows kept here to what it
reads, so that its hourly and five-minute statistics, and bursts running over the boundary, are
judged on whole windows without reading the earlier lines again. The carried rows were learned by
the run that read them; the next run judges them again but does not learn them twice.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from log_analysis.aggregates import HOUR, MEASURES, AuditData
from log_analysis.model import Finding

# Rows keyed by time (actors, violations: window; operations, operation_clients, unmatched: hour) and
# the column holding it.
_TIMED = {"actors": 2, "operations": 1, "unmatched": 4, "operation_clients": 2, "violations": 2}


def tail_of(data: AuditData) -> dict[str, Any] | None:
    """The rows of the hour the last line used falls in, as JSON; None when no line was used."""
    if data.end is None:
        return None
    since = int(data.end) // HOUR * HOUR
    carried: dict[str, Any] = {"since": since, "end": data.end, "measures": list(MEASURES)}
    for name, column in _TIMED.items():
        carried[name] = [list(row) for row in getattr(data, name) if row[column] >= since]
    return carried


def with_carry(data: AuditData, carry: dict[str, Any] | None) -> tuple[AuditData, float | None]:
    """``data`` with the carried rows added, and where they start; unchanged when there is nothing to
    join (no carry, nothing read, the new lines start more than an hour after the carried ones, or the
    carried rows hold other measures or tables: kept by another version, that hour is judged on the
    new lines)."""
    if not carry or data.start is None or data.start > carry["end"] + HOUR:
        return data, None
    if carry.get("measures") != list(MEASURES) or any(name not in carry for name in _TIMED):
        return data, None
    rows = {name: [tuple(row) for row in carry[name]] for name in _TIMED}
    if not any(rows.values()):
        return data, None
    merged = replace(data, **{name: getattr(data, name) + rows[name] for name in _TIMED})
    merged.start = min(data.start, min(row[-2] for row in rows["actors"]) if rows["actors"] else data.start)
    return merged, float(carry["since"])


def fingerprint(finding: Finding) -> list[Any]:
    """What makes a finding the same one again: detector, severity, subject and window."""
    return [finding.detector, finding.severity.label, finding.subject.as_dict(), finding.start, finding.end]


def remember_reported(carried: dict[str, Any] | None, findings: list[Finding]) -> None:
    """Keep with the carried hour the findings this run reports that reach into it: the next run,
    judging that hour again, leaves out those it finds again unchanged."""
    if carried is not None:
        carried["reported"] = [fingerprint(f) for f in findings if f.end > carried["since"]]


def reported_before(
    findings: list[Finding], carry: dict[str, Any] | None, first_new: float
) -> tuple[list[Finding], list[Finding]]:
    """(new, reported before) of a run that judged carried rows: a finding the last run reported
    (same detector, severity, subject and window), whose window ends before the first line this
    run read, rests on rows both runs judged alike. Any other is new: one that reaches the new
    lines, one the last run did not report (no baseline then, other thresholds, another policy)."""
    known = {json.dumps(item, sort_keys=True) for item in (carry or {}).get("reported", [])}

    def repeated(finding: Finding) -> bool:
        return finding.end <= first_new and json.dumps(fingerprint(finding), sort_keys=True) in known

    return [f for f in findings if not repeated(f)], [f for f in findings if repeated(f)]
