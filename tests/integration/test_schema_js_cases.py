"""Each check the gateway compiles from a JSON Schema (airgapctl.gateway.schema_js), run by the real
``njs`` interpreter: what passes, and for what fails the instance pointer and keyword it names.
Cases as data; one njs process runs them all."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from airgapctl.gateway.schema_js import HELPERS, REF_DEPTH, compile_schema

pytestmark = [pytest.mark.integration]

NJS = shutil.which("njs")
OK = None
# (case, schema, instance as JSON text, expected: None or [pointer, keyword])
CASES: list[tuple[str, Any, str, list[str] | None]] = [
    ("type", {"type": "integer"}, "1.0", OK),
    ("type", {"type": "integer"}, "1.5", ["", "type"]),
    ("type", {"type": "number"}, "3", OK),
    ("type", {"type": ["string", "null"]}, "null", OK),
    ("type", {"type": "object"}, "[]", ["", "type"]),
    ("type", {"type": "array"}, "{}", ["", "type"]),
    ("type", {"type": "boolean"}, "0", ["", "type"]),
    ("enum", {"enum": [1, "a", None, [1]]}, "[1.0]", OK),
    ("enum", {"enum": [1, "a"]}, "true", ["", "enum"]),
    ("const", {"const": {"a": [1, {"b": None}]}}, '{"a": [1, {"b": null}]}', OK),
    ("const", {"const": {"a": 1}}, '{"a": 1, "b": 2}', ["", "const"]),
    ("bounds", {"minimum": 2, "maximum": 4}, "4", OK),
    ("bounds", {"minimum": 2}, "1.99", ["", "minimum"]),
    ("bounds", {"maximum": 4}, "4.01", ["", "maximum"]),
    ("bounds", {"exclusiveMinimum": 2}, "2", ["", "exclusiveMinimum"]),
    ("bounds", {"exclusiveMaximum": 4}, "4", ["", "exclusiveMaximum"]),
    ("bounds", {"maximum": 4}, '"9"', OK),  # applies to numbers only
    ("int32", {"type": "integer", "format": "int32"}, "2147483648", ["", "format"]),
    ("length", {"minLength": 2, "maxLength": 3}, '"\\u00e9\\ud83d\\ude00"', OK),  # code points, not UTF-16 units
    ("length", {"maxLength": 3}, '"abcd"', ["", "maxLength"]),
    ("length", {"minLength": 1}, '""', ["", "minLength"]),
    ("pattern", {"pattern": "^[a-z]+$"}, '"abc"', OK),
    ("pattern", {"pattern": "^[a-z]+$"}, '"abc\\n"', ["", "pattern"]),
    ("pattern", {"pattern": "b"}, '"abc"', OK),  # searched, not anchored
    ("format", {"format": "date"}, '"2026-02-30"', OK),  # the shape, not the calendar
    ("format", {"format": "date"}, '"2026-13-01"', ["", "format"]),
    ("format", {"format": "date"}, '"2026-01-01\\n"', ["", "format"]),  # PCRE's "$" would take it
    ("pattern", {"pattern": "^a[$]$|^b\\$$"}, '"a$"', OK),
    ("pattern", {"pattern": "^a[$]$|^b\\$$"}, '"b$\\n"', ["", "pattern"]),
    ("format", {"format": "date-time"}, '"2026-12-01T20:00:00.5+01:00"', OK),
    ("format", {"format": "date-time"}, '"2026-12-01 20:00:00Z"', ["", "format"]),
    ("format", {"format": "uuid"}, '"123e4567-e89b-12d3-a456-426614174000"', OK),
    ("format", {"format": "uuid"}, '"123e4567e89b12d3a456426614174000"', ["", "format"]),
    ("format", {"format": "email"}, '"ops@site-a.example"', OK),
    ("format", {"format": "email"}, '"ops@"', ["", "format"]),
    ("format", {"format": "ipv4"}, '"10.0.0.255"', OK),
    ("format", {"format": "ipv4"}, '"10.0.0.256"', ["", "format"]),
    ("format", {"format": "ipv4"}, '"010.0.0.1"', ["", "format"]),
    ("format", {"format": "ipv6"}, '"fe80::1:2"', OK),
    ("format", {"format": "ipv6"}, '"::ffff:10.0.0.1"', OK),
    ("format", {"format": "ipv6"}, '"fe80:::1"', ["", "format"]),
    ("properties", {"properties": {"a/b~c": {"type": "integer"}}}, '{"a/b~c": "x"}', ["/a~1b~0c", "type"]),
    ("required", {"required": ["id"]}, "{}", ["/id", "required"]),
    ("required", {"required": ["id"]}, '{"id": null}', OK),
    (
        "additional",
        {"properties": {"a": {}}, "additionalProperties": False},
        '{"a": 1, "b": 2}',
        ["/b", "additionalProperties"],
    ),
    ("additional", {"additionalProperties": {"type": "string"}}, '{"x": 1}', ["/x", "type"]),
    ("members", {"minProperties": 1, "maxProperties": 1}, '{"a": 1, "b": 2}', ["", "maxProperties"]),
    ("items", {"items": {"type": "integer"}}, '[1, 2, "3"]', ["/2", "type"]),
    ("items", {"minItems": 1, "maxItems": 2}, "[]", ["", "minItems"]),
    ("items", {"maxItems": 2}, "[1, 2, 3]", ["", "maxItems"]),
    ("unique", {"uniqueItems": True}, '[{"a": 1}, {"a": 1.0}]', ["/1", "uniqueItems"]),
    ("unique", {"uniqueItems": True}, '[1, true, "1"]', OK),
    ("unique", {"uniqueItems": True}, '[{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}]', ["/1", "uniqueItems"]),
    ("unique", {"uniqueItems": True}, '[[1, 2], [2, 1], null, "null", {}, []]', OK),
    ("allOf", {"allOf": [{"type": "integer"}, {"minimum": 3}]}, "2", ["", "minimum"]),
    ("anyOf", {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "null", ["", "anyOf"]),
    ("oneOf", {"oneOf": [{"type": "integer"}, {"type": "number"}]}, "1", ["", "oneOf"]),
    ("oneOf", {"oneOf": [{"type": "integer"}, {"type": "string"}]}, "1", OK),
    ("not", {"not": {"type": "null"}}, "null", ["", "not"]),
    ("false", {"properties": {"x": False}}, '{"x": 1}', ["/x", "false"]),
    ("nested", {"properties": {"a": {"items": {"required": ["k"]}}}}, '{"a": [{"k": 1}, {}]}', ["/a/1/k", "required"]),
    # Policy text stays data: names and values that would end a string or a script are literals.
    (
        "literal",
        {"properties": {'"); throw 1; ("': {"const": "</script>\u2028"}}},
        '{"\\"); throw 1; (\\"": "x"}',
        ['/"); throw 1; ("', "const"],
    ),
    ("literal", {"enum": ["\u2028'\\\""]}, '"\\u2028\'\\\\\\""', OK),
]
REF_CASES: list[tuple[str, Any, str, str, list[str] | None]] = [
    (
        "ref",
        {"$defs": {"n": {"properties": {"next": {"$ref": "#/$defs/n"}, "v": {"type": "integer"}}}}},
        "/$defs/n",
        '{"next": {"next": {"v": "x"}}}',
        ["/next/next/v", "type"],
    ),
    ("ref loop", {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}, "/$defs/a", "1", ["", "$ref"]),
]
DIALECT_CASES: list[tuple[str, Any, str, list[str] | None]] = [
    ("nullable", {"type": "string", "nullable": True}, "null", OK),
    ("nullable enum", {"type": "string", "enum": ["a"], "nullable": True}, "null", OK),
    ("not nullable", {"type": "string"}, "null", ["", "type"]),
    ("boolean exclusive", {"minimum": 2, "exclusiveMinimum": True}, "2", ["", "exclusiveMinimum"]),
    ("boolean exclusive off", {"maximum": 2, "exclusiveMaximum": False}, "2", OK),
    (
        "ref siblings ignored",
        {"$defs": {"i": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/i", "maximum": 1}}},
        '{"a": 5}',
        OK,
    ),
]


def _run(compiled_cases: list[tuple[Any, str]], tmp_path) -> list[list[str] | None]:
    assert NJS, "needs njs (Debian package njs; scripts/setup.sh installs it)"
    parts, calls = [HELPERS], []
    for number, (compiled, instance) in enumerate(compiled_cases):
        parts.append(compiled.source)
        calls.append(f"console.log(JSON.stringify({compiled.entry}(JSON.parse({json.dumps(instance)}), '', 0)));")
        assert compiled.entry.startswith(f"t{number}_")
    script = tmp_path / "cases.js"
    script.write_text("\n".join(parts + calls) + "\n")
    done = subprocess.run([NJS, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:] or done.stdout[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_every_check_passes_what_it_should_and_names_the_pointer_and_keyword_of_what_fails(tmp_path):
    compiled, expected = [], []
    for number, (_, schema, instance, want) in enumerate(CASES):
        compiled.append((compile_schema(schema, "", "3.1", prefix=f"t{number}"), instance))
        expected.append(want)
    offset = len(compiled)
    for number, (_, document, pointer, instance, want) in enumerate(REF_CASES, start=offset):
        compiled.append((compile_schema(document, pointer, "3.1", prefix=f"t{number}"), instance))
        expected.append(want)
    offset = len(compiled)
    for number, (_, schema, instance, want) in enumerate(DIALECT_CASES, start=offset):
        compiled.append((compile_schema(schema, "", "3.0", prefix=f"t{number}"), instance))
        expected.append(want)
    names = [c[0] for c in CASES] + [c[0] for c in REF_CASES] + [c[0] for c in DIALECT_CASES]
    got = _run(compiled, tmp_path)
    wrong = [(name, instance, want, seen) for name, (_, instance), want, seen in zip(names, compiled, expected, got,
             strict=True) if want != seen]  # fmt: skip
    assert wrong == []
    assert all(c.warnings == [] for c, _ in compiled)
    assert REF_DEPTH == 64


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"multipleOf": 2}, "multipleOf"),
        ({"patternProperties": {"^x": {}}}, "patternProperties"),
        ({"if": {}, "then": {}}, "if"),
        ({"prefixItems": [{}]}, "prefixItems"),
        ({"type": "string", "format": "hostname"}, "format"),
        ({"$ref": "other.yaml#/X"}, "$ref"),
        ({"items": [{"type": "integer"}]}, "items"),
    ],
)
def test_a_keyword_the_gateway_cannot_check_is_a_warning_naming_where(schema, keyword):
    warnings = compile_schema({"properties": {"p": schema}}).warnings
    assert [(w.pointer, w.keyword) for w in warnings][:1] == [("/properties/p", keyword)]


def test_annotations_are_no_warning():
    schema = {"title": "t", "description": "d", "example": 1, "default": 1, "readOnly": True, "x-internal": True,
              "format": "password", "type": "string"}  # fmt: skip
    assert compile_schema(schema, "", "3.0").warnings == []


# ECMAScript's reading of a pattern, where njs's PCRE engine would read it otherwise.
ECMA_CASES: list[tuple[str, str, str, bool]] = [
    ("dot and a line separator", "^a.b$", '"a\\u2028b"', False),
    ("dot and a carriage return", "^a.b$", '"a\\rb"', False),
    ("dot", "^a.b$", '"a b"', True),
    ("white space is Unicode's", "^a\\sb$", '"a\\u00a0b"', True),
    ("white space in a class", "^a[\\s]b$", '"a\\u3000b"', True),
    ("non-white", "^\\S+$", '"a\\u00a0b"', False),
    ("\\Z is Z", "^a\\Z$", '"aZ"', True),
    ("\\Z is no end", "^a\\Z", '"a"', False),
    ("\\v is a vertical tab", "^\\v$", '"\\u000b"', True),
    ("\\v is no newline", "^\\v$", '"\\n"', False),
    ("[] matches nothing", "a[]", '"a"', False),
    ("[^] matches anything", "^a[^]$", '"a\\n"', True),
    ("[ in a class is itself", "^[[:a]+$", '"[:a"', True),
    ("a POSIX class is no class", "^[[:alpha:]]$", '"b"', False),
]


def test_patterns_mean_what_ecmascript_says_not_what_pcre_would(tmp_path):
    compiled = [(compile_schema({"pattern": pattern}, prefix=f"t{n}"), instance)
                for n, (_, pattern, instance, _) in enumerate(ECMA_CASES)]  # fmt: skip
    assert all(c.warnings == [] for c, _ in compiled)
    got = [seen is None for seen in _run(compiled, tmp_path)]
    assert [(name, ok) for (name, _, _, ok), seen in zip(ECMA_CASES, got, strict=True) if ok != seen] == []


@pytest.mark.parametrize(
    ("schema", "instance", "keyword"),
    [
        ({"pattern": "[\\S]"}, '"x"', "pattern"),  # not translatable: refused, and warned
        ({"$ref": "#Pet"}, "{}", "$ref"),  # no JSON pointer
        ({"$ref": "#/nowhere"}, "{}", "$ref"),
    ],
)
def test_what_cannot_be_checked_is_refused_and_warned(tmp_path, schema, instance, keyword):
    compiled = compile_schema(schema, prefix="t0")
    assert [w.keyword for w in compiled.warnings] == [keyword]
    assert _run([(compiled, instance)], tmp_path) == [["", keyword]]


def test_read_only_required_properties_are_not_required_in_a_request(tmp_path):
    schema = {"type": "object", "required": ["id", "name"], "properties": {"id": {"readOnly": True}, "name": {}}}
    compiled = compile_schema(schema, "", "3.0", prefix="t0")
    assert _run([(compiled, '{"name": "x"}')], tmp_path) == [None]


def test_whole_number_bounds_written_as_floats_are_checked_and_other_bounds_warned(tmp_path):
    compiled = compile_schema({"minLength": 2.0, "maxItems": 1.5, "required": "id"}, prefix="t0")
    assert sorted(w.keyword for w in compiled.warnings) == ["maxItems", "required"]
    assert _run([(compiled, '"a"')], tmp_path) == [["", "minLength"]]
    with pytest.raises(ValueError, match="no JavaScript name"):
        compile_schema({}, prefix="x); y(")
