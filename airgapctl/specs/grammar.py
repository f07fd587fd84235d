"""Where an OpenAPI document may hold ``$ref``, and what kind of object each one stands for.

The walk follows the OpenAPI object grammar instead of every mapping in the file, so literal
values (examples, defaults, enums, extensions) are never mistaken for references, and each
object reached through a ``$ref`` is known by kind: the validator checks it against that
kind's definition in the meta-schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from airgapctl.specs.model import HTTP_METHODS
from airgapctl.specs.refs import SCHEMA_MANY, SCHEMA_NAMED, SCHEMA_ONE, SourceFile, SpecFiles, Target, join

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


# The kinds of object OpenAPI lets a $ref stand for (a Path Item has its own $ref field).
REFERABLE_V3 = frozenset(("parameter", "header", "request-body", "response", "example", "link", "callback", "schema",
                          "security-scheme", "path-item"))  # fmt: skip
REFERABLE_V2 = frozenset(("parameter", "response", "schema", "path-item"))
# How messages name an object of each kind.
OBJECT_NAMES = {
    "root": "the OpenAPI Object", "components": "the Components Object", "path-item": "a Path Item Object",
    "operation": "an Operation Object", "parameter": "a Parameter Object", "header": "a Header Object",
    "request-body": "a Request Body Object", "media-type": "a Media Type Object", "encoding": "an Encoding Object",
    "response": "a Response Object", "callback": "a Callback Object", "schema": "a Schema Object",
    "example": "an Example Object", "link": "a Link Object", "security-scheme": "a Security Scheme Object",
}  # fmt: skip


@dataclass(frozen=True)
class Fragment:
    """An object reached through a $ref in a file other than the root, and what it must be."""

    source: SourceFile
    pointer: str
    kind: str


@dataclass(frozen=True)
class MisplacedRef:
    """A ``$ref`` where the standard allows none: on an Operation Object, in place of the paths map, ..."""

    source: SourceFile
    pointer: str  # of the object holding the $ref
    what: str  # "an Operation Object", "the 'paths' map of the OpenAPI Object"
    target: Target | None  # where it leads, when it resolves


@dataclass(frozen=True)
class SchemaNode:
    """A Schema Object (or, in Swagger 2.0, a non-body parameter, which carries schema keywords)."""

    source: SourceFile
    pointer: str
    node: dict[str, Any]
    top: bool  # not inside another schema written in place: checking it covers the schemas within


@dataclass
class Walk:
    """What walking the grammar found besides the references it resolved."""

    fragments: list[Fragment] = field(default_factory=list)
    misplaced: list[MisplacedRef] = field(default_factory=list)
    schemas: list[SchemaNode] = field(default_factory=list)


def walk_references(files: SpecFiles, family: str) -> Walk:
    """Resolve every $ref the spec holds (reading the files they name); return what the walk found.

    Each object is walked once, so reference cycles end and shared objects cost nothing more. A
    $ref the standard does not allow is recorded and followed all the same, so that what it
    leads to is read, checked and counted as if it were written in place.
    """
    grammar = GRAMMAR_V2 if family == "2.0" else GRAMMAR_V3
    referable = REFERABLE_V2 if family == "2.0" else REFERABLE_V3
    walk = Walk()
    seen: set[int] = set()  # ids of the objects walked: documents stay loaded, so ids stay unique
    listed: set[int] = set()  # ids of the fragments found
    # (source, pointer, object, kind, top): top is False for a schema written inside another one
    stack: list[tuple[SourceFile, str, Any, str, bool]] = [(files.root, "", files.root.document, "root", True)]
    while stack:
        source, pointer, node, kind, top = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if _has_schema_keywords(node, kind, family):
            walk.schemas.append(SchemaNode(source, pointer, node, top))
        if "$ref" in node and kind != "root":
            target = files.resolve(source, join(pointer, "$ref"), node["$ref"])
            if kind not in referable:
                walk.misplaced.append(MisplacedRef(source, pointer, OBJECT_NAMES.get(kind, kind), target))
            if target is not None and isinstance(target.node, dict) and id(target.node) not in seen:
                reached = target.source is not files.root or kind not in referable  # else the root check sees it
                if reached and "$ref" not in target.node and id(target.node) not in listed:
                    listed.add(id(target.node))
                    walk.fragments.append(Fragment(target.source, target.pointer, kind))
                stack.append((target.source, target.pointer, target.node, kind, True))
            if kind not in _SIBLINGS_APPLY[family]:
                continue  # a Reference Object: the keywords beside $ref are ignored
        stack.extend(reversed(list(_children(grammar.get(kind, {}), files, walk, source, pointer, node, kind))))
    return walk


def _has_schema_keywords(node: dict[str, Any], kind: str, family: str) -> bool:
    if kind == "schema":
        return "$ref" not in node or family == "3.1"  # before 3.1 the keywords beside a $ref are ignored
    return kind == "parameter" and family == "2.0" and node.get("in") not in (None, "body")


# Kinds whose fields beside a $ref mean something: a Path Item's, and in 3.1 a Schema Object's keywords.
_SIBLINGS_APPLY = {"2.0": frozenset(("path-item",)), "3.0": frozenset(("path-item",)),
                   "3.1": frozenset(("path-item", "schema"))}  # fmt: skip


def _children(
    rules: Rules, files: SpecFiles, walk: Walk, source: SourceFile, pointer: str, node: dict[str, Any], kind: str
) -> Iterator[tuple]:
    """(source, pointer, object, kind, top) for each field of ``node`` that holds OpenAPI objects."""
    for key, value in node.items():
        rule = rules.get(key) or (rules.get("*") if not str(key).startswith("x-") else None)
        if rule is None:
            continue
        shape, child_kind = rule
        top = kind != "schema"
        at = join(pointer, key)
        if shape == "one" and isinstance(value, dict):
            yield source, at, value, child_kind, top
            continue
        here = source
        if shape in ("map", "xmap", "list") and isinstance(value, dict) and isinstance(value.get("$ref"), str):
            # A $ref in place of the whole map or list: not OpenAPI, but followed so nothing goes unread.
            target = files.resolve(source, join(at, "$ref"), value["$ref"])
            what = f"the '{key}' {'list' if shape == 'list' else 'map'} of {OBJECT_NAMES.get(kind, kind)}"
            walk.misplaced.append(MisplacedRef(source, at, what, target))
            if target is None:
                continue
            here, at, value = target.source, target.pointer, target.node
        if shape in ("map", "xmap") and isinstance(value, dict):
            entries = [(name, sub) for name, sub in value.items() if shape == "map" or not str(name).startswith("x-")]
        elif shape in ("list", "one") and isinstance(value, list):  # `items` may be a list of schemas
            entries = list(enumerate(value))
        else:
            continue
        for name, sub in entries:
            if isinstance(sub, dict):
                if here is not source and "$ref" not in sub:  # an entry of a map that a $ref stood for
                    walk.fragments.append(Fragment(here, join(at, name), child_kind))
                yield here, join(at, name), sub, child_kind, top
