"""A value a JSON Schema accepts, for requests the self-test sends as valid: the schema's own
example, examples or default when one is valid, else one built from its keywords. Every candidate
is held to jsonschema (2020-12, the schema read as the gateway reads it) before it is used, so a
value this module gets wrong is never sent as "valid": there is then no example (None).
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Any

from airgapctl.gateway.schema_js import FORMATS, INTEGER_FORMATS, normalise, normalise_tree

# Values of the formats the gateway checks, each matching FORMATS.
FORMAT_SAMPLES = {
    "date": "2026-01-31",
    "date-time": "2026-01-31T10:00:00Z",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "email": "selftest@example.org",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
# Strings tried against a pattern, after the schema's own example.
PATTERN_SAMPLES = ("a", "abc", "A", "1", "123", "a1", "abc-123", "ABC", "x_1", FORMAT_SAMPLES["uuid"])
# How deep a built example follows $refs and nested schemas.
DEPTH = 12
assert set(FORMAT_SAMPLES) == set(FORMATS)


class NoExample(Exception):
    pass


def example(document: Any, pointer: str, dialect: str) -> tuple[bool, Any]:
    """(True, a value the schema at ``pointer`` of ``document`` accepts) or (False, None)."""
    import jsonschema
    import referencing

    schema = _resolve(document, pointer)
    normalised = _normalised(document, dialect)
    registry = referencing.Registry().with_resource(
        "urn:airgapctl:body", referencing.Resource.from_contents(normalised, referencing.jsonschema.DRAFT202012)
    )
    check = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "urn:airgapctl:body#" + pointer}
    validator = jsonschema.Draft202012Validator(check, registry=registry, format_checker=_format_checker())
    for candidate in _candidates(document, schema, dialect):
        try:
            if _exact_numbers(candidate) and validator.is_valid(candidate):
                return True, candidate
        except re.error:  # an ECMAScript pattern Python cannot read: no example from it
            continue
    return False, None


@functools.cache
def _format_checker() -> Any:
    """The formats as the gateway checks them (schema_js.FORMATS, INTEGER_FORMATS)."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, pattern in FORMATS.items():
        checker.checks(name)(lambda value, p=pattern: not isinstance(value, str) or re.fullmatch(p, value) is not None)
    for name, (low, high) in INTEGER_FORMATS.items():
        checker.checks(name)(lambda value, lo=low, hi=high: not isinstance(value, (int, float)) or lo <= value <= hi)
    return checker


def _exact_numbers(value: Any) -> bool:
    """No number the gateway refuses as inexact (magnitude 2^53 or more), anywhere in the value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, (int, float)):
        return abs(value) < 2**53
    inner = value.values() if isinstance(value, dict) else value
    return all(_exact_numbers(item) for item in inner)


def _normalised(document: Any, dialect: str) -> Any:
    if isinstance(document, dict) and "defs" in document and "schema" in document:
        return _request_side({
            "schema": normalise_tree(document["schema"], dialect),
            "defs": {name: normalise_tree(node, dialect) for name, node in document["defs"].items()},
        })  # fmt: skip
    return _request_side(normalise_tree(document, dialect))


def _request_side(node: Any) -> Any:
    """readOnly properties are the server's to send: not required in a request (as the gateway checks)."""
    if isinstance(node, list):
        return [_request_side(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _request_side(value) for key, value in node.items()}
    properties = out.get("properties")
    if isinstance(out.get("required"), list) and isinstance(properties, dict):
        out["required"] = [
            name for name in out["required"]
            if not (isinstance(properties.get(name), dict) and properties[name].get("readOnly"))
        ]  # fmt: skip
    return out


def _candidates(document: Any, schema: Any, dialect: str) -> list[Any]:
    found = []
    if isinstance(schema, dict):
        if "example" in schema:
            found.append(schema["example"])
        if isinstance(schema.get("examples"), list):
            found += schema["examples"]
        if "default" in schema:
            found.append(schema["default"])
    for use_examples in (True, False):  # the spec's examples of parts may be what fails
        with contextlib.suppress(NoExample, RecursionError):
            found.append(_build(document, schema, dialect, 0, use_examples))
    return found


def _resolve(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _build(document: Any, schema: Any, dialect: str, depth: int, use_examples: bool = True) -> Any:
    if depth > DEPTH:
        raise NoExample
    if schema is True or schema == {}:
        return "selftest"
    if not isinstance(schema, dict):
        raise NoExample
    schema = normalise(schema, dialect)
    if "$ref" in schema and isinstance(schema["$ref"], str) and schema["$ref"].startswith("#"):
        return _build(document, _resolve(document, schema["$ref"][1:]), dialect, depth + 1, use_examples)
    for keyword in ("example", "default") if use_examples else ():
        if keyword in schema:
            return schema[keyword]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for keyword in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list) and schema[keyword]:
            parts = schema[keyword] if keyword == "allOf" else schema[keyword][:1]
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k not in ("allOf", "anyOf", "oneOf")}
            built = [_build(document, part, dialect, depth + 1, use_examples) for part in parts]
            if merged.get("type") == "object" or all(isinstance(b, dict) for b in built):
                out: dict[str, Any] = {}
                for value in built:
                    out.update(value if isinstance(value, dict) else {})
                if merged.get("properties") or merged.get("required"):
                    out.update(_object(document, merged, dialect, depth, use_examples))
                return out
            return built[0]
    types = schema.get("type")
    kinds = types if isinstance(types, list) else [types] if types else [_guess(schema)]
    kind = next((t for t in kinds if t != "null"), kinds[0] if kinds else None)
    if kind == "object":
        return _object(document, schema, dialect, depth, use_examples)
    if kind == "array":
        items = schema.get("items", {})
        count = max(int(schema.get("minItems", 0)), 1 if items not in ({}, True) else 0)
        values = [_build(document, items, dialect, depth + 1, use_examples) for _ in range(count)]
        if schema.get("uniqueItems") and len(values) > 1:
            raise NoExample
        return values
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        return _string(schema)
    raise NoExample


def _guess(schema: dict[str, Any]) -> str | None:
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if "pattern" in schema or "format" in schema or "minLength" in schema:
        return "string"
    if "minimum" in schema or "maximum" in schema:
        return "number"
    return "string"


def _object(document: Any, schema: dict[str, Any], dialect: str, depth: int, use_examples: bool) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    out = {}
    for name in schema.get("required") or []:
        sub = properties.get(name, {})
        if isinstance(sub, dict) and sub.get("readOnly"):
            continue
        out[name] = _build(document, sub, dialect, depth + 1, use_examples)
    for name, sub in properties.items():
        if len(out) >= int(schema.get("minProperties", 0)):
            break
        out.setdefault(name, _build(document, sub, dialect, depth + 1, use_examples))
    return out


def _number(schema: dict[str, Any], kind: str) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 1 if low is None else low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if high is not None and value > high:
        value = high - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
    if kind == "integer":
        value = int(-(-value // 1))
    return value


def _string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt in FORMAT_SAMPLES:
        return FORMAT_SAMPLES[fmt]
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if "pattern" in schema:
        for sample in PATTERN_SAMPLES:
            text = sample * max(1, -(-low // len(sample)))
            try:
                matched = re.search(schema["pattern"], text)
            except re.error:  # ECMAScript syntax Python's re does not have
                raise NoExample from None
            if matched and (high is None or len(text) <= high):
                return text
        raise NoExample
    text = "selftest"[: high if high is not None else 8]
    return text + "x" * max(0, low - len(text))
