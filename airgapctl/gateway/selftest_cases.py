"""Requests the self-test sends, derived from the policy; their expected outcome comes from the Router."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airgapctl.specs import canonical
from airgapctl.specs.routing import Decision, Request, Router

SAMPLES = ("1", "0", "abc", "a1", "thumb", "2024-01-31", "2024-01-31T10:00:00Z", "123e4567-e89b-12d3-a456-426614174000")
BAD_VALUES = ("selftest-bad", "1.5", "-1", "zz")
PROBE_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
# One path per kind of non-canonical target, sent under every API's base path.
NON_CANONICAL_SUFFIXES = canonical.examples()
MAX_BODY_SENT = 8 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    request: Request
    expected: Decision


def sample_value(param: dict[str, Any]) -> str | None:
    """A value the parameter's regex accepts: an enum member, a known sample, or None."""
    regex = param["regex"]
    candidates = [str(v) for v in param["schema"].get("enum", [])] + list(SAMPLES)
    candidates += re.findall(r"[A-Za-z0-9_.-]+", regex)  # literal fragments of patterns
    return next((c for c in candidates if re.fullmatch(regex, c)), None)


def concrete_path(operation: dict[str, Any], override: dict[str, str] | None = None) -> str | None:
    """The raw path a client sends to call the operation: sample values in, percent-encoded as needed."""
    path = operation["gateway_path"]
    for param in operation["path_params"]:
        value = (override or {}).get(param["name"]) or sample_value(param)
        if value is None:
            return None
        path = path.replace("{" + param["name"] + "}", value, 1)
    return canonical.percent_encode(path)


def concrete_type(content_types: list[str]) -> str:
    first = content_types[0] if content_types else "application/octet-stream"
    return first.replace("*/*", "application/octet-stream").replace("/*", "/octet-stream")


class CaseBuilder:
    def __init__(self, policy: dict[str, Any], router: Router, clients: list[str]) -> None:
        self.router, self.cases, self.skipped = router, [], []
        self.roles = {c["name"]: set(c["roles"]) for c in policy["clients"] if c["name"] in clients}

    def add(self, name: str, request: Request) -> None:
        self.cases.append(Case(name, request, self.router.decide(request)))

    def allowed_client(self, operation: dict[str, Any]) -> str | None:
        return next((c for c, r in sorted(self.roles.items()) if r & set(operation["roles"])), None)

    def other_client(self, operation: dict[str, Any]) -> str | None:
        return next((c for c, r in sorted(self.roles.items()) if not r & set(operation["roles"])), None)

    def operation_cases(self, op: dict[str, Any]) -> None:
        path = concrete_path(op)
        client = self.allowed_client(op) or self.other_client(op)
        if path is None or client is None:
            self.skipped.append(f"{op['id']}: no sample value or no client certificate to call it with")
            return
        body = op["body"]
        ctype = concrete_type(body["content_types"]) if body["allowed"] else None
        size = min(2, body["max_bytes"]) if body["allowed"] and body["required"] else 0
        self.add(f"positive {op['id']}", Request(op["method"], path, client, ctype if size else None, size))
        other = self.other_client(op)
        if other and other != client:
            self.add(f"other role {op['id']}", Request(op["method"], path, other))
        self.body_cases(op, path, client)
        self.add(f"unknown neighbour {op['id']}", Request(op["method"], path + "/selftest-unknown", client))
        for param in op["path_params"]:
            bad = next((v for v in BAD_VALUES if not re.fullmatch(param["regex"], v)), None)
            bad_path = concrete_path(op, {param["name"]: bad}) if bad else None
            if bad_path:
                self.add(f"boundary {op['id']} {param['name']}={bad}", Request(op["method"], bad_path, client))

    def body_cases(self, op: dict[str, Any], path: str, client: str) -> None:
        body = op["body"]
        if not body["allowed"]:
            self.add(f"body not allowed {op['id']}", Request(op["method"], path, client, "application/json", 1))
            return
        if body["max_bytes"] < MAX_BODY_SENT:
            too_big = Request(op["method"], path, client, concrete_type(body["content_types"]), body["max_bytes"] + 1)
            self.add(f"body too large {op['id']}", too_big)
        if body["max_bytes"] >= 1:
            self.add(f"wrong content type {op['id']}", Request(op["method"], path, client, "text/x-selftest", 1))

    def path_cases(self, path: str, methods: set[str], client: str) -> None:
        wrong = next((m for m in PROBE_METHODS if m not in methods), None)
        if wrong:
            self.add(f"wrong method {wrong} {path}", Request(wrong, path, client))
        self.add(f"no certificate {path}", Request(sorted(methods)[0], path, None))


def derive_cases(policy: dict[str, Any], router: Router, clients: list[str]) -> tuple[list[Case], list[str]]:
    """Every request the self-test sends, with the decision the policy implies for it."""
    builder = CaseBuilder(policy, router, clients)
    methods_by_path: dict[str, set[str]] = {}
    for op in policy["operations"]:
        builder.operation_cases(op)
        path = concrete_path(op)
        if path:
            methods_by_path.setdefault(path, set()).add(op["method"])
    any_client = sorted(builder.roles)[0]
    for path, methods in sorted(methods_by_path.items()):
        builder.path_cases(path, methods, any_client)
    for api in policy["apis"]:
        for suffix in NON_CANONICAL_SUFFIXES:
            builder.add(f"non-canonical {api['name']}{suffix}", Request("GET", api["base_path"] + suffix, any_client))
    return builder.cases, builder.skipped
