"""shadow_route: requests to paths no operation of the current policy declares.

Two sources: requests the gateway logged with no operation whose (method, path) the current policy
does not match either (Router), folded into path shapes; and requests logged with an operation id
the current policy does not have, under the current policy id. Severity follows enforcement: a
route answered 2xx in lines that carry a policy id is critical (the gateway enforced a policy and
still served it: an enforcement gap); answered 2xx by a server that logged no policy id (a combined
log of a server being migrated) it is an inventory finding (info: a route the policy would have to
declare). Otherwise a route counts only when in demand: >= ``min_clients`` clients and
>= ``min_requests`` requests (a scanner's one-off paths are probing's). Requests refused before
routing say nothing about routes and are left out. Routes sharing where they leave the declared
paths (their longest declared prefix and one more segment) are folded into one finding.
"""

from __future__ import annotations

from collections import defaultdict

from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.drift.routes import UndeclaredRoute, declared_prefixes, route_prefix, undeclared_routes
from log_analysis.grouping import fold, group_finding
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_clients": 3.0, "min_requests": 30.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    def demanded(route: UndeclaredRoute) -> bool:
        return len(route.clients) >= params["min_clients"] and route.requests >= params["min_requests"]

    assert ctx.policy is not None
    declared = declared_prefixes(ctx.policy)
    findings = []
    for route in undeclared_routes(ctx, lambda route: route.served > 0 or demanded(route)):
        name = f"{route.method} {route.shape}"
        evidence = {
            "clients": sorted(route.clients)[:10],
            "paths": sorted(route.paths),
            "prefix": route_prefix(route.shape, declared),
        }
        findings.append(
            _finding(name, route.requests, route.served, route.enforced_served, route.first, route.last, evidence)
        )
    for operation, (requests, served, first, last, clients) in sorted(_unknown_operations(ctx).items()):
        evidence = {"clients": sorted(clients)[:10], "note": "operation id not in the current policy"}
        findings.append(_finding(operation, requests, served, served, first, last, evidence))
    return findings


def _unknown_operations(ctx: AuditContext) -> dict[str, tuple]:
    assert ctx.policy is not None
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


def _finding(
    name: str, requests: int, served: int, enforced: int, first: float, last: float, evidence: dict
) -> Finding:
    if enforced:
        severity, what = Severity.CRITICAL, f"{served} of {requests} requests were served under an enforced policy"
    elif served:
        severity = Severity.INFO
        what = (
            f"{served} of {requests} requests were served by a server that enforced no policy "
            "(inventory: declare the route or retire it)"
        )
    else:
        severity, what = Severity.LOW, f"{requests} requests were refused"
    return Finding(
        detector="shadow_route",
        severity=severity,
        subject=Subject(operation=name),
        start=first,
        end=last + 1,
        score=float(served or requests),
        message=f"{name} is declared by no operation of the current policy; {what}",
        evidence={"requests": requests, "served": served, "enforced": bool(enforced), **evidence},
    )


def _group(findings: list[Finding]) -> list[Finding]:
    def make(prefix: str, members: list[Finding]) -> Finding:
        requests = sum(f.evidence["requests"] for f in members)
        served = sum(f.evidence["served"] for f in members)
        enforced = any(f.evidence["enforced"] for f in members)
        methods = sorted({f.subject.operation.split(" ", 1)[0] for f in members})
        clients = sorted({c for f in members for c in f.evidence["clients"]})
        how = (
            "served under an enforced policy"
            if enforced
            else "served by a server that enforced no policy (inventory)"
            if served
            else "refused"
        )
        return group_finding(
            "shadow_route",
            Subject(operation=f"{prefix}/**"),
            members,
            f"{len(members)} undeclared routes under {prefix}/: {requests:,} requests, {served:,} {how}",
            {
                "prefix": prefix,
                "routes": len(members),
                "requests": requests,
                "served": served,
                "enforced": enforced,
                "methods": methods,
                "clients": clients[:10],
            },
        )

    return fold(findings, lambda f: f.evidence.get("prefix"), make)


DETECTOR = Detector(
    id="shadow_route",
    severity=Severity.LOW,
    description="Requests to paths no operation of the policy matches; critical if served under an enforced policy.",
    statistic="distinct (method, path) classified with the policy's router, folded into path shapes and prefixes",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    needs_policy=True,
    group=_group,
)
