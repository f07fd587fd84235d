"""role_drift: a client served an operation its roles in the current policy do not allow.

Statistic: per (client, operation), the requests the gateway let through (reason ok, deprecated or
upstream_error) where the client's roles in the current policy share none with the operation's
roles, or the client is not in the policy at all. The gateway was enforcing something else.
"""

from __future__ import annotations

from collections import defaultdict

from airgapctl.contracts import access_log
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_requests": 1.0}
_SERVED = access_log.ALLOWED


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    served: dict[tuple[str, str], list] = defaultdict(lambda: [0, float("inf"), 0.0, set()])
    for operation, client, policy_id, reason, n, *rest in ctx.data.routes:
        op = ctx.policy_operations.get(operation)
        if op is None or not client or reason not in _SERVED:
            continue
        if ctx.client_roles.get(client, set()) & set(op["roles"]):
            continue
        entry = served[(client, operation)]
        entry[0] += n
        entry[1], entry[2] = min(entry[1], rest[-2]), max(entry[2], rest[-1])
        entry[3].add(policy_id)
    findings = []
    for (client, operation), (requests, first, last, policy_ids) in sorted(served.items()):
        if requests < params["min_requests"]:
            continue
        roles = sorted(ctx.client_roles.get(client, set()))
        allowed = ctx.policy_operations[operation]["roles"]
        findings.append(
            Finding(
                detector="role_drift",
                severity=Severity.HIGH,
                subject=Subject(client=client, operation=operation),
                start=first,
                end=last + 1,
                score=float(requests),
                message=f"{client} (roles: {', '.join(roles) or 'none: not in the policy'}) was served {operation} "
                f"{requests} times; the policy allows only {', '.join(allowed)}",
                evidence={
                    "requests": requests,
                    "client_roles": roles,
                    "operation_roles": allowed,
                    "policy_ids": sorted(policy_ids),
                },
            )
        )
    return findings


DETECTOR = Detector(
    id="role_drift",
    severity=Severity.HIGH,
    description="A client served an operation its roles in the current policy do not allow.",
    statistic="served requests per (client, operation) checked against the policy's roles",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    needs_policy=True,
)
