"""error_ratio: an operation's 5xx share, or a client's own 4xx share, far above its baseline, per hour.

Statistic: a one-sided binomial test against the baseline share p0 (smoothed towards ``prior_share``
with ``prior_weight`` requests): z = (errors - n p0) / sqrt(n p0 (1 - p0)). An hour fires when
z >= ``z``, the share >= max(``ratio`` x p0, p0 + ``min_delta``), n >= ``min_requests`` and
errors >= ``min_errors``.
Operations are judged by server errors (status >= 500: the upstream failing); clients by the 4xx
they cause themselves (auth failures, probing, 429s, calls outside their roles and requests refused
for breaking their spec are left to their own detectors).
Consecutive firing hours make one finding.
"""

from __future__ import annotations

from log_analysis.aggregates import HOUR
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, binomial_z, runs
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {
    "z": 5.0,
    "ratio": 3.0,
    "min_delta": 0.05,
    "min_requests": 50.0,
    "min_errors": 10.0,
    "prior_share": 0.01,
    "prior_weight": 200.0,
}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    assert ctx.baseline is not None
    findings = []
    for operation, hours in sorted(ctx.operation_hours.items()):
        stats = ctx.baseline.operations.get(operation)
        p0 = _share(stats.server_errors if stats else 0.0, stats.requests if stats else 0.0, params)
        counts = {h: (slot.server_errors, slot.requests) for h, slot in hours.items()}
        findings.extend(_judge(Subject(operation=operation), "server errors", counts, p0, params))
    for client, hours in sorted(ctx.actor_hours.items()):
        stats = ctx.baseline.clients.get(client)
        if stats is None:
            continue
        p0 = _share(stats.client_errors, stats.requests, params)
        counts = {h: (slot.client_errors, slot.error_base) for h, slot in hours.items()}
        findings.extend(_judge(ctx.actor_subject(client), "client errors (4xx)", counts, p0, params))
    return findings


def _share(errors: float, requests: float, params: Parameters) -> float:
    return (errors + params["prior_share"] * params["prior_weight"]) / (requests + params["prior_weight"])


def _judge(
    subject: Subject, what: str, counts: dict[int, tuple[int, int]], p0: float, params: Parameters
) -> list[Finding]:
    firing = {}
    for hour, (errors, total) in counts.items():
        if total < params["min_requests"] or errors < params["min_errors"]:
            continue
        share = errors / total
        z = binomial_z(errors, total, p0)
        if z >= params["z"] and share >= max(params["ratio"] * p0, p0 + params["min_delta"]):
            firing[hour] = (z, errors, total)
    findings = []
    for group in runs(firing, HOUR):
        errors, total = sum(firing[h][1] for h in group), sum(firing[h][2] for h in group)
        share = errors / total
        name = subject.operation or subject.client or subject.remote_addr
        findings.append(
            Finding(
                detector="error_ratio",
                severity=Severity.HIGH if share >= 0.5 else Severity.MEDIUM,
                subject=subject,
                start=group[0],
                end=group[-1] + HOUR,
                score=max(firing[h][0] for h in group),
                message=f"{name}: {share:.0%} {what} ({errors} of {total}) against a usual {p0:.2%}",
                evidence={
                    "errors": errors,
                    "requests": total,
                    "share": round(share, 4),
                    "baseline_share": round(p0, 5),
                    "kind": what,
                },
            )
        )
    return findings


DETECTOR = Detector(
    id="error_ratio",
    severity=Severity.MEDIUM,
    description="An operation's 5xx share or a client's own 4xx share far above its baseline.",
    statistic="one-sided binomial z-test per hour against the smoothed baseline share",
    parameters=PARAMETERS,
    needs_baseline=True,
    detect=detect,
)
