"""The gateway's compiled JSON Schema checks (airgapctl.gateway.schema_js) against jsonschema.

For a family of schemas, instances are generated (valid ones by hypothesis-jsonschema, invalid
ones by mutating those and as arbitrary JSON), judged by the compiled JavaScript in the real
``njs`` interpreter (Debian's njs 0.7.9, the engine of NGINX's JavaScript module) and by
jsonschema's Draft 2020-12 validator in Python, and the verdicts must agree on every instance.

The Python side is told the dialect the gateway implements where jsonschema's own reading
differs from ECMAScript: a pattern's ``$`` is the end of the string (Python's ``$`` also matches
before a final newline), and the formats are the gateway's (schema_js.FORMATS).
"""

from __future__ import annotations

import functools
import json
import random
import re
import shutil
import subprocess
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from airgapctl.gateway.schema_js import FORMATS, HELPERS, INTEGER_FORMATS, compile_schema, normalise_tree

pytestmark = [pytest.mark.integration]

NJS = shutil.which("njs")
VALID_PER_SCHEMA = 400
MUTATIONS_PER_VALID = 6
ARBITRARY_PER_SCHEMA = 300

PET = {
    "type": "object",
    "required": ["name", "kind"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 12, "pattern": "^[a-z][a-z0-9 ]*$"},
        "kind": {"enum": ["cat", "dog", "fish"]},
        "age": {"type": "integer", "minimum": 0, "maximum": 40},
        "weight": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 200.5},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 4, "uniqueItems": True},
        "owner": {"type": ["string", "null"], "format": "email"},
    },
}
FAMILY: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (document, pointer of the schema, dialect)
    "pet": ({"$defs": {"pet": PET}}, "/$defs/pet", "3.1"),
    "scalars": (
        {"anyOf": [{"type": "integer", "minimum": -5, "maximum": 5}, {"type": "boolean"}, {"const": "x"}]},
        "",
        "3.1",
    ),
    "one of": (
        {"oneOf": [{"type": "integer"}, {"type": "number", "maximum": 10}, {"type": "string", "maxLength": 3}]},
        "",
        "3.1",
    ),
    "not and all of": (
        {"allOf": [{"type": "string", "minLength": 2}, {"not": {"pattern": "^a"}}, {"maxLength": 6}]},
        "",
        "3.1",
    ),
    "formats": (
        {
            "type": "object",
            "properties": {name: {"type": "string", "format": name} for name in FORMATS}
            | {"n32": {"type": "integer", "format": "int32"}},
            "minProperties": 1,
            "maxProperties": 5,
        },
        "",
        "3.1",
    ),
    "recursive": (
        {
            "$defs": {
                "node": {
                    "type": "object",
                    "required": ["v"],
                    "properties": {
                        "v": {"type": "integer"},
                        "kids": {"type": "array", "maxItems": 3, "items": {"$ref": "#/$defs/node"}},
                    },
                    "additionalProperties": False,
                }
            }
        },
        "/$defs/node",
        "3.1",
    ),
    "open object": (
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "additionalProperties": {"type": "array", "minItems": 1, "items": {"enum": [1, "1", None, True]}},
        },
        "",
        "3.1",
    ),
    "openapi 3.0": (
        {
            "components": {
                "schemas": {
                    "Order": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {
                            "id": {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
                            "note": {"type": "string", "nullable": True, "maxLength": 8},
                            "state": {"type": "string", "enum": ["open", "shut"], "nullable": True},
                            "item": {"$ref": "#/components/schemas/Item"},
                        },
                    },
                    "Item": {"type": "object", "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}}},
                }
            }
        },
        "/components/schemas/Order",
        "3.0",
    ),
    "arrays of objects": (
        {
            "type": "array",
            "minItems": 1,
            "maxItems": 5,
            "uniqueItems": True,
            "items": {"type": "object", "required": ["k"], "properties": {"k": {"type": ["integer", "string"]}}},
        },
        "",
        "3.1",
    ),
    "const object": ({"const": {"a": [1, 2, {"b": None}]}, "type": "object"}, "", "3.1"),
}


def ecma_pattern(pattern: str) -> str:
    """The Python regex that means what the ECMAScript one means, for the family's patterns."""
    return pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern


def oracle(document: dict[str, Any], pointer: str, dialect: str) -> jsonschema.Validator:
    checker = jsonschema.FormatChecker(formats=())
    for name, regex in FORMATS.items():
        checker.checks(name)(lambda value, regex=regex: not isinstance(value, str) or bool(re.fullmatch(regex, value)))
    for name, (low, high) in INTEGER_FORMATS.items():
        checker.checks(name)(lambda value, low=low, high=high: not _is_number(value) or low <= value <= high)

    def pattern(validator, pattern, instance, schema):
        if isinstance(instance, str) and not re.search(ecma_pattern(pattern), instance):
            yield jsonschema.ValidationError(f"does not match {pattern!r}")

    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": pattern})
    root = _normalised_document(document, dialect)
    return cls({**root, "$ref": "#" + pointer} if pointer else root, format_checker=checker)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _normalised_document(document: dict[str, Any], dialect: str) -> dict[str, Any]:
    if "components" in document:
        schemas = document["components"]["schemas"]
        return {"components": {"schemas": {n: normalise_tree(s, dialect) for n, s in schemas.items()}}}
    return normalise_tree(document, dialect)


def _formats_as_patterns(node: Any) -> Any:
    """The gateway's formats as the patterns they are (hypothesis-jsonschema holds a format's
    strings to jsonschema's own reading of it)."""
    if isinstance(node, list):
        return [_formats_as_patterns(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _formats_as_patterns(value) for key, value in node.items()}
    if out.get("format") in FORMATS and "pattern" not in out:
        out["pattern"] = f"^(?:{FORMATS[out.pop('format')]})$"
    return out


def _generation_schema(document: dict[str, Any], pointer: str, dialect: str) -> dict[str, Any]:
    """What hypothesis-jsonschema generates valid instances from: the schema with its $refs' targets."""
    root = _formats_as_patterns(_normalised_document(document, dialect))
    if "components" in root:  # hypothesis-jsonschema resolves only #/$defs-style references within the schema
        text = json.dumps(root["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/")
        defs = json.loads(text)
        return {**defs[pointer.rsplit("/", 1)[1]], "$defs": defs}
    node = root
    for part in pointer.split("/")[1:]:
        node = node[part]
    return {**node, "$defs": root.get("$defs", {})} if pointer else root


def _collect(strategy: st.SearchStrategy, count: int) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def gather(value):
        found.append(value)

    gather()
    return found


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)  # fmt: skip


# Valid instances of what hypothesis-jsonschema cannot generate from (recursive references).
VALID = {
    "recursive": st.recursive(
        st.fixed_dictionaries({"v": st.integers(-(2**40), 2**40)}),
        lambda inner: st.fixed_dictionaries({"v": st.integers(-9, 9), "kids": st.lists(inner, max_size=3)}),
        max_leaves=12,
    ),
}


_ODD_VALUES = ["", "a", "cat", "a@b.cd", "10.0.0.1", "::1", 0, -1, 1.5, 41, 2**31, 2**53 + 1, None, True, False, [], {}]


def _mutation(value: Any, rng: random.Random, others: list[Any]) -> Any:
    """One change somewhere in ``value``: a member dropped, added or replaced, an item appended or
    changed, or the value replaced (by an odd value or a part of another instance)."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        choice = rng.randrange(3)
        if choice == 0:
            return {k: v for k, v in value.items() if k != key}
        if choice == 1:
            return {**value, key: _mutation(value[key], rng, others)}
        return {**value, rng.choice(["x", "id", "name", "v", key + "2"]): rng.choice(_ODD_VALUES)}
    if isinstance(value, list) and value and rng.random() < 0.7:
        index = rng.randrange(len(value))
        if rng.random() < 0.5:
            return [*value, rng.choice([value[index], rng.choice(_ODD_VALUES)])]
        return [*value[:index], _mutation(value[index], rng, others), *value[index + 1 :]]
    if isinstance(value, str) and rng.random() < 0.3:
        return value + rng.choice(["\n", " ", "x", "\u00e9"])  # a pattern's or a format's end
    return rng.choice(_ODD_VALUES) if rng.random() < 0.6 else rng.choice(others)


def _mutated(valid: list[Any], count: int, seed: str) -> list[Any]:
    rng = random.Random(seed)
    return [_mutation(rng.choice(valid), rng, valid) for _ in range(count)]


def _njs_verdicts(document: dict[str, Any], pointer: str, dialect: str, instances: list[Any], tmp_path) -> list[bool]:
    compiled = compile_schema(document, pointer, dialect)
    assert compiled.warnings == [], compiled.warnings
    texts = [json.dumps(instance) for instance in instances]
    program = (
        HELPERS + compiled.source + f"var cases = {json.dumps(texts)};\nvar out = '';\n"
        f"for (var i = 0; i < cases.length; i++) {{"
        f" out += {compiled.entry}(JSON.parse(cases[i]), '', 0) === null ? '1' : '0';"
        " if (out.length === 1000) { console.log(out); out = ''; } }\n"
        "console.log(out + '.');\n"
    )  # fmt: skip
    script = tmp_path / "check.js"
    script.write_text(program)
    done = subprocess.run([NJS, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:] or done.stdout[-2000:]
    # Lines of at most 1000 verdicts (njs cuts a longer console line), the last one ending in '.'.
    verdicts = "".join(done.stdout.split()).removesuffix(".")
    assert set(verdicts) <= {"0", "1"} and len(verdicts) == len(instances), done.stdout[-500:]
    return [v == "1" for v in verdicts]


@functools.cache
def _judged() -> list[tuple[str, dict[str, Any], str, str, list[Any], list[bool]]]:
    """Per schema of the family: its instances (valid, mutated, arbitrary) and jsonschema's verdicts."""
    judged = []
    for name, (document, pointer, dialect) in FAMILY.items():
        judge = oracle(document, pointer, dialect)
        generated = VALID[name] if name in VALID else from_schema(_generation_schema(document, pointer, dialect))
        valid = _collect(generated, VALID_PER_SCHEMA)
        instances = valid + _mutated(valid, VALID_PER_SCHEMA * MUTATIONS_PER_VALID, name)
        instances += _collect(JSON_VALUES, ARBITRARY_PER_SCHEMA)
        instances = [json.loads(text) for text in dict.fromkeys(json.dumps(i, sort_keys=True) for i in instances)]
        # What the gateway parses is JSON text: Python judges the same parse (big integers as doubles).
        parsed = [json.loads(json.dumps(i), parse_int=float) for i in instances]
        judged.append((name, document, pointer, dialect, instances, [judge.is_valid(i) for i in parsed]))
    return judged


def test_the_compiled_checks_agree_with_jsonschema_on_ten_thousand_instances(tmp_path):
    assert NJS, "needs njs (Debian package njs; scripts/setup.sh installs it)"
    total = valid_total = 0
    for name, document, pointer, dialect, instances, expected in _judged():
        got = _njs_verdicts(document, pointer, dialect, instances, tmp_path)
        disagree = [(i, e) for i, e, g in zip(instances, expected, got, strict=True) if e != g]
        assert disagree == [], f"{name}: {len(disagree)} disagreements, first: {disagree[:3]}"
        # Both verdicts (a schema with few valid values, such as "const object", has few of one).
        assert 0 < sum(expected) < len(expected), f"{name}: {sum(expected)} of {len(expected)} valid"
        total += len(instances)
        valid_total += sum(expected)
    print(f"{total} instances agreed, {valid_total} valid")
    assert total >= 10_000
    assert min(valid_total, total - valid_total) >= 2_000


# --- The same verdicts through the running gateway: a request body per instance, on loopback.
NGINX_PER_SCHEMA = 40
ORIGINAL = "orig"


def _as_body_document(document: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A family document as a policy's body schema: kept whole under ORIGINAL, its $refs re-pointed."""

    def repoint(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: ("#/" + ORIGINAL + v[1:] if k == "$ref" and isinstance(v, str) and v.startswith("#")
                        else repoint(v)) for k, v in node.items()}  # fmt: skip
        return [repoint(item) for item in node] if isinstance(node, list) else node

    return {"schema": {"$ref": f"#/{ORIGINAL}{pointer}"}, "defs": {}, ORIGINAL: repoint(document)}


def _gateway_checks_it(instance: Any) -> bool:
    """Whether only the schema decides: the gateway refuses deeper nesting and numbers of 2^53 or more first."""

    def fits(node: Any, depth: int) -> bool:
        if isinstance(node, bool) or node is None or isinstance(node, str):
            return True
        if isinstance(node, (int, float)):
            return abs(node) < 2**53
        inner = node.values() if isinstance(node, dict) else node
        return depth < 20 and all(fits(item, depth + 1) for item in inner)

    return fits(instance, 0)


def test_the_running_gateway_gives_the_same_verdicts_on_a_sample(tmp_path):
    from airgapctl.gateway.render import render_gateway
    from tests.integration.gateway import policy_builder as pb
    from tests.integration.gateway.client import GatewayClient
    from tests.integration.gateway.harness import render_options
    from tests.integration.gateway.nginx_process import RunningNginx, free_port, log_line
    from tests.integration.gateway.scenario import ALICE, make_identities
    from tests.integration.gateway.upstream import RecordingUpstream

    judged = _judged()
    rng = random.Random("nginx sample")
    upstream = RecordingUpstream().start()
    try:
        operations, samples = [], []
        for number, (name, document, pointer, dialect, instances, expected) in enumerate(judged):
            body = pb.json_body(65536, schema=None)
            body["schema"] = {"media_type": "application/json", "dialect": dialect,
                              "document": _as_body_document(document, pointer)}  # fmt: skip
            operations.append(pb.operation("diff", "/d", f"s{number}", "POST", f"/s{number}", ["r"], body=body))
            pairs = [(i, e) for i, e in zip(instances, expected, strict=True) if _gateway_checks_it(i)]
            valid = [pair for pair in pairs if pair[1]]
            invalid = [pair for pair in pairs if not pair[1]]
            for pair in rng.sample(valid, min(len(valid), NGINX_PER_SCHEMA // 2)) + rng.sample(
                invalid, min(len(invalid), NGINX_PER_SCHEMA // 2)
            ):
                samples.append((name, f"/d/s{number}", *pair))
        policy = pb.policy([pb.api("diff", "/d", f"http://127.0.0.1:{upstream.port}")], operations,
                           [pb.role("r")], [pb.client("alice", ALICE, ["r"])])  # fmt: skip
        (tmp_path / "pki").mkdir()
        identities = make_identities(tmp_path / "pki")
        port = free_port()
        out = tmp_path / "gateway"
        render_gateway(policy, out, render_options(tmp_path, identities, port))
        nginx = RunningNginx(out, port)
        try:
            client = GatewayClient(port, identities.ca, identities.clients["alice"])
            disagree = []
            for name, target, instance, expected in samples:
                before = len(upstream.recorder.snapshot())
                reply = client.request("POST", target, body=json.dumps(instance).encode(),
                                       headers={"Content-Type": "application/json"})  # fmt: skip
                reached = len(upstream.recorder.snapshot()) - before
                line = log_line(out / "logs" / "access.log", reply.request_id)
                served = reply.status == 200 and reached == 1 and line["violation"] == ""
                refused = reply.status == 400 and reached == 0 and line["reason"] == "invalid_body"
                assert served or refused, (name, instance, reply.status, reply.body)
                if served != expected:
                    disagree.append((name, instance, expected))
        finally:
            nginx.stop()
    finally:
        upstream.stop()
    assert disagree == [], f"{len(disagree)} disagreements through NGINX, first: {disagree[:3]}"
    assert len(samples) >= 0.8 * NGINX_PER_SCHEMA * len(judged)
    print(f"{len(samples)} requests through NGINX agreed")
