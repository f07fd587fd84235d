"""What the gateway's request checks are compiled from: which operations get a JavaScript path,
what cannot be checked (a warning naming operation and place), and body schemas bundled from
specs with their $refs (recursive ones stay recursive)."""

from __future__ import annotations

from pathlib import Path

from airgapctl.gateway.model import build_gateway_model
from airgapctl.gateway.request_checks import request_checks
from airgapctl.specs.loader import load_spec
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.scenario import NOW

Q = pb.query_param


def _policy(*operations):
    return pb.policy([pb.api("a", "/a", "http://127.0.0.1:9")], list(operations), [pb.role("r")],
                     [pb.client("c", "CN=c", ["r"])])  # fmt: skip


def _checks(*operations):
    policy = _policy(*operations)
    index = {op["id"]: n for n, op in enumerate(policy["operations"], start=1)}
    return request_checks(policy, index, {"a": 1}), index


def test_only_operations_with_something_to_check_get_the_javascript_path():
    plain = pb.operation("a", "/a", "plain", "GET", "/plain", ["r"])
    optional = pb.operation("a", "/a", "opt", "GET", "/opt", ["r"], query=[Q("x", {})])
    checked = pb.operation("a", "/a", "chk", "GET", "/chk", ["r"], query=[Q("n", {"type": "integer"})])
    off = pb.operation("a", "/a", "off", "GET", "/off", ["r"], query=[Q("n", {"type": "integer"})], validation="off")
    checks, index = _checks(plain, optional, checked, off)
    assert checks["operations"] == [index["a.chk"]]
    model = build_gateway_model(_policy(plain, optional, checked, off), NOW)
    classes = {c["index"]: c for c in model["body_classes"]}
    checked_classes = {op["id"]: classes[op["body_class"]]["checked"] for op in model["operations"]}
    assert checked_classes == {"a.plain": False, "a.opt": False, "a.chk": True, "a.off": False}


def test_what_cannot_be_checked_is_a_warning_naming_the_operation_and_the_place():
    query = [Q("filter", {"type": "object"}), Q("deep", {"type": "array"}, style="deepObject")]
    body = pb.json_body(100, schema={"type": "object", "properties": {"n": {"multipleOf": 3}}})
    op = pb.operation("a", "/a", "obj", "POST", "/obj", ["r"], query=query, body=body)
    checks, _ = _checks(op)
    assert (
        "operation a.obj: query/filter: style: an object-valued parameter is not checked by the gateway"
        in checks["warnings"]
    )
    assert any(w.startswith("operation a.deep") is False and "query/deep" in w for w in checks["warnings"])
    assert any("body/schema/properties/n: multipleOf" in w for w in checks["warnings"])


def test_a_policy_compiled_before_request_checks_checks_nothing():
    op = pb.operation("a", "/a", "old", "GET", "/old", ["r"], query=[Q("n", {"type": "integer"}, required=True)])
    del op["validation"], op["header_params"]
    checks, _ = _checks(op)
    assert checks["operations"] == []


def test_body_schemas_are_bundled_with_their_refs_and_recursion_kept(tmp_path: Path):
    (tmp_path / "common.yaml").write_text(
        "Node:\n  type: object\n  properties:\n    children:\n      type: array\n      items: {$ref: '#/Node'}\n"
    )
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /n:\n    post:\n      requestBody:\n"
        "        required: true\n        content:\n          application/merge-patch+json:\n"
        "            schema: {$ref: 'common.yaml#/Node'}\n          text/plain: {schema: {type: string}}\n"
        "      responses: {'200': {description: ok}}\n"
    )
    (op,) = load_spec(tmp_path / "api.yaml").operations
    assert op.body_schema_media_type == "application/merge-patch+json"
    assert op.body_schema == {
        "schema": {"$ref": "#/defs/d1"},
        "defs": {
            "d1": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/defs/d1"}}}}
        },
    }


def test_patterns_are_written_as_literals_that_nothing_in_them_can_end():
    from airgapctl.gateway.schema_js import regex_literal

    assert regex_literal("^a/b$") == "/^a\\/b$/"
    assert regex_literal("a\\/b") == "/a\\/b/"
    assert regex_literal("[/]x") == "/[\\/]x/"
    # Not printable ASCII, empty, a comment opener or a trailing lone backslash: the constructor.
    for source in ("é", "", "*a", "ab\\", "a\nb"):
        assert regex_literal(source).startswith("new RegExp(")
