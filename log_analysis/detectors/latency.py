"""latency: an operation's p95 latency in an hour far above its baseline p95.

Statistic: the hour's p95 from a log-scale histogram of proxied request times (bins 2^(1/4) wide,
about +-10 %), against the median of the operation's past hourly p95 values. An hour fires when
p95 >= ``ratio`` x baseline, p95 - baseline >= ``min_delta_seconds`` and the hour has
>= ``min_requests`` proxied requests. Consecutive hours make one finding.
"""

from __future__ import annotations

import statistics

from log_analysis.aggregates import HOUR
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"ratio": 3.0, "min_delta_seconds": 0.05, "min_requests": 20.0, "min_samples": 6.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    assert ctx.baseline is not None
    findings = []
    for operation, hours in sorted(ctx.operation_hours.items()):
        stats = ctx.baseline.operations.get(operation)
        if stats is None or len(stats.hourly_p95) < params["min_samples"]:
            continue
        usual = statistics.median(stats.hourly_p95)
        firing = {}
        for hour, slot in hours.items():
            p95 = slot.quantile(0.95)
            if p95 is None or sum(slot.latency.values()) < params["min_requests"]:
                continue
            if p95 >= params["ratio"] * usual and p95 - usual >= params["min_delta_seconds"]:
                firing[hour] = p95
        for group in runs(firing, HOUR):
            worst = max(firing[h] for h in group)
            findings.append(
                Finding(
                    detector="latency",
                    severity=Severity.HIGH if worst >= 10 * usual else Severity.MEDIUM,
                    subject=Subject(operation=operation),
                    start=group[0],
                    end=group[-1] + HOUR,
                    score=worst / usual if usual else worst,
                    message=f"{operation}: p95 latency {worst * 1000:.0f} ms, usually {usual * 1000:.0f} ms",
                    evidence={
                        "p95_seconds": round(worst, 4),
                        "baseline_p95_seconds": round(usual, 4),
                        "hours": len(group),
                    },
                )
            )
    return findings


DETECTOR = Detector(
    id="latency",
    severity=Severity.MEDIUM,
    description="An operation's p95 latency far above its baseline.",
    statistic="hourly p95 from a log-scale histogram against the median of past hourly p95s",
    parameters=PARAMETERS,
    needs_baseline=True,
    detect=detect,
)
