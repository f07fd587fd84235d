"""The rules on Schema Objects that the OpenAPI meta-schemas leave out.

* OpenAPI 2.0 and 3.0: a ``default`` must be of the schema's ``type`` (unlike JSON Schema, where
  it is an annotation; OpenAPI 3.1 follows JSON Schema again).
* OpenAPI 3.1: a Schema Object is written in a JSON Schema dialect, by default the OpenAPI base
  dialect over 2020-12 (``exclusiveMaximum`` is a number, ``type`` may be a list); each is
  checked against the dialect's meta-schema as shipped, offline.
* Every version: a ``pattern`` is a regular expression.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from airgapctl.specs.explain import issues_from_error, json_type
from airgapctl.specs.grammar import SchemaNode
from airgapctl.specs.metaschema import OAS31_DIALECT, dialect_schema
from airgapctl.specs.model import SpecIssue
from airgapctl.specs.refs import join

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer())),
    "number": lambda v: not isinstance(v, bool) and isinstance(v, (int, float)),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
# ECMA-262 features Python's re spells otherwise, or lacks: such patterns are not judged here.
_ECMA_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_ECMA_ONLY = re.compile(r"\\[pPu]\{|\\c[A-Za-z]|\(\?<[=!]")


def schema_object_issues(schemas: list[SchemaNode], family: str, root: dict[str, Any]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for schema in schemas:
        if family != "3.1" and "default" in schema.node:
            issues += _default_issues(schema, family)
        issues += _pattern_issues(schema)
    if family == "3.1":
        issues += dialect_issues(schemas, root)
    return issues


def _default_issues(schema: SchemaNode, family: str) -> list[SpecIssue]:
    declared, value = schema.node.get("type"), schema.node["default"]
    conforms = _TYPES.get(declared) if isinstance(declared, str) else None
    if conforms is None or conforms(value):
        return []  # no type (or one the meta-schema refuses already): anything goes
    if value is None and family == "3.0" and schema.node.get("nullable") is True:
        return []
    what = "is null" if value is None else f"{_shorten(json.dumps(value, default=str))} is {_article(json_type(value))}"
    message = f"default {what}, but the type is {declared}"
    fix = f"write a default of type {declared}, or leave the default out"
    if value is None and family == "3.0":
        fix = "add 'nullable: true' to allow null, or leave the default out"
    return [SpecIssue(schema.source.display, join(schema.pointer, "default"), message, kind="default-type", fix=fix)]


def _pattern_issues(schema: SchemaNode) -> list[SpecIssue]:
    issues = []
    patterns: list[tuple[tuple[str, ...], Any]] = [(("pattern",), schema.node.get("pattern"))]
    if isinstance(schema.node.get("patternProperties"), dict):
        patterns += [(("patternProperties", key), key) for key in schema.node["patternProperties"]]
    for where, pattern in patterns:
        problem = regex_problem(pattern) if isinstance(pattern, str) else None
        if problem is not None:
            message = f"{_shorten(json.dumps(pattern))} is not a regular expression: {problem}"
            fix = "write an ECMA-262 regular expression; a literal [ ( { . or \\ is escaped with \\"
            pointer = join(schema.pointer, *where)
            issues.append(SpecIssue(schema.source.display, pointer, message, kind="json-schema", fix=fix))
    return issues


@functools.lru_cache(maxsize=4096)
def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is no regular expression, or None (also for ECMA-262 syntax re cannot judge)."""
    if _ECMA_ONLY.search(pattern):
        return None
    try:
        re.compile(_ECMA_NAMED_GROUP.sub("(?P<", pattern))
    except re.error as error:
        return str(error)
    return None


def dialect_issues(schemas: list[SchemaNode], root: dict[str, Any]) -> list[SpecIssue]:
    """Each outermost Schema Object against its dialect's meta-schema (which covers those within)."""
    default = root.get("jsonSchemaDialect", OAS31_DIALECT)
    issues: list[SpecIssue] = []
    for schema in schemas:
        declared = schema.node.get("$schema", default)
        if not schema.top and "$schema" not in schema.node:
            continue
        meta = dialect_schema(declared) if isinstance(declared, str) else None
        if meta is None:
            continue  # a dialect not shipped: the spec warns about it once
        for error in meta.errors(schema.node):
            issues += issues_from_error(schema.source.display, schema.pointer, error, "3.1", dialect=True)
    return issues


def unknown_dialects(schemas: list[SchemaNode], root: dict[str, Any]) -> set[str]:
    default = root.get("jsonSchemaDialect", OAS31_DIALECT)
    declared = {default} | {s.node["$schema"] for s in schemas if isinstance(s.node.get("$schema"), str)}
    return {uri for uri in declared if not isinstance(uri, str) or dialect_schema(uri) is None}


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
