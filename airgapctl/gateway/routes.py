"""Route dispatch: which operations' regexes a request tries, picked by the literal segments of its path.

NGINX tries a map's regexes in order, so one list per method would make a request pay for every
operation declared before its own. Instead an exact-match map on a request's first path segments
picks a bucket, and a bucket holds, in policy order, every operation that could match a path that
lands in it (and possibly some that cannot). The first match within the bucket is therefore the
first match in policy order over the whole policy, and a request tries its neighbours only.

Keys: ``/s1/.../sd``, a path's first d segments (d up to DISPATCH_DEPTH), ASCII lower case as NGINX
compares exact map keys. A path lands on its deepest key that some operation claims (no key: the
default bucket). An operation whose regex starts with m whole literal segments claims its key at
depth min(m, DISPATCH_DEPTH); with fewer than DISPATCH_DEPTH it also belongs to every deeper key that
starts with its literal text, and one without a whole segment belongs to the default bucket too.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any

from airgapctl.gateway.patterns import literal_prefix

# How many leading path segments the exact-match maps look at.
DISPATCH_DEPTH = 3
# Keys are packed into buckets of at most this many operations (one key's own operations may be
# more): fewer maps and variables in NGINX, a bounded number of regexes per request.
BUCKET_OPERATIONS = 16
DEFAULT_BUCKET = 0
# What a key segment may hold: NGINX configuration text needing no quoting thought.
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9._~!*'(),:@=+&-]*")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """NGINX's case folding for exact map keys: ASCII letters only."""
    return text.translate(_LOWER)


def key_pattern(depth: int) -> str:
    """The regex whose first group is a path's first ``depth`` segments (no match: fewer segments)."""
    return "^(" + "/[^/]*" * depth + ")"


def _claims(pattern: str) -> tuple[int, str | None, str | None]:
    """(depth, own key or None, literal text for deeper keys or None) of one route pattern."""
    literal = literal_prefix(pattern)
    whole = []
    for segment in literal.split("/")[1:-1] if literal.startswith("/") else []:
        if not _KEY_SEGMENT.fullmatch(segment):
            break  # claimed at a shallower key, which is as sound
        whole.append(segment)
    depth = min(len(whole), DISPATCH_DEPTH)
    own = ascii_lower("/" + "/".join(whole[:depth])) if depth else None
    deeper = ascii_lower(literal) if len(whole) < DISPATCH_DEPTH else None
    return depth, own, deeper


def route_dispatch(operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Buckets of operation indexes (policy order) and the exact-match levels that pick them.

    ``operations`` are the model's, in policy order, each with ``index`` and ``route`` (its pattern).
    """
    claims = [_claims(op["route"]) for op in operations]
    keys: dict[int, list[str]] = {d: [] for d in range(1, DISPATCH_DEPTH + 1)}
    for depth, own, _ in claims:
        if own is not None:
            keys[depth].append(own)
    keys = {d: sorted(set(found)) for d, found in keys.items()}
    groups: dict[tuple[int, str], set[int]] = {(d, key): set() for d, found in keys.items() for key in found}
    default: set[int] = set()
    for op, (depth, own, deeper) in zip(operations, claims, strict=True):
        (groups[(depth, own)] if own is not None else default).add(op["index"])
        if deeper is None:
            continue
        for d in range(depth + 1, DISPATCH_DEPTH + 1):
            found = keys[d]
            # Sorted keys starting with the same text are adjacent; keys are ASCII, below \x7f.
            for key in found[bisect_left(found, deeper) : bisect_left(found, deeper + "\x7f")]:
                groups[(d, key)].add(op["index"])

    buckets: list[set[int]] = [default]
    bucket_of: dict[tuple[int, str], int] = {}
    current: set[int] | None = None
    for where in sorted(groups, key=lambda g: (g[1], g[0])):
        members = groups[where]
        if current is None or len(current | members) > BUCKET_OPERATIONS:
            current = set()
            buckets.append(current)
        current |= members
        bucket_of[where] = len(buckets) - 1

    levels = []
    present = [d for d in sorted(keys, reverse=True) if keys[d]]
    for position, d in enumerate(present):
        shallower = present[position + 1] if position + 1 < len(present) else None
        levels.append(
            {
                "depth": d,
                "key_var": f"gw_route_key{d}",
                "key_pattern": key_pattern(d),
                "var": "gw_route_bucket" if position == 0 else f"gw_route_bucket{d}",
                "fallback": f"$gw_route_bucket{shallower}" if shallower else str(DEFAULT_BUCKET),
                "keys": [{"key": key, "bucket": bucket_of[(d, key)]} for key in keys[d]],
            }
        )
    return {"levels": levels, "buckets": [sorted(bucket) for bucket in buckets]}
