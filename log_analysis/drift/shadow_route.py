"""shadow_route: requests to paths no operation of the current policy declares.

Two sources: requests the gateway logged with no operation whose (method, path) the current policy
does not match either (Router), folded into path shapes; and requests logged with an operation id
the current policy does not have, under the current policy id. Critical when any was answered 2xx
(an enforcement gap); otherwise a route counts only when in demand: >= ``min_clients`` clients
and >= ``min_requests`` requests (a scanner's one-off paths are probing's).
"""

from __future__ import annotations

from collections import defaultdict

from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.drift.routes import UndeclaredRoute, undeclared_routes
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_clients": 3.0, "min_requests": 30.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    def demanded(route: UndeclaredRoute) -> bool:
        return len(route.clients) >= params["min_clients"] and route.requests >= params["min_requests"]

    findings = []
    for route in undeclared_routes(ctx, lambda route: route.served > 0 or demanded(route)):
        name = f"{route.method} {route.shape}"
        evidence = {"clients": sorted(route.clients)[:10], "paths": sorted(route.paths)}
        findings.append(_finding(name, route.requests, route.served, route.first, route.last, evidence))
    for operation, (requests, served, first, last, clients) in sorted(_unknown_operations(ctx).items()):
        findings.append(
            _finding(
                operation,
                requests,
                served,
                first,
                last,
                {"clients": sorted(clients)[:10], "note": "operation id not in the current policy"},
            )
        )
    return findings


def _unknown_operations(ctx: AuditContext) -> dict[str, tuple]:
    current, known = ctx.policy["policy_id"], ctx.policy_operations
    table: dict[str, list] = defaultdict(lambda: [0, 0, float("inf"), 0.0, set()])
    for operation, client, policy_id, _, n, _, n2xx, *rest in ctx.data.routes:
        if operation and operation not in known and policy_id == current:
            entry = table[operation]
            entry[0] += n
            entry[1] += n2xx
            entry[2], entry[3] = min(entry[2], rest[-2]), max(entry[3], rest[-1])
            if client:
                entry[4].add(client)
    return {k: tuple(v) for k, v in table.items()}


def _finding(name: str, requests: int, served: int, first: float, last: float, evidence: dict) -> Finding:
    what = f"{served} of {requests} requests were served" if served else f"{requests} requests were refused"
    return Finding(
        detector="shadow_route",
        severity=Severity.CRITICAL if served else Severity.LOW,
        subject=Subject(operation=name),
        start=first,
        end=last + 1,
        score=float(served or requests),
        message=f"{name} is declared by no operation of the current policy; {what}",
        evidence={"requests": requests, "served": served, **evidence},
    )


DETECTOR = Detector(
    id="shadow_route",
    severity=Severity.LOW,
    description="Requests to paths no operation of the policy matches; critical if any got a 2xx.",
    statistic="distinct (method, path) classified with the policy's router, folded into path shapes",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
)
