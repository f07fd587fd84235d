"""Refused requests per actor and hour: the paths a scanner tries, with or without a certificate.

Probing and auth_failures both read this. Requests refused before routing (no or a bad client
certificate, an unknown client) carry no identity, so they are counted per source address, beside
the unknown and refused paths of identified clients. A path the current policy declares does not
count among the refusals before routing: a client whose certificate expired keeps calling the
operations it always calls, a scanner tries paths nobody declared. Without a policy, paths are
told apart by their shape (identifiers folded).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from airgapctl.specs.routing import NON_CANONICAL, Router
from log_analysis.context import ADDRESS, CLIENT, AuditContext
from log_analysis.drift.routes import shape

Actor = tuple[str, str]  # ("client", name) or ("remote_addr", address)


@dataclass
class Attempts:
    """One actor's refused requests in one hour."""

    paths: set[str] = field(default_factory=set)  # "METHOD /path" tried, undeclared ones only
    requests: int = 0
    before_routing: int = 0  # refused as no_client_cert, bad_client_cert or unknown_client
    first: float = float("inf")
    last: float = 0.0
    addresses: set[str] = field(default_factory=set)


def refused_attempts(ctx: AuditContext) -> dict[Actor, dict[int, Attempts]]:
    """Actor -> hour -> its refused requests (computed once per run)."""
    if "refused_attempts" in ctx.shared:
        return ctx.shared["refused_attempts"]
    table: dict[Actor, dict[int, Attempts]] = defaultdict(dict)
    refused_early: dict[tuple[Actor, int], set[tuple[str, str]]] = defaultdict(set)
    for method, path, client, address, hour, _, *measures in ctx.data.unmatched:
        auth, probes, first, last = measures[6], measures[7], measures[-2], measures[-1]
        if not auth and not probes:
            continue
        actor = (CLIENT, client) if client else (ADDRESS, address)
        slot = table[actor].get(hour) or table[actor].setdefault(hour, Attempts())
        slot.requests += auth + probes
        slot.before_routing += auth
        slot.first, slot.last = min(slot.first, first), max(slot.last, last)
        slot.addresses.add(address)
        if probes:
            slot.paths.add(f"{method} {path}")
        if auth:
            refused_early[(actor, hour)].add((method, path))
    router = Router(ctx.policy) if ctx.policy else None
    for (actor, hour), tried in refused_early.items():
        paths = table[actor][hour].paths
        for method, path in tried:
            if router is None:
                paths.add(f"{method} {shape(path)}")
            elif NON_CANONICAL.search(path) or router.match(method, path)[0] is None:
                paths.add(f"{method} {path}")
    ctx.shared["refused_attempts"] = table
    return table


def scanning_hours(ctx: AuditContext, min_paths: float) -> dict[str, set[int]]:
    """Source address -> the hours in which it tried at least ``min_paths`` distinct undeclared paths."""
    hours: dict[str, set[int]] = defaultdict(set)
    for (kind, name), slots in refused_attempts(ctx).items():
        if kind == ADDRESS:
            hours[name].update(h for h, slot in slots.items() if len(slot.paths) >= min_paths)
    return hours
