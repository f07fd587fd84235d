"""zombie_route: deprecated (or sunset) operations still in use.

Statistic: the requests logged per operation that the current policy marks deprecated. Medium once
the sunset date has passed (or when they were served although its action is deny), low before.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from airgapctl.contracts import access_log
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_requests": 1.0}
_SERVED = access_log.ALLOWED


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    usage: dict[str, dict] = defaultdict(
        lambda: {"requests": 0, "served": 0, "first": float("inf"), "last": 0.0, "clients": set()}
    )
    for operation, client, _, reason, n, *rest in ctx.data.routes:
        op = ctx.policy_operations.get(operation)
        if op is None or not op["deprecated"]:
            continue
        entry = usage[operation]
        entry["requests"] += n
        entry["served"] += n if reason in _SERVED else 0
        entry["first"], entry["last"] = min(entry["first"], rest[-2]), max(entry["last"], rest[-1])
        if client:
            entry["clients"].add(client)
    return [
        _finding(ctx, operation, entry)
        for operation, entry in sorted(usage.items())
        if entry["requests"] >= params["min_requests"]
    ]


def _finding(ctx: AuditContext, operation: str, entry: dict) -> Finding:
    op = ctx.policy_operations[operation]
    sunset = op["sunset"]
    audit_day = dt.datetime.fromtimestamp(ctx.window_end, dt.UTC).date()
    past_sunset = sunset is not None and dt.date.fromisoformat(sunset) <= audit_day
    served_despite_deny = op["deprecation_action"] == "deny" and entry["served"]
    severity = Severity.MEDIUM if past_sunset or served_despite_deny else Severity.LOW
    when = f", sunset {sunset}" if sunset else ""
    return Finding(
        detector="zombie_route",
        severity=severity,
        subject=Subject(operation=operation),
        start=entry["first"],
        end=entry["last"] + 1,
        score=float(entry["requests"]),
        message=f"deprecated operation {operation}{when} was called {entry['requests']} times "
        f"by {len(entry['clients'])} client(s)",
        evidence={
            "requests": entry["requests"],
            "served": entry["served"],
            "sunset": sunset,
            "deprecation_action": op["deprecation_action"],
            "clients": sorted(entry["clients"])[:10],
        },
    )


DETECTOR = Detector(
    id="zombie_route",
    severity=Severity.LOW,
    description="Deprecated or sunset operations still in use.",
    statistic="requests per deprecated operation of the current policy",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    needs_policy=True,
)
