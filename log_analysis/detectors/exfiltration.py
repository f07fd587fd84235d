"""exfiltration: an actor (client, or address in logs without identities) receiving far more
response bytes in an hour than its baseline.

Statistic: median/MAD of the client's past hourly response bytes (active hours). An hour fires when
bytes >= median + ``z`` x max(1.4826 MAD, median / 2), bytes >= ``ratio`` x median, bytes >=
``min_bytes``, and the bytes per request are >= ``per_request_ratio`` x the baseline's: more data
per call, not just more calls (a flood of ordinary calls is rate_spike's). Consecutive hours make
one finding.
"""

from __future__ import annotations

from log_analysis.aggregates import HOUR
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, robust_score, runs
from log_analysis.model import Finding, Severity

PARAMETERS = {"z": 6.0, "ratio": 5.0, "per_request_ratio": 3.0, "min_bytes": 1_000_000.0, "min_samples": 6.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    assert ctx.baseline is not None
    findings = []
    for client, hours in sorted(ctx.actor_hours.items()):
        stats = ctx.baseline.clients.get(client)
        if stats is None or len(stats.hourly_bytes) < params["min_samples"]:
            continue
        per_request = sum(stats.hourly_bytes) / max(1, sum(stats.hourly_requests))
        samples = [float(b) for b in stats.hourly_bytes]
        firing = {}
        for hour, slot in hours.items():
            sent = slot.bytes_out
            if sent < params["min_bytes"] or not slot.requests:
                continue
            score, middle = robust_score(sent, samples, max(_half_median(samples), 1.0))
            bigger_answers = sent / slot.requests >= params["per_request_ratio"] * per_request
            if score >= params["z"] and sent >= params["ratio"] * max(middle, 1.0) and bigger_answers:
                firing[hour] = (score, sent, middle)
        findings.extend(_finding(ctx, client, firing, group, per_request) for group in runs(firing, HOUR))
    return findings


def _finding(
    ctx: AuditContext, client: str, firing: dict[int, tuple[float, int, float]], group: list[int], per_request: float
) -> Finding:
    sent = sum(firing[h][1] for h in group)
    middle = firing[group[0]][2]
    return Finding(
        detector="exfiltration",
        severity=Severity.HIGH,
        subject=ctx.actor_subject(client),
        start=group[0],
        end=group[-1] + HOUR,
        score=max(firing[h][0] for h in group),
        message=f"{client} received {sent / 1e6:.1f} MB in {len(group)} h, usually {middle / 1e6:.2f} MB/h",
        evidence={
            "bytes_out": sent,
            "baseline_median_per_hour": middle,
            "hours": len(group),
            "baseline_bytes_per_request": round(per_request),
        },
    )


def _half_median(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] / 2


DETECTOR = Detector(
    id="exfiltration",
    severity=Severity.HIGH,
    description="A client's response bytes far above its baseline.",
    statistic="median/MAD of hourly response bytes per client, and bytes per request against the baseline",
    parameters=PARAMETERS,
    needs_baseline=True,
    detect=detect,
)
