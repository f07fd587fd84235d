"""rate_spike: an actor's (client's, or address's in logs without identities) request rate in a
five-minute window far above its own baseline for that local hour of day.

Statistic: median and MAD of the client's past five-minute counts in the same local hour of day
and the same kind of day (working day or weekend; silent windows count as zero).
score = (count - median) / scale, scale = max(1.4826 MAD, sqrt(median + (0.25 median)^2), 1):
the floor is the spread of Poisson counts whose rate wobbles by 25 %, so that a steady history
(MAD 0) does not make every small change infinite. A window fires when score >= ``z``,
count >= ``ratio`` x max(median, 1) and count >= ``min_requests``. Only calls that passed the
rate limiter count (probes, auth failures, calls outside the client's roles and 429s belong to other
detectors), and only hours in which the client has been active before (else: off_hours).
Consecutive firing windows make one finding.
"""

from __future__ import annotations

import statistics

from log_analysis.aggregates import WINDOW
from log_analysis.context import AuditContext
from log_analysis.detectors.base import MAD_SCALE, Detector, Parameters, median_and_mad, runs
from log_analysis.model import Finding, Severity

PARAMETERS = {"z": 8.0, "ratio": 4.0, "min_requests": 20.0, "min_samples": 12.0}
RATE_WOBBLE = 0.25


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    assert ctx.baseline is not None
    findings = []
    for client, windows in ctx.actor_windows.items():
        stats = ctx.baseline.clients.get(client)
        if stats is None:
            continue
        firing: dict[int, tuple[float, int, float]] = {}
        usual: dict[int, tuple[float, float] | None] = {}  # day slot -> (median, scale), computed once
        for window, slot in windows.items():
            count = slot.rate_requests
            if count < params["min_requests"]:
                continue
            day_slot = ctx.day_slot(window)
            if day_slot not in usual:
                usual[day_slot] = _usual(stats.rate_samples[day_slot], params)
            if usual[day_slot] is None:
                continue
            middle, scale = usual[day_slot]
            score = (count - middle) / scale
            if score >= params["z"] and count >= params["ratio"] * max(middle, 1.0):
                firing[window] = (score, count, middle)
        findings.extend(_finding(ctx, client, firing, group) for group in runs(firing, WINDOW))
    return findings


def _usual(samples: list[int], params: Parameters) -> tuple[float, float] | None:
    """(median, scale) of a day slot's counts; None when too few or never active."""
    if len(samples) < params["min_samples"] or not any(samples):
        return None
    middle, mad = median_and_mad(samples)
    return middle, max(MAD_SCALE * mad, count_floor(samples))


def count_floor(samples: list[int]) -> float:
    """The natural spread of a count around its median: Poisson noise plus a wobbling rate."""
    middle = statistics.median(samples)
    return max((middle + (RATE_WOBBLE * middle) ** 2) ** 0.5, 1.0)


def _finding(ctx: AuditContext, client: str, firing: dict[int, tuple[float, int, float]], group: list[int]) -> Finding:
    peak = max(group, key=lambda w: firing[w][0])
    score, count, middle = firing[peak]
    ratio = count / max(middle, 1.0)
    return Finding(
        detector="rate_spike",
        severity=Severity.HIGH if ratio >= 10 else Severity.MEDIUM,
        subject=ctx.actor_subject(client),
        start=group[0],
        end=group[-1] + WINDOW,
        score=score,
        message=f"{client} made {count} requests in 5 minutes, {ratio:.0f}x its usual {middle:g} for that hour",
        evidence={
            "peak_requests_per_5min": count,
            "baseline_median": middle,
            "windows": len(group),
            "requests": sum(firing[w][1] for w in group),
        },
    )


DETECTOR = Detector(
    id="rate_spike",
    severity=Severity.MEDIUM,
    description="A client's request rate far above its own baseline for that hour of day.",
    statistic="median/MAD of past 5-minute counts per client, local hour of day and kind of day",
    parameters=PARAMETERS,
    needs_baseline=True,
    detect=detect,
)
