"""Where an OpenAPI document may hold ``$ref``, and what kind of object each one stands for.

The walk follows the OpenAPI object grammar instead of every mapping in the file, so literal
values (examples, defaults, enums, extensions) are never mistaken for references, and each
object reached through a ``$ref`` is known by kind: the validator checks it against that
kind's definition in the meta-schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airgapctl.specs.model import HTTP_METHODS
from airgapctl.specs.refs import SCHEMA_MANY, SCHEMA_NAMED, SCHEMA_ONE, SourceFile, SpecFiles, join

# kind -> {field: (shape, kind of the value(s))}; shape "one", "list", "map" (names) or "xmap" (skips x-*).
Rules = dict[str, tuple[str, str]]
_SCHEMA: Rules = {
    **{key: ("one", "schema") for key in SCHEMA_ONE},
    **{key: ("list", "schema") for key in SCHEMA_MANY},
    **{key: ("map", "schema") for key in SCHEMA_NAMED},
}
_OPERATIONS: Rules = {method.lower(): ("one", "operation") for method in HTTP_METHODS}
_V3_PARAMETER: Rules = {"schema": ("one", "schema"), "content": ("map", "media-type"), "examples": ("map", "example")}
GRAMMAR_V3: dict[str, Rules] = {
    "root": {"paths": ("xmap", "path-item"), "webhooks": ("map", "path-item"), "components": ("one", "components")},
    "components": {
        "schemas": ("map", "schema"),
        "responses": ("map", "response"),
        "parameters": ("map", "parameter"),
        "examples": ("map", "example"),
        "requestBodies": ("map", "request-body"),
        "headers": ("map", "header"),
        "securitySchemes": ("map", "security-scheme"),
        "links": ("map", "link"),
        "callbacks": ("map", "callback"),
        "pathItems": ("map", "path-item"),
    },
    "path-item": {"parameters": ("list", "parameter"), **_OPERATIONS},
    "operation": {
        "parameters": ("list", "parameter"),
        "requestBody": ("one", "request-body"),
        "responses": ("xmap", "response"),
        "callbacks": ("map", "callback"),
    },
    "parameter": _V3_PARAMETER,
    "header": _V3_PARAMETER,
    "request-body": {"content": ("map", "media-type")},
    "media-type": {"schema": ("one", "schema"), "examples": ("map", "example"), "encoding": ("map", "encoding")},
    "encoding": {"headers": ("map", "header")},
    "response": {"headers": ("map", "header"), "content": ("map", "media-type"), "links": ("map", "link")},
    "callback": {"*": ("one", "path-item")},  # a map of runtime expressions to path items
    "schema": _SCHEMA,
}
GRAMMAR_V2: dict[str, Rules] = {
    "root": {
        "paths": ("xmap", "path-item"),
        "definitions": ("map", "schema"),
        "parameters": ("map", "parameter"),
        "responses": ("map", "response"),
    },
    "path-item": {"parameters": ("list", "parameter"), **_OPERATIONS},
    "operation": {"parameters": ("list", "parameter"), "responses": ("xmap", "response")},
    "parameter": {"schema": ("one", "schema")},
    "response": {"schema": ("one", "schema")},
    "schema": _SCHEMA,
}

_V30_NAMES = {
    "path-item": "PathItem", "operation": "Operation", "parameter": "Parameter", "header": "Header",
    "request-body": "RequestBody", "media-type": "MediaType", "encoding": "Encoding", "response": "Response",
    "example": "Example", "link": "Link", "callback": "Callback", "schema": "Schema",
    "security-scheme": "SecurityScheme", "components": "Components",
}  # fmt: skip
_V31_NAMES = {kind: kind for kind in _V30_NAMES} | {"callback": "callbacks"}
_V20_NAMES = {kind: kind for kind in ("operation", "parameter", "response", "schema")} | {"path-item": "pathItem"}
# kind -> the definition that describes it in the meta-schema openapi-spec-validator ships
DEFINITION_NAMES = {"2.0": _V20_NAMES, "3.0": _V30_NAMES, "3.1": _V31_NAMES}


@dataclass(frozen=True)
class Fragment:
    """An object reached through a $ref in a file other than the root, and what it must be."""

    source: SourceFile
    pointer: str
    kind: str


def walk_references(files: SpecFiles, family: str) -> list[Fragment]:
    """Resolve every $ref the spec holds (reading the files they name); return the external objects.

    Each object is walked once, so reference cycles end and shared objects cost nothing more.
    """
    grammar = GRAMMAR_V2 if family == "2.0" else GRAMMAR_V3
    fragments: list[Fragment] = []
    seen: set[int] = set()  # ids of the objects walked: documents stay loaded, so ids stay unique
    listed: set[int] = set()  # ids of the fragments found
    stack: list[tuple[SourceFile, str, Any, str]] = [(files.root, "", files.root.document, "root")]
    while stack:
        source, pointer, node, kind = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if "$ref" in node and kind != "root":
            target = files.resolve(source, join(pointer, "$ref"), node["$ref"])
            if target is not None and isinstance(target.node, dict) and id(target.node) not in seen:
                external = target.source is not files.root and "$ref" not in target.node
                if external and id(target.node) not in listed:
                    listed.add(id(target.node))
                    fragments.append(Fragment(target.source, target.pointer, kind))
                stack.append((target.source, target.pointer, target.node, kind))
            if kind != "schema" or family != "3.1":
                continue  # only 3.1 schemas give meaning to keywords next to $ref
        stack.extend(reversed(list(_children(grammar.get(kind, {}), source, pointer, node))))
    return fragments


def _children(rules: Rules, source: SourceFile, pointer: str, node: dict[str, Any]) -> Iterator[tuple]:
    """(source, pointer, object, kind) for each field of ``node`` that holds OpenAPI objects."""
    for key, value in node.items():
        rule = rules.get(key) or (rules.get("*") if not str(key).startswith("x-") else None)
        if rule is None:
            continue
        shape, kind = rule
        at = join(pointer, key)
        if shape == "one" and isinstance(value, dict):
            yield source, at, value, kind
            continue
        if shape in ("map", "xmap") and isinstance(value, dict):
            entries = [(name, sub) for name, sub in value.items() if shape == "map" or not str(name).startswith("x-")]
        elif shape in ("list", "one") and isinstance(value, list):  # `items` may be a list of schemas
            entries = list(enumerate(value))
        else:
            continue
        for name, sub in entries:
            if isinstance(sub, dict):
                yield source, join(at, name), sub, kind
