"""Requests the self-test sends, derived from the policy; their expected outcome comes from the Router."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airgapctl.contracts.access_log import Reason
from airgapctl.gateway.request_checks import DELIMITERS, UNCHECKED
from airgapctl.gateway.schema_examples import example
from airgapctl.specs import canonical
from airgapctl.specs.media_types import is_json_media_type
from airgapctl.specs.operations import schema_dialect
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


def _text(value: Any) -> str:
    """A parameter value as a client writes it: JSON's spelling of booleans and null."""
    return (
        {True: "true", False: "false", None: ""}.get(value, str(value))
        if not isinstance(value, (int, float)) or isinstance(value, bool)
        else str(value)
    )


def parameter_text(param: dict[str, Any], dialect: str) -> list[str] | None:
    """The values to send for a parameter so that its schema holds (one, or one per exploded item)."""
    found, value = example(param["schema"], "", dialect)
    if not found:
        return None
    if isinstance(value, list):
        style, explode = param.get("style", "simple"), param.get("explode", False)
        if style == "form" and explode:
            return [_text(item) for item in value]
        if style not in DELIMITERS:
            return None
        return [DELIMITERS[style].join(_text(item) for item in value)]
    return None if isinstance(value, dict) else [_text(value)]


def required_parts(op: dict[str, Any]) -> str:
    """What a request must carry for the operation's checks to pass ("" when nothing)."""
    if op.get("validation", UNCHECKED)["mode"] != "enforce":
        return ""
    needs = [f"query {p['name']}" for p in op["query_params"] if p["required"]]
    needs += [f"header {p['name']}" for p in op.get("header_params", []) if p["required"]]
    if op["body"]["allowed"] and op["body"]["max_bytes"] > 0 and op["body"]["required"]:
        needs.append("a body")
    return ", ".join(needs)


@dataclass(frozen=True)
class ValidParts:
    """What makes a request to an operation valid against its spec."""

    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None  # a valid JSON body, when the operation requires a body and has a schema
    content_type: str | None


def valid_parts(op: dict[str, Any], dialect: str) -> ValidParts | str:
    """The parts of a valid request, or why none could be built (none are needed with checks off)."""
    if op.get("validation", UNCHECKED)["mode"] == "off":
        return ValidParts("", (), None, None)
    pairs = []
    for param in op["query_params"]:
        if param["required"]:
            values = parameter_text(param, dialect)
            if values is None:
                return f"no value for the required query parameter {param['name']}"
            pairs += [f"{quote(param['name'], safe='')}={quote(v, safe='')}" for v in values]
    headers = []
    for param in op.get("header_params", []):
        if param["required"]:
            values = parameter_text({**param, "style": "simple", "explode": False}, dialect)
            if values is None:
                return f"no value for the required header {param['name']}"
            headers.append((param["name"], values[0]))
    body, ctype = None, None
    schema = op["body"].get("schema")
    if op["body"]["allowed"] and op["body"]["required"] and schema:
        found, value = example(schema["document"], "/schema", schema["dialect"])
        if not found:
            return "no JSON body its schema accepts could be built"
        body = json.dumps(value, separators=(",", ":")).encode()
        ctype = schema["media_type"]
    return ValidParts("&".join(pairs), tuple(headers), body, ctype)


def concrete_type(content_types: list[str]) -> str:
    first = content_types[0] if content_types else "application/octet-stream"
    return first.replace("*/*", "application/octet-stream").replace("/*", "/octet-stream")


class CaseBuilder:
    def __init__(self, policy: dict[str, Any], router: Router, clients: list[str]) -> None:
        self.router, self.cases, self.skipped = router, [], []
        self.roles = {c["name"]: set(c["roles"]) for c in policy["clients"] if c["name"] in clients}
        self.dialects = {api["name"]: schema_dialect(api["spec"]["openapi_version"]) for api in policy["apis"]}
        self.needs_parts = {op["id"]: needs for op in policy["operations"] if (needs := required_parts(op))}

    def add(self, name: str, request: Request) -> None:
        decision = self.router.decide(request)
        # A request without query, headers or body that lands on an operation which requires
        # some (a neighbour's path, another method) would be refused by its checks: not sent.
        needs = self.needs_parts.get(decision.operation)
        carries = request.query or request.spec_headers or request.body is not None or request.body_bytes
        if decision.allowed and needs and not carries:
            self.skipped.append(f"{name}: lands on {decision.operation}, which requires {needs}")
            return
        self.cases.append(Case(name, request, decision))

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
        parts = valid_parts(op, self.dialects[op["api"]])
        if isinstance(parts, str):
            self.skipped.append(f"{op['id']}: {parts}")
            return
        ctype = concrete_type(body["content_types"]) if body["allowed"] else None
        size = min(2, body["max_bytes"]) if body["allowed"] and body["required"] else 0
        if parts.body is not None:
            ctype, size = parts.content_type, len(parts.body)
        valid = {"query": parts.query, "spec_headers": parts.headers}
        self.add(
            f"positive {op['id']}",
            Request(op["method"], path, client, ctype if size else None, size, body=parts.body, **valid),
        )
        self.spec_cases(op, path, client, parts)
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

    def spec_cases(self, op: dict[str, Any], path: str, client: str, parts: ValidParts) -> None:
        """Requests that break the operation's spec: refused in enforce mode, served otherwise."""
        if op.get("validation", UNCHECKED)["mode"] == "off":
            return
        base = {"query": parts.query, "spec_headers": parts.headers}
        required = [p for p in op["query_params"] if p["required"]]
        if required:
            dropped = quote(required[0]["name"], safe="") + "="
            kept = "&".join(pair for pair in parts.query.split("&") if not pair.startswith(dropped))
            request = Request(op["method"], path, client, **{**base, "query": kept}, violation=Reason.INVALID_QUERY)
            self.add(f"missing query {op['id']} {required[0]['name']}", self._with_body(request, parts))
        if any(p["required"] for p in op.get("header_params", [])):
            request = Request(
                op["method"], path, client, **{**base, "spec_headers": ()}, violation=Reason.INVALID_HEADER
            )
            self.add(f"missing header {op['id']}", self._with_body(request, parts))
        schema = op["body"].get("schema")
        if (
            op["body"]["allowed"]
            and schema
            and op["body"]["max_bytes"] >= 1
            and is_json_media_type(schema["media_type"])
        ):
            bad = b"{"[: op["body"]["max_bytes"]]
            request = Request(op["method"], path, client, schema["media_type"], len(bad), body=bad,
                              violation=Reason.INVALID_BODY, **base)  # fmt: skip
            self.add(f"invalid body {op['id']}", request)

    @staticmethod
    def _with_body(request: Request, parts: ValidParts) -> Request:
        if parts.body is None:
            return request
        from dataclasses import replace

        return replace(request, content_type=parts.content_type, body_bytes=len(parts.body), body=parts.body)

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
