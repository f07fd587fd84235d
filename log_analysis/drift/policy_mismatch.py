"""policy_mismatch: log lines carrying a policy id other than the current policy's.

Statistic: requests per logged policy id. One finding per foreign id: high when its lines are the
latest in the window (the gateway still runs it), medium when the current policy took over later.
Lines with no policy id (combined logs) are not judged.
"""

from __future__ import annotations

from collections import defaultdict

from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_requests": 1.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    current = ctx.policy["policy_id"]
    seen: dict[str, list[float]] = defaultdict(lambda: [0, float("inf"), 0.0])
    for _, _, policy_id, _, n, *rest in ctx.data.routes:
        entry = seen[policy_id]
        entry[0] += n
        entry[1], entry[2] = min(entry[1], rest[-2]), max(entry[2], rest[-1])
    current_last = seen[current][2] if current in seen else 0.0
    findings = []
    for policy_id, (requests, first, last) in sorted(seen.items()):
        if policy_id in ("", current) or requests < params["min_requests"]:
            continue
        still_running = last >= current_last
        findings.append(
            Finding(
                detector="policy_mismatch",
                severity=Severity.HIGH if still_running else Severity.MEDIUM,
                subject=Subject(),
                start=first,
                end=last + 1,
                score=float(requests),
                message=f"{int(requests)} requests were logged under policy {policy_id[:19]}…, not the current "
                f"{current[:19]}…" + ("; the gateway still runs it" if still_running else ""),
                evidence={"policy_id": policy_id, "current_policy_id": current, "requests": int(requests)},
            )
        )
    return findings


DETECTOR = Detector(
    id="policy_mismatch",
    severity=Severity.MEDIUM,
    description="Log lines carrying a policy id other than the current policy's.",
    statistic="requests per logged policy id",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    needs_policy=True,
)
