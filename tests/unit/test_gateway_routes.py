"""Route dispatch keeps first-match order: the bucket a path lands in decides as the whole list would."""

from __future__ import annotations

import re
from datetime import date

import pytest

from airgapctl.gateway.model import build_gateway_model
from airgapctl.gateway.patterns import literal_prefix
from airgapctl.gateway.routes import BUCKET_OPERATIONS, DEFAULT_BUCKET, ascii_lower
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.scenario import scenario_policy

NOW = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        (r"^/svc0/things0/(?:[0-9]+)/part1$", "/svc0/things0/"),
        (r"^/a/b$", "/a/b"),
        (r"^/a/b?c", "/a/"),  # 'b' is optional
        (r"^/a{2}", "/"),
        (r"^/a\.b/c\-d", "/a.b/c-d"),
        (r"\A/x/y", "/x/y"),
        (r"^(?i)/a/b", ""),  # case-insensitive from the start
        (r"^/a/b$|^/c", ""),  # alternation at the top level
        (r"^/a(?:b|c)/d", "/a"),
        (r"^/a/[b|]/c", "/a/"),
        (r"^/a\d", "/a"),
        (r"^/p\Qx\E", "/p"),
        ("/a/b", ""),  # not anchored
    ],
)
def test_literal_prefix_is_never_longer_than_what_every_match_starts_with(pattern, prefix):
    assert literal_prefix(pattern) == prefix


POLICIES = {
    "scenario": lambda: scenario_policy(1, 2),
    "large": lambda: pb.large_policy(300),
    "uniform": lambda: pb.uniform_policy(40, "GET"),
    "route edges": pb.route_edge_policy,
}


def _dispatched(model, method: str, path: str) -> int | None:
    """What the rendered maps decide: key levels, then the bucket's regexes in order."""
    bucket = DEFAULT_BUCKET
    for level in model["route_levels"]:
        found = re.match(level["key_pattern"], path)
        keys = {key["key"]: key["bucket"] for key in level["keys"]}
        if found and ascii_lower(found.group(1)) in keys:
            bucket = keys[ascii_lower(found.group(1))]
            break
    route = next((r for r in model["routes"] if r["method"] == method), None)
    entries = next((b["entries"] for b in route["buckets"] if b["bucket"] == bucket), []) if route else []
    return next((e["index"] for e in entries if re.search(e["pattern"], path)), None)


def _listed(model, method: str, path: str) -> int | None:
    route = next((r for r in model["routes"] if r["method"] == method), None)
    return next((e["index"] for e in route["entries"] if re.search(e["pattern"], path)), None) if route else None


@pytest.mark.parametrize("name", POLICIES)
def test_the_bucket_decides_as_the_whole_list_for_every_method_and_path(name):
    policy = POLICIES[name]()
    model = build_gateway_model(policy, NOW)
    methods = [route["method"] for route in model["routes"]]
    for path in sorted(pb.route_probe_paths(policy)):
        for method in methods:
            assert _dispatched(model, method, path) == _listed(model, method, path), (method, path)


def test_buckets_stay_small_when_a_policy_grows():
    model = build_gateway_model(pb.large_policy(2100), NOW)
    sizes = [len({e["index"] for r in model["routes"] for b in r["buckets"] if b["bucket"] == n for e in b["entries"]})
             for n in {b["bucket"] for r in model["routes"] for b in r["buckets"]}]  # fmt: skip
    assert max(sizes) <= BUCKET_OPERATIONS
    assert sum(len(route["buckets"]) for route in model["routes"]) < 2100 / 4
