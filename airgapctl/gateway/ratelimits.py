"""limit_req zones for the policy's rate limits, grouped so that one zone carries one rate.

NGINX gives a zone one rate and a limit_req one burst, but the key may be any variable and an empty
key means "not limited". So for every (kind, rate, burst) there is one zone whose key variable holds
the client identity (or client and operation) when that limit applies to the request, else "".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# One state is about 128 bytes plus the key; NGINX wants at least a few pages per zone.
_STATE_BYTES = 256
_MIN_ZONE_MB = 1
_MAX_ZONE_MB = 64


def _limit_key(rate_limit: dict[str, int] | None) -> tuple[int, int] | None:
    return None if rate_limit is None else (rate_limit["per_second"], rate_limit["burst"])


def _zone(kind: str, limit: tuple[int, int], members: list[Any], keys: int) -> dict[str, Any]:
    per_second, burst = limit
    suffix = f"{kind}_{per_second}r_{burst}b"
    size_mb = min(_MAX_ZONE_MB, max(_MIN_ZONE_MB, -(-keys * _STATE_BYTES // (1024 * 1024))))
    return {
        "kind": kind,
        "zone": f"gw_rl_{suffix}",
        "key": f"gw_rlk_{suffix}",
        "per_second": per_second,
        "burst": burst,
        "size": f"{size_mb}m",
        "members": members,
    }


def rate_zones(policy: dict[str, Any], op_index: dict[str, int]) -> list[dict[str, Any]]:
    """Zones in a fixed order: per client, per role (held by the client), per client and operation.

    ``members`` lists client names for the first two kinds and operation indexes for the third.
    """
    clients_by_limit: dict[tuple[int, int], list[str]] = defaultdict(list)
    for client in policy["clients"]:
        if (limit := _limit_key(client["rate_limit"])) is not None:
            clients_by_limit[limit].append(client["name"])

    role_limits = {role["name"]: _limit_key(role["rate_limit"]) for role in policy["roles"]}
    role_clients_by_limit: dict[tuple[int, int], list[str]] = defaultdict(list)
    for client in policy["clients"]:
        # Several held roles with the same rate share one counter: the client gets that rate once.
        for limit in sorted({role_limits[r] for r in client["roles"] if role_limits.get(r) is not None}):
            role_clients_by_limit[limit].append(client["name"])

    ops_by_limit: dict[tuple[int, int], list[int]] = defaultdict(list)
    for operation in policy["operations"]:
        if (limit := _limit_key(operation["rate_limit"])) is not None:
            ops_by_limit[limit].append(op_index[operation["id"]])

    client_count = max(1, len(policy["clients"]))
    zones = [_zone("client", limit, names, len(names)) for limit, names in sorted(clients_by_limit.items())]
    zones += [_zone("role", limit, names, len(names)) for limit, names in sorted(role_clients_by_limit.items())]
    zones += [_zone("op", limit, ops, len(ops) * client_count) for limit, ops in sorted(ops_by_limit.items())]
    return zones
