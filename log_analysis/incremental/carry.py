"""The aggregates of the hour a run stopped in, kept for the next run.

A daily run stops in the middle of an hour (and of a five-minute window): its statistics saw only
the part of that hour logged before it started. The next run adds the rows kept here to what it
reads, so that its hourly and five-minute statistics, and bursts running over the boundary, are
judged on whole windows without reading the earlier lines again. The carried rows were learned by
the run that read them; the next run judges them again but does not learn them twice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from log_analysis.aggregates import HOUR, MEASURES, AuditData
from log_analysis.model import Finding

# Rows keyed by time (actors: window; operations: hour; unmatched: hour) and the column holding it.
_TIMED = {"actors": 2, "operations": 1, "unmatched": 4}


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
    carried rows hold other measures: kept by another version, that hour is judged on the new lines)."""
    if not carry or data.start is None or data.start > carry["end"] + HOUR:
        return data, None
    if carry.get("measures") != list(MEASURES):
        return data, None
    rows = {name: [tuple(row) for row in carry[name]] for name in _TIMED}
    if not any(rows.values()):
        return data, None
    merged = replace(data, **{name: getattr(data, name) + rows[name] for name in _TIMED})
    merged.start = min(data.start, min(row[-2] for row in rows["actors"]) if rows["actors"] else data.start)
    return merged, float(carry["since"])


def reported_before(findings: list[Finding], first_new: float) -> tuple[list[Finding], list[Finding]]:
    """(new, reported before) of a run that judged carried rows: a finding whose window ends before
    the first line this run read rests on carried rows alone, which the previous run judged the
    same way and reported. One whose window reaches the new lines is kept (with its whole window)."""
    new = [finding for finding in findings if finding.end > first_new]
    return new, [finding for finding in findings if finding.end <= first_new]
