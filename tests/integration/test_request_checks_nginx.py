"""The spec's request checks (gateway/checks/N.js) under a real NGINX on loopback: query parameters,
header parameters, required bodies and JSON bodies against their schema, in enforce, report and
off mode. A valid request reaches the upstream; an invalid one gets 400 naming the failing pointer
and keyword (never the value) and never reaches it, or, in report mode, is served and logged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.harness import Gateway, checked_log_line, running_gateway
from tests.integration.gateway.scenario import ALICE, Identities, make_identities

pytestmark = [pytest.mark.integration]

CANARY = "canary-0d5e-value-never-echoed"
UUID = "123e4567-e89b-12d3-a456-426614174000"
Q = pb.query_param
H = pb.header_param

ITEM_QUERY = [
    Q("limit", {"type": "integer", "minimum": 1, "maximum": 100}, required=True),
    Q("status", {"type": "string", "enum": ["open", "closed"]}),
    Q("tag", {"type": "string", "pattern": "^[a-z]+$"}),
    Q("name", {"type": "string", "minLength": 2, "maxLength": 5}),
    Q("ids", {"type": "array", "items": {"type": "integer"}, "maxItems": 3}),
    Q("csv", {"type": "array", "items": {"type": "string"}, "uniqueItems": True}, explode=False),
    Q("pipes", {"type": "array", "items": {"type": "integer"}, "minItems": 2}, style="pipeDelimited", explode=False),
    Q("ref", {"type": "string", "format": "uuid"}),
    Q("ratio", {"type": "number", "exclusiveMaximum": 1}),
    Q("flag", {"type": "boolean"}),
    Q("maybe", {"type": "string", "nullable": True, "maxLength": 3}),
    # Optional[int] as generators write it: the type is read through anyOf.
    Q("opt", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
]
ITEM_HEADERS = [H("X-Trace-Id", {"type": "string", "format": "uuid"}, required=True), H("X-Count", {"type": "integer"})]
# A recursive schema: a node's children are nodes; 3.0 dialect (nullable, boolean exclusive bounds).
NODE = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/defs/node"}}},
}
ITEM = {
    "type": "object",
    "required": ["name", "kind"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z ]+$", "minLength": 1, "maxLength": 20},
        "kind": {"enum": ["cat", "dog"]},
        "version": {"const": 1},
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "price": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": True},
        "email": {"type": "string", "format": "email"},
        "born": {"type": "string", "format": "date"},
        "seen": {"type": "string", "format": "date-time"},
        "ip": {"type": "string", "format": "ipv4"},
        "ip6": {"type": "string", "format": "ipv6"},
        "uid": {"type": "string", "format": "uuid"},
        "note": {"type": "string", "nullable": True},
        "meta": {"type": "object", "minProperties": 1, "maxProperties": 2},
        "tree": {"$ref": "#/defs/node"},
        "size": {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["small", "large"]}]},
        "alias": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer"}]},
        "code": {"allOf": [{"type": "string"}, {"minLength": 2}], "not": {"enum": ["xx"]}},
    },
}
VALID_ITEM = {
    "name": "Rex",
    "kind": "dog",
    "version": 1,
    "count": 3,
    "price": 9.5,
    "tags": ["a", "b"],
    "email": "ops@site.example",
    "born": "2020-01-31",
    "seen": "2026-12-01T10:00:00Z",
    "ip": "10.0.0.1",
    "ip6": "fe80::1",
    "uid": UUID,
    "note": None,
    "meta": {"a": 1},
    "tree": {"name": "root", "children": [{"name": "leaf", "children": []}]},
    "size": "small",
    "alias": 7,
    "code": "ab",
}


def _body(**changes: Any) -> dict[str, Any]:
    item = {**VALID_ITEM, **changes}
    return {key: value for key, value in item.items() if value is not DROP}


DROP = object()


def _policy(upstream_port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{upstream_port}"
    body = pb.json_body(4096, schema=ITEM, defs={"node": NODE}, required=True)
    op = pb.operation
    operations = [
        op("checks", "/v1", "listItems", "GET", "/items", ["user"], query=ITEM_QUERY, headers=ITEM_HEADERS),
        op("checks", "/v1", "createItem", "POST", "/items", ["user"], body=body),
        op(
            "checks",
            "/v1",
            "reportItem",
            "POST",
            "/report",
            ["user"],
            body=body,
            validation="report",
            query=[Q("limit", {"type": "integer"}, required=True)],
        ),
        op("checks", "/v1", "offItem", "POST", "/off", ["user"], body=body, validation="off", query=ITEM_QUERY),
        op(
            "checks",
            "/v1",
            "strict",
            "GET",
            "/strict",
            ["user"],
            query=[Q("a", {"type": "string"})],
            unknown_query="refuse",
        ),
        op("checks", "/v1", "plain", "GET", "/plain", ["user"]),
        op(
            "checks",
            "/v1",
            "upload",
            "PUT",
            "/upload",
            ["user"],
            body=pb.json_body(4096, ["application/json", "text/plain"], schema=ITEM, defs={"node": NODE}),
        ),
    ]
    return pb.policy(
        [pb.api("checks", "/v1", url)], operations, [pb.role("user")], [pb.client("alice", ALICE, ["user"])]
    )


@pytest.fixture(scope="module")
def identities(tmp_path_factory) -> Identities:
    return make_identities(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, identities) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("checks"), identities, _policy) as running:
        yield running


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    target: str
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: tuple[tuple[str, str], ...] = ()
    # None: valid; else (violation, pointer, keyword)
    finding: tuple[str, str, str] | None = None


TRACE = (("X-Trace-Id", UUID),)
GOOD_QUERY = "/v1/items?limit=5"


def _query_cases() -> list[Case]:
    bad = "invalid_query"
    cases = [
        Case(
            "all valid",
            "GET",
            "/v1/items?limit=5&status=open&tag=abc&name=ab&ids=1&ids=2&csv=a,b&pipes=1|2"
            f"&ref={UUID}&ratio=0.5&flag=true&maybe=x",
            headers=TRACE,
        ),
        Case("plus is a space, declared enum", "GET", "/v1/items?limit=5&name=a+b", headers=TRACE),
        Case("undeclared parameters pass by default", "GET", "/v1/items?limit=5&other=1", headers=TRACE),
        Case("required missing", "GET", "/v1/items?status=open", headers=TRACE, finding=(bad, "/limit", "required")),
        Case("type", "GET", f"/v1/items?limit={CANARY}", headers=TRACE, finding=(bad, "/limit", "type")),
        Case("minimum", "GET", "/v1/items?limit=0", headers=TRACE, finding=(bad, "/limit", "minimum")),
        Case("maximum", "GET", "/v1/items?limit=101", headers=TRACE, finding=(bad, "/limit", "maximum")),
        Case("repeated scalar", "GET", "/v1/items?limit=5&limit=6", headers=TRACE, finding=(bad, "/limit", "repeated")),
        Case("enum", "GET", "/v1/items?limit=5&status=gone", headers=TRACE, finding=(bad, "/status", "enum")),
        Case("pattern", "GET", "/v1/items?limit=5&tag=ABC", headers=TRACE, finding=(bad, "/tag", "pattern")),
        Case("minLength", "GET", "/v1/items?limit=5&name=a", headers=TRACE, finding=(bad, "/name", "minLength")),
        Case("maxLength", "GET", "/v1/items?limit=5&name=abcdef", headers=TRACE, finding=(bad, "/name", "maxLength")),
        Case(
            "exploded array item type",
            "GET",
            "/v1/items?limit=5&ids=1&ids=x",
            headers=TRACE,
            finding=(bad, "/ids/1", "type"),
        ),
        Case(
            "exploded array maxItems",
            "GET",
            "/v1/items?limit=5&ids=1&ids=2&ids=3&ids=4",
            headers=TRACE,
            finding=(bad, "/ids", "maxItems"),
        ),
        Case(
            "form array uniqueItems",
            "GET",
            "/v1/items?limit=5&csv=a,a",
            headers=TRACE,
            finding=(bad, "/csv/1", "uniqueItems"),
        ),
        Case(
            "form array sent twice",
            "GET",
            "/v1/items?limit=5&csv=a&csv=b",
            headers=TRACE,
            finding=(bad, "/csv", "repeated"),
        ),
        Case(
            "pipe array minItems",
            "GET",
            "/v1/items?limit=5&pipes=1",
            headers=TRACE,
            finding=(bad, "/pipes", "minItems"),
        ),
        Case("format", "GET", "/v1/items?limit=5&ref=nope", headers=TRACE, finding=(bad, "/ref", "format")),
        Case(
            "exclusiveMaximum",
            "GET",
            "/v1/items?limit=5&ratio=1",
            headers=TRACE,
            finding=(bad, "/ratio", "exclusiveMaximum"),
        ),
        Case("boolean", "GET", "/v1/items?limit=5&flag=yes", headers=TRACE, finding=(bad, "/flag", "type")),
        Case("integer through anyOf", "GET", "/v1/items?limit=5&opt=7", headers=TRACE),
        Case("anyOf", "GET", "/v1/items?limit=5&opt=x", headers=TRACE, finding=(bad, "/opt", "anyOf")),
        Case(
            "1e400 is no number", "GET", "/v1/items?limit=5&ratio=1e400", headers=TRACE, finding=(bad, "/ratio", "type")
        ),
        Case(
            "broken percent-encoding", "GET", "/v1/items?limit=5&tag=%zz", headers=TRACE, finding=(bad, "", "encoding")
        ),
        Case("unknown refused where the API says so", "GET", "/v1/strict?a=1&b=2", finding=(bad, "", "unknown")),
        Case("known passes where unknown are refused", "GET", "/v1/strict?a=1"),
    ]
    return cases


def _header_cases() -> list[Case]:
    bad = "invalid_header"
    return [
        Case("required header missing", "GET", GOOD_QUERY, finding=(bad, "/x-trace-id", "required")),
        Case(
            "header format",
            "GET",
            GOOD_QUERY,
            headers=(("X-Trace-Id", CANARY),),
            finding=(bad, "/x-trace-id", "format"),
        ),
        Case(
            "header type", "GET", GOOD_QUERY, headers=(*TRACE, ("X-Count", "many")), finding=(bad, "/x-count", "type")
        ),
        Case("header name without case", "GET", GOOD_QUERY, headers=(("x-TRACE-id", UUID), ("X-Count", "3"))),
    ]


def _body_cases() -> list[Case]:
    bad = "invalid_body"
    post = "/v1/items"
    cases = [
        Case("valid body", "POST", post, _body()),
        Case("required body missing", "POST", post, None, finding=(bad, "", "required")),
        Case("required property", "POST", post, _body(kind=DROP), finding=(bad, "/kind", "required")),
        Case("type", "POST", post, _body(name=5), finding=(bad, "/name", "type")),
        Case("pattern", "POST", post, _body(name="R3x"), finding=(bad, "/name", "pattern")),
        Case("value never echoed", "POST", post, _body(name=CANARY), finding=(bad, "/name", "maxLength")),
        Case("maxLength", "POST", post, _body(name="a" * 21), finding=(bad, "/name", "maxLength")),
        Case("enum", "POST", post, _body(kind="cow"), finding=(bad, "/kind", "enum")),
        Case("const", "POST", post, _body(version=2), finding=(bad, "/version", "const")),
        Case("maximum", "POST", post, _body(count=11), finding=(bad, "/count", "maximum")),
        Case("integer", "POST", post, _body(count=1.5), finding=(bad, "/count", "type")),
        Case("3.0 boolean exclusiveMinimum", "POST", post, _body(price=0), finding=(bad, "/price", "exclusiveMinimum")),
        Case(
            "additionalProperties", "POST", post, _body(extra=CANARY), finding=(bad, "/extra", "additionalProperties")
        ),
        Case("items", "POST", post, _body(tags=["a", 2]), finding=(bad, "/tags/1", "type")),
        Case("maxItems", "POST", post, _body(tags=["a", "b", "c", "d"]), finding=(bad, "/tags", "maxItems")),
        Case("minItems", "POST", post, _body(tags=[]), finding=(bad, "/tags", "minItems")),
        Case("uniqueItems", "POST", post, _body(tags=["a", "a"]), finding=(bad, "/tags/1", "uniqueItems")),
        Case(
            "2^53 is inexact",
            "POST",
            post,
            b'{"name":"R","kind":"dog","count":9007199254740993}',
            finding=(bad, "", "number"),
        ),
        Case("email", "POST", post, _body(email="ops@"), finding=(bad, "/email", "format")),
        Case("date", "POST", post, _body(born="2020-13-01"), finding=(bad, "/born", "format")),
        Case("date-time", "POST", post, _body(seen="yesterday"), finding=(bad, "/seen", "format")),
        Case("ipv4", "POST", post, _body(ip="300.0.0.1"), finding=(bad, "/ip", "format")),
        Case("ipv6", "POST", post, _body(ip6="fe80:::1"), finding=(bad, "/ip6", "format")),
        Case("uuid", "POST", post, _body(uid="x"), finding=(bad, "/uid", "format")),
        Case("nullable only where declared", "POST", post, _body(name=None), finding=(bad, "/name", "type")),
        Case(
            "maxProperties", "POST", post, _body(meta={"a": 1, "b": 2, "c": 3}), finding=(bad, "/meta", "maxProperties")
        ),
        Case(
            "recursive $ref",
            "POST",
            post,
            _body(tree={"name": "r", "children": [{"children": []}]}),
            finding=(bad, "/tree/children/0/name", "required"),
        ),
        Case("oneOf", "POST", post, _body(size="medium"), finding=(bad, "/size", "oneOf")),
        Case("anyOf", "POST", post, _body(alias="long"), finding=(bad, "/alias", "anyOf")),
        Case("allOf", "POST", post, _body(code="a"), finding=(bad, "/code", "minLength")),
        Case("not", "POST", post, _body(code="xx"), finding=(bad, "/code", "not")),
        # Attacks on the body itself.
        Case(
            "duplicate keys",
            "POST",
            post,
            b'{"name":"Rex","kind":"dog","kind":"cow"}',
            finding=(bad, "", "duplicate_key"),
        ),
        Case(
            "escaped duplicate key",
            "POST",
            post,
            b'{"name":"Rex","kind":"dog","\\u006bind":"dog"}',
            finding=(bad, "", "duplicate_key"),
        ),
        Case(
            "deep nesting",
            "POST",
            post,
            b'{"name":"R","kind":"dog","meta":{"a":' + b"[" * 30 + b"]" * 30 + b"}}",
            finding=(bad, "", "depth"),
        ),
        Case("huge number", "POST", post, b'{"name":"R","kind":"dog","count":1e400}', finding=(bad, "", "number")),
        Case(
            "integer beyond 2^53",
            "POST",
            post,
            b'{"name":"R","kind":"dog","count":90071992547409931}',
            finding=(bad, "", "number"),
        ),
        Case("invalid UTF-8", "POST", post, b'{"name":"R\xff","kind":"dog"}', finding=(bad, "", "utf8")),
        Case("not JSON", "POST", post, b'{"name":"R","kind":"dog",}', finding=(bad, "", "json")),
        Case(
            "brackets inside strings are no structure",
            "POST",
            post,
            json.dumps(_body(name="Rex", note="[[[[{{{{" * 10)).encode(),
        ),
        Case(
            "a JSON media type with parameters",
            "POST",
            post,
            _body(),
            headers=(("Content-Type", "application/JSON; charset=utf-8"),),
        ),
        # A type the operation lists besides JSON is not read as JSON; an unlisted one is refused (415).
        Case(
            "another listed media type is not read as JSON",
            "PUT",
            "/v1/upload",
            b"{not json",
            headers=(("Content-Type", "text/plain"),),
        ),
        Case(
            "JSON body on the other listed type's operation",
            "PUT",
            "/v1/upload",
            _body(kind="cow"),
            finding=(bad, "/kind", "enum"),
        ),
    ]
    return cases


CASES = [*_query_cases(), *_header_cases(), *_body_cases()]


def _send(gateway: Gateway, case: Case, target: str | None = None):
    headers = dict(case.headers)
    body = case.body
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return gateway.send("alice", case.method, target or case.target, body=body, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_enforce_mode_passes_valid_requests_and_refuses_invalid_ones_naming_pointer_and_keyword(gateway, case):
    reply, reached = _send(gateway, case)
    line = checked_log_line(gateway, reply)
    if case.finding is None:
        assert reply.status == 200, reply.body
        assert len(reached) == 1
        assert (line["decision"], line["reason"], line["violation"]) == ("allow", "ok", "")
        return
    violation, pointer, keyword = case.finding
    assert reply.status == 400, reply.body
    assert reached == [], "an invalid request reached the upstream"
    assert reply.headers["content-type"] == "application/json"
    assert reply.json == {
        "status": 400,
        "error": violation,
        "request_id": reply.request_id,
        "pointer": pointer,
        "keyword": keyword,
    }
    assert CANARY not in reply.body.decode()
    assert (line["decision"], line["reason"]) == ("deny", violation)
    assert (line["violation"], line["violation_pointer"], line["violation_keyword"]) == case.finding
    assert (line["upstream_status"], line["operation"]) == ("", reply and line["operation"])
    assert CANARY not in json.dumps({k: v for k, v in line.items() if k != "uri"})


REPORTED = [case for case in CASES if case.finding and case.method == "POST" and case.target == "/v1/items"]


@pytest.mark.parametrize("case", REPORTED, ids=[case.name for case in REPORTED])
def test_report_mode_serves_an_invalid_request_and_logs_the_violation(gateway, case):
    reply, reached = _send(gateway, case, target="/v1/report?limit=1")
    assert reply.status == 200, reply.body
    assert len(reached) == 1
    if case.body is not None:
        assert reached[0].body_length == len(case.body if isinstance(case.body, bytes) else json.dumps(case.body))
    line = checked_log_line(gateway, reply)
    assert (line["decision"], line["reason"], line["operation"]) == ("allow", "ok", "checks.reportItem")
    assert (line["violation"], line["violation_pointer"], line["violation_keyword"]) == case.finding


def test_report_mode_checks_the_query_too(gateway):
    reply, reached = _send(gateway, Case("", "POST", "/v1/report?limit=x", _body()))
    line = checked_log_line(gateway, reply)
    assert (reply.status, len(reached)) == (200, 1)
    assert (line["reason"], line["violation"], line["violation_pointer"]) == ("ok", "invalid_query", "/limit")


@pytest.mark.parametrize("case", [c for c in CASES if c.finding and c.target.startswith("/v1/items")][:12])
def test_off_mode_checks_nothing_beyond_method_path_and_body(gateway, case):
    target = "/v1/off" + case.target.removeprefix("/v1/items")
    reply, reached = _send(gateway, Case(case.name, "POST", target, case.body if case.body is not None else _body()))
    line = checked_log_line(gateway, reply)
    assert (reply.status, len(reached), line["violation"]) == (200, 1, "")


def test_an_operation_without_checks_takes_no_javascript_path(gateway):
    config = (gateway.out_dir / "gateway" / "server.conf").read_text()
    plain_class = next(op["body_class"] for op in _model(gateway)["operations"] if op["id"] == "checks.plain")
    block = config.split(f"location = /_airgap_gateway/op/{plain_class} {{", 1)[1].split("\n    }\n", 1)[0]
    assert "js_content" not in block and "proxy_pass" in block
    reply, reached = _send(gateway, Case("", "GET", "/v1/plain?anything=%zz"))
    assert (reply.status, len(reached)) == (200, 1)


def _model(gateway: Gateway) -> dict[str, Any]:
    from airgapctl.gateway.model import build_gateway_model
    from tests.integration.gateway.scenario import NOW

    return build_gateway_model(gateway.policy, NOW)
