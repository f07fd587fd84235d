"""The numbers behind the report's charts: computed here so that the report writers only format."""

from __future__ import annotations

from collections import Counter
from typing import Any

from airgapctl.contracts import access_log
from log_analysis.aggregates import AUTH_REASONS, HOUR, WINDOW
from log_analysis.context import AuditContext
from log_analysis.model import iso

MAX_POINTS = 400  # traffic chart resolution
TOP = 10


def overview(ctx: AuditContext) -> dict[str, Any]:
    return {
        "traffic": _traffic(ctx),
        "top_clients": _top_clients(ctx),
        "decisions": _decisions(ctx),
        "operation_errors": _operation_errors(ctx),
    }


def _traffic(ctx: AuditContext) -> dict[str, Any]:
    """Requests and refusals per time step (5 min, or coarser for long windows)."""
    span = len(ctx.span_windows)
    step = WINDOW if span <= MAX_POINTS else HOUR * max(1, -(-span * WINDOW // (MAX_POINTS * HOUR)))
    requests: Counter = Counter()
    refused: Counter = Counter()
    for _, _, win, n, *rest in ctx.data.actors:
        bucket = win // step * step
        requests[bucket] += n
        refused[bucket] += rest[7]
    points = [[iso(t), requests[t], refused[t]] for t in sorted(requests)]
    return {"step_seconds": step, "columns": ["start", "requests", "refused"], "points": points}


def _top_clients(ctx: AuditContext) -> list[dict[str, Any]]:
    totals: Counter = Counter()
    for client, windows in ctx.actor_windows.items():
        totals[client] = sum(slot.requests for slot in windows.values())
    anonymous = sum(slot.requests for windows in ctx.anonymous_windows.values() for slot in windows.values())
    rows = [{"client": name, "requests": n} for name, n in totals.most_common(TOP)]
    if anonymous:
        rows.append({"client": "(no identity)", "requests": anonymous})
    return rows


def _decisions(ctx: AuditContext) -> list[dict[str, Any]]:
    reasons: Counter = Counter()
    for _, _, _, reason, n, *_ in ctx.data.routes:
        reasons[reason or "(none)"] += n
    return [
        {"reason": r, "requests": n, "decision": access_log.decision(r), "auth": r in AUTH_REASONS}
        for r, n in reasons.most_common()
    ]


def _operation_errors(ctx: AuditContext) -> list[dict[str, Any]]:
    rows = []
    for operation, hours in ctx.operation_hours.items():
        requests = sum(slot.requests for slot in hours.values())
        errors = sum(slot.server_errors for slot in hours.values())
        rows.append(
            {
                "operation": operation,
                "requests": requests,
                "server_errors": errors,
                "share": round(errors / requests, 4) if requests else 0.0,
            }
        )
    return sorted(rows, key=lambda r: (-r["share"], -r["requests"], r["operation"]))[:20]
