"""off_hours: an actor (client, or address in logs without identities) active in a local hour of
day in which it has never been active.

Statistic: the baseline's per-client histogram of active hours of day. An hour of this run fires
when the client made >= ``min_requests`` requests in it and neither that hour of day nor the
``margin_hours`` around it was ever active in a baseline holding >= ``min_days`` active days of
the client. Consecutive firing hours make one finding.
"""

from __future__ import annotations

from log_analysis.aggregates import HOUR
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.model import Finding, Severity

PARAMETERS = {"min_requests": 10.0, "margin_hours": 1.0, "min_days": 3.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    assert ctx.baseline is not None
    margin = int(params["margin_hours"])
    findings = []
    for client, hours in sorted(ctx.actor_hours.items()):
        stats = ctx.baseline.clients.get(client)
        if stats is None or stats.active_days < params["min_days"]:
            continue
        firing = set()
        for hour, slot in hours.items():
            local = ctx.local_hour(hour)
            near = [stats.hours_active[(local + d) % 24] for d in range(-margin, margin + 1)]
            if slot.requests >= params["min_requests"] and not any(near):
                firing.add(hour)
        for group in runs(firing, HOUR):
            requests = sum(hours[h].requests for h in group)
            active = [h for h in range(24) if stats.hours_active[h]]
            findings.append(
                Finding(
                    detector="off_hours",
                    severity=Severity.MEDIUM,
                    subject=ctx.actor_subject(client),
                    start=group[0],
                    end=group[-1] + HOUR,
                    score=float(requests),
                    message=f"{client} made {requests} requests at {ctx.local_hour(group[0]):02d}:00 local time, "
                    f"outside every hour it was active before",
                    evidence={
                        "requests": requests,
                        "local_hours": [ctx.local_hour(h) for h in group],
                        "usual_hours": active,
                    },
                )
            )
    return findings


DETECTOR = Detector(
    id="off_hours",
    severity=Severity.MEDIUM,
    description="Activity in hours of the day the client has never been active.",
    statistic="baseline histogram of active local hours per client, with a margin",
    parameters=PARAMETERS,
    needs_baseline=True,
    detect=detect,
)
