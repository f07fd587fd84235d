"""Paths the gateway matched to no operation, classified once per distinct (method, path) against
the current policy (airgapctl.specs.routing.Router), and folded into route shapes."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from airgapctl.specs.routing import NON_CANONICAL, Router
from log_analysis.context import CLIENT, AuditContext

# Segments that are identifiers rather than names: numbers, UUIDs, long hex, dates.
_IDENTIFIER = re.compile(r"^(?:-?\d+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,}|\d{4}-\d{2}-\d{2})$")


def shape(path: str) -> str:
    """/pets/123/photo -> /pets/{id}/photo: one route per shape, not per identifier."""
    return "/".join("{id}" if _IDENTIFIER.match(segment) else segment for segment in path.split("/"))


def declared_prefixes(policy: dict) -> set[tuple[str, ...]]:
    """Every leading run of literal segments of the policy's gateway paths: ("pets",), ("pets", "pets") ..."""
    prefixes = set()
    for op in policy["operations"]:
        literal = []
        for segment in op["gateway_path"].split("/")[1:]:
            if "{" in segment:
                break
            literal.append(segment)
            prefixes.add(tuple(literal))
    return prefixes


def route_prefix(route_shape: str, declared: set[tuple[str, ...]]) -> str:
    """Where an undeclared route leaves what the policy declares: its longest declared prefix and one
    more segment (/pets/internal for /pets/internal/debug when /pets is declared), so that routes
    sharing that prefix share a cause."""
    segments = route_shape.split("/")[1:]
    depth = max((k for k in range(1, len(segments) + 1) if tuple(segments[:k]) in declared), default=0)
    return "/" + "/".join(segments[: depth + 1])


@dataclass
class UndeclaredRoute:
    """Requests to one (method, path shape) that no operation of the current policy matches."""

    method: str
    shape: str
    requests: int = 0
    served: int = 0  # answered 2xx: the gateway let them through
    enforced_served: int = 0  # of those, logged with a policy id: by a gateway that enforced a policy
    first: float = float("inf")
    last: float = 0.0
    clients: set[str] = field(default_factory=set)  # or source addresses, in logs without identities
    paths: set[str] = field(default_factory=set)


def undeclared_routes(
    ctx: AuditContext, worth_checking: Callable[[UndeclaredRoute], bool], max_paths_per_route: int = 10
) -> list[UndeclaredRoute]:
    """Unmatched requests, folded into (method, shape), whose paths the current policy does not declare.

    Only shapes ``worth_checking`` (cheap counts first) have their paths run through the router: a
    busy site has thousands of one-off typos that no rule could ever report.
    """
    routes: dict[tuple[str, str], UndeclaredRoute] = {}
    paths: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_address = ctx.identity_key != CLIENT  # logs without identities: demand is counted in addresses
    for method, path, client, address, _, enforced, n, _, n2xx, _, _, _, auth, *rest in ctx.data.unmatched:
        n -= auth  # refused before routing: such a request says nothing about routes
        if n <= 0:
            continue
        key = (method, shape(path))
        route = routes.get(key) or routes.setdefault(key, UndeclaredRoute(*key))
        route.requests += n
        route.served += n2xx
        route.enforced_served += n2xx if enforced else 0
        route.first, route.last = min(route.first, rest[-2]), max(route.last, rest[-1])
        actor = address if by_address else client
        if actor:
            route.clients.add(actor)
        paths[key].add(path)
    router = Router(ctx.policy)
    found = []
    for key, route in routes.items():
        if not worth_checking(route):
            continue
        # A non-canonical path matches no operation by definition: the gateway must refuse it.
        undeclared = sorted(p for p in paths[key] if NON_CANONICAL.search(p) or router.match(key[0], p)[0] is None)
        if undeclared:
            route.paths = set(undeclared[:max_paths_per_route])
            found.append(route)
    return sorted(found, key=lambda r: (-r.served, -r.requests, r.method, r.shape))
