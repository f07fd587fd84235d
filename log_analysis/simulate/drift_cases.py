"""Incidents of the drift detectors: the gateway or its traffic disagreeing with the current policy."""

from __future__ import annotations

from airgapctl.contracts.access_log import Reason
from log_analysis.simulate.events import Event, served
from log_analysis.simulate.incidents import OLD_POLICY_ID, Incident, SimContext, spread
from log_analysis.simulate.profiles import ClientProfile, SimOperation


def _any_client(ctx: SimContext, pick: int = 0) -> ClientProfile:
    candidates = [p for p in ctx.profiles if p.name not in ctx.dormant and p.kind == "service"] or [
        p for p in ctx.profiles if p.name not in ctx.dormant
    ]
    return candidates[pick % len(candidates)]


def shadow_route(ctx: SimContext) -> list[Incident]:
    client = _any_client(ctx, 1)
    prefix = ctx.operations[0].op["gateway_path"].split("/")[1]
    path, start, end, rng = f"/{prefix}/internal/debug", ctx.at(0, 9.0), ctx.at(0, 17.0), ctx.rng

    def extra(w: float) -> list[Event]:
        return [
            Event(t, client.addresses[0], client, "GET", path, "", Reason.OK, 200, 400, 5200, 0.02, ctx.policy_id)
            for t in spread(30, start, end, w, rng)
        ]

    note = "served although no operation matches (enforcement gap)"
    return [Incident("shadow_route", {"operation": f"GET {path}"}, start, end, note, extra)]


def zombie_route(ctx: SimContext) -> list[Incident]:
    deprecated = [s for s in ctx.operations if s.op["deprecated"]]
    if not deprecated:
        return []
    target = deprecated[0]
    allowed = [
        p for p in ctx.profiles if p.name not in ctx.dormant and set(p.roles.split(",")) & set(target.op["roles"])
    ]
    if not allowed:
        return []
    client, start, end, rng = allowed[0], ctx.at(0, 9.0), ctx.at(0, 17.0), ctx.rng

    def extra(w: float) -> list[Event]:
        return [_served(ctx, t, client, target) for t in spread(25, start, end, w, rng)]

    return [Incident("zombie_route", {"operation": target.id}, start, end, "deprecated operation still called", extra)]


def _served(ctx: SimContext, ts: float, client: ClientProfile, sim: SimOperation) -> Event:
    return served(ts, client, client.addresses[0], sim, ctx.rng, ctx.policy_id)


def orphan_route(ctx: SimContext) -> list[Incident]:
    callers = {s.id for p in ctx.profiles for s in p.operations}
    candidates = [s for s in ctx.live() if s.id in callers and s.id not in ctx.used_operations]
    if len(candidates) < 2:
        return []
    target = candidates[-1]
    ctx.used_operations.add(target.id)
    start, end = ctx.audit_start, ctx.audit_start + ctx.audit_days * 86400
    return [
        Incident(
            "orphan_route", {"operation": target.id}, start, end, "no longer called", suppressed_operation=target.id
        )
    ]


def role_drift(ctx: SimContext) -> list[Incident]:
    pairs = [
        (p, s) for p in ctx.profiles if p.name not in ctx.dormant for s in p.denied if s.id not in ctx.used_operations
    ]
    if not pairs:
        return []
    client, target = pairs[len(pairs) // 2]
    start, end, rng = ctx.at(1, 11.0), ctx.at(1, 12.0), ctx.rng

    def extra(w: float) -> list[Event]:
        return [_served(ctx, t, client, target) for t in spread(15, start, end, w, rng)]

    subject = {"client": client.name, "operation": target.id}
    return [Incident("role_drift", subject, start, end, "served an operation its roles do not allow", extra)]


def policy_mismatch(ctx: SimContext) -> list[Incident]:
    start, end = ctx.at(0, 0.0), ctx.at(0, 1.5)

    def old_policy(event: Event) -> None:
        event.policy_id = OLD_POLICY_ID

    return [
        Incident(
            "policy_mismatch",
            {},
            start,
            end,
            "gateway still ran the previous policy",
            change=old_policy,
            applies=lambda e: True,
        )
    ]


def config_drift(ctx: SimContext) -> list[Incident]:
    start, end = ctx.audit_start, ctx.audit_start + ctx.audit_days * 86400
    return [Incident("config_drift", {}, start, end, "deployed server.conf edited by hand", config_edit=True)]
