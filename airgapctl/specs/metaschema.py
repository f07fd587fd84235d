"""A fast yes/no check of OpenAPI documents against the meta-schemas openapi-spec-validator ships.

jsonschema interprets a schema anew at every node (a validator object per step, a registry
lookup per $ref): 6 s for a 2,000-operation spec. Here each meta-schema is compiled once
into nested closures (schemachecks.py) that only answer "valid or not": about 15x faster.
jsonschema stays the authority on what is wrong: MetaSchema runs it on whatever the fast
check rejects. Only the keywords the shipped meta-schemas use are compiled; any other
raises UnsupportedSchema, and jsonschema then does everything.

Besides the OpenAPI meta-schemas, the JSON Schema dialects OpenAPI 3.1 Schema Objects are
written in (the OpenAPI base dialect, JSON Schema 2020-12) are compiled the same way, from
the meta-schemas openapi-schema-validator and jsonschema-specifications ship: no network.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from airgapctl.specs.schemachecks import (
    COMBINATORS,
    DRAFT4_INTEGER,
    EMPTY,
    TYPES,
    Check,
    all_of,
    condition_check,
    dependent_check,
    enum_check,
    is_number,
    items_check,
    key_matcher,
    properties_check,
    size_check,
    type_check,
    unique,
)

# Keywords that never make an instance invalid (formats are not asserted, as in jsonschema by default).
_ANNOTATIONS = frozenset(("$schema", "id", "$id", "description", "title", "default", "definitions", "$defs", "$comment",
                          "format", "examples", "deprecated", "readOnly", "writeOnly", "$dynamicAnchor",
                          "$vocabulary", "$anchor"))  # fmt: skip


class UnsupportedSchema(Exception):
    """The meta-schema uses something this compiler does not implement."""


class FastValidator:
    """One meta-schema compiled to closures; ``is_valid(instance, definition)``."""

    def __init__(self, schema: dict[str, Any], documents: dict[str, Any] | None = None) -> None:
        """``documents``: other schemas the meta-schema refers to, by URI (the 2.0 one uses draft 4's)."""
        self.root = schema
        self.documents = {uri.rstrip("#"): document for uri, document in (documents or {}).items()}
        self.draft4 = "draft-04" in str(schema.get("$schema", ""))
        # Whether the checks being built must say which properties they evaluated: only what an
        # unevaluatedProperties (2020-12) looks at needs to, and the rest is faster without.
        self.annotate = False
        self.definitions = schema.get("definitions") or schema.get("$defs") or {}
        self._compiled: dict[tuple[int, bool], Check] = {}
        self._home: dict[int, Any] = {}  # the document a $ref target sits in: its own refs resolve there
        self._current = schema
        self._root_check = self.compile(schema)

    def is_valid(self, instance: Any, definition: str | None = None) -> bool:
        check = self._root_check if definition is None else self.compile(self.definitions[definition])
        return check(instance) is not None

    def compile(self, schema: Any) -> Check:
        if schema is True or schema == {}:
            return lambda _: EMPTY
        if schema is False:
            return lambda _: None
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"schema {schema!r}")
        key = (id(schema), self.annotate)
        if key not in self._compiled:
            late: list[Check] = []  # a recursive $ref meets this schema before it is built
            self._compiled[key] = lambda instance: late[0](instance)
            outer, self._current = self._current, self._home.get(id(schema), self._current)
            try:
                late.append(self._build(schema))
            finally:
                self._current = outer
            self._compiled[key] = late[0]
        return self._compiled[key]

    def _build(self, schema: dict[str, Any]) -> Check:
        keywords = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
        if self.draft4 and "$ref" in keywords:
            keywords = {"$ref": keywords["$ref"]}  # draft 4 ignores the siblings of $ref
        unevaluated = keywords.pop("unevaluatedProperties", None)
        outer = self.annotate
        self.annotate = outer or unevaluated is not None  # its siblings say what they evaluated
        try:
            checks = [*self._object_checks(keywords), *self._array_checks(keywords), *self._value_checks(keywords)]
            checks += [self._applicator(name, value, keywords) for name, value in keywords.items()]
            checks = [check for check in checks if check is not None]
            if unevaluated is not None:
                checks.append(self._unevaluated(self.compile(unevaluated), list(checks)))
                checks = checks[-1:]
            return all_of(checks, self.annotate)
        finally:
            self.annotate = outer

    def _object_checks(self, keywords: dict[str, Any]) -> list[Check]:
        props = {name: self.compile(sub) for name, sub in keywords.pop("properties", {}).items()}
        patterns = [(key_matcher(p), self.compile(sub)) for p, sub in keywords.pop("patternProperties", {}).items()]
        additional = self.compile(keywords.pop("additionalProperties")) if "additionalProperties" in keywords else None
        checks = []
        if props or patterns or additional:
            checks.append(properties_check(props, patterns, additional, self.annotate))
        required = keywords.pop("required", None)
        if required:
            checks.append(lambda i: None if isinstance(i, dict) and any(k not in i for k in required) else EMPTY)
        low, high = keywords.pop("minProperties", None), keywords.pop("maxProperties", None)
        if low is not None or high is not None:
            checks.append(size_check(dict, low, high))
        names = keywords.pop("propertyNames", None)
        if names is not None:
            check = self.compile(names)
            checks.append(lambda i: None if isinstance(i, dict) and any(check(k) is None for k in i) else EMPTY)
        return checks

    def _array_checks(self, keywords: dict[str, Any]) -> list[Check]:
        checks = []
        if "items" in keywords:
            items = keywords.pop("items")
            extra = keywords.pop("additionalItems", True)
            positional = [self.compile(sub) for sub in items] if isinstance(items, list) else []
            rest = self.compile(extra if isinstance(items, list) else items)
            checks.append(items_check(positional, rest))
        keywords.pop("additionalItems", None)  # without an items array it does nothing
        if keywords.pop("uniqueItems", False):
            checks.append(lambda i: None if isinstance(i, list) and not unique(i) else EMPTY)
        low, high = keywords.pop("minItems", None), keywords.pop("maxItems", None)
        if low is not None or high is not None:
            checks.append(size_check(list, low, high))
        return checks

    def _value_checks(self, keywords: dict[str, Any]) -> list[Check]:
        checks = []
        if "type" in keywords:
            names = keywords.pop("type")
            tests = [DRAFT4_INTEGER if self.draft4 and n == "integer" else TYPES[n] for n in _listed(names)]
            checks.append(type_check(tests))
        if "enum" in keywords or "const" in keywords:
            allowed = keywords.pop("enum") if "enum" in keywords else [keywords.pop("const")]
            checks.append(enum_check(allowed))
        if "pattern" in keywords:
            regex = re.compile(keywords.pop("pattern"))
            checks.append(lambda i: None if isinstance(i, str) and not regex.search(i) else EMPTY)
        if self.draft4 and "minimum" in keywords:
            low, exclusive = keywords.pop("minimum"), keywords.pop("exclusiveMinimum", False)
            if exclusive is not True and exclusive is not False:
                raise UnsupportedSchema("numeric exclusiveMinimum")
            too_low = (lambda i: i <= low) if exclusive else (lambda i: i < low)
            checks.append(lambda i: None if is_number(i) and too_low(i) else EMPTY)
        if not self.draft4:  # 2020-12: each bound is its own keyword, exclusive ones are numbers
            for name, out_of_range in _BOUNDS.items():
                if name in keywords:
                    checks.append(_bound_check(keywords.pop(name), out_of_range))
        return checks

    def _applicator(self, name: str, value: Any, keywords: dict[str, Any]) -> Check | None:
        if name in ("$ref", "$dynamicRef"):
            return self.compile(self._resolve(value, dynamic=name == "$dynamicRef"))
        if name == "allOf" and not self.annotate:
            merged = self._merged_vocabularies(value)
            if merged is not None:
                return merged
        if name in ("allOf", "anyOf", "oneOf"):
            return COMBINATORS[name]([self.compile(sub) for sub in value], self.annotate)
        if name == "not":
            check = self.compile(value)
            return lambda i: EMPTY if check(i) is None else None
        if name == "if":
            branches = (self.compile(keywords.get(branch, True)) for branch in ("then", "else"))
            return condition_check(self.compile(value), *branches)
        if name in ("then", "else"):
            return None  # part of "if"; without it they do nothing
        if name == "dependentSchemas":
            return dependent_check({prop: self.compile(sub) for prop, sub in value.items()}, self.annotate)
        raise UnsupportedSchema(f"keyword {name}")

    def _merged_vocabularies(self, members: list[Any]) -> Check | None:
        """An allOf of schemas that only give a type and properties, as one pass over the properties.

        The 2020-12 meta-schema is the allOf of seven vocabularies, each a map of its keywords:
        checked as written, every Schema Object of a 3.1 spec is walked seven times. None when
        the members do anything else.
        """
        found: list[tuple[dict[str, Any], Any]] = []
        if not self._flatten(members, found):
            return None
        types: list[tuple[str, ...]] = []
        properties: dict[str, list[Check]] = {}
        for node, document in found:
            outer, self._current = self._current, document
            try:
                if "type" in node and tuple(_listed(node["type"])) not in types:
                    types.append(tuple(_listed(node["type"])))
                for name, sub in node.get("properties", {}).items():
                    properties.setdefault(name, []).append(self.compile(sub))
            finally:
                self._current = outer
        checks = [type_check([TYPES[n] for n in names]) for names in types]
        merged = {name: all_of(subs, False) for name, subs in properties.items()}
        checks.append(properties_check(merged, [], None, False))
        return all_of(checks, False)

    def _flatten(self, members: list[Any], found: list[tuple[dict[str, Any], Any]]) -> bool:
        for member in members:
            node, document = member, self._current
            if isinstance(member, dict) and set(member) - _ANNOTATIONS == {"$ref"}:
                node = self._resolve(member["$ref"], dynamic=False)
                document = self._home.get(id(node), self._current)
            if not isinstance(node, dict) or not set(node) - _ANNOTATIONS <= {"type", "properties", "allOf"}:
                return False
            if any(n not in TYPES for n in _listed(node.get("type", []))):
                return False
            outer, self._current = self._current, document
            try:
                if not self._flatten(node.get("allOf", []), found):
                    return False
            finally:
                self._current = outer
            found.append((node, document))
        return True

    def _resolve(self, reference: str, dynamic: bool) -> Any:
        if dynamic:  # the shipped 3.1 schema has one dynamic anchor, so the scope cannot change it
            return _find_anchor(self.root, reference.lstrip("#"))
        address, _, fragment = reference.partition("#")
        if address:  # relative to the $id of the document it is written in
            address = urljoin(str(self._current.get("$id") or self._current.get("id") or ""), address)
        document = self.documents.get(address) if address else self._current
        if document is None:
            raise UnsupportedSchema(f"$ref {reference}")
        node = document
        for token in fragment.split("/")[1:]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
        self._home[id(node)] = document
        return node

    def _unevaluated(self, check: Check, siblings: list[Check]) -> Check:
        inner = all_of(siblings, annotate=True)

        def unevaluated(instance: Any) -> Any:
            evaluated = inner(instance)
            if evaluated is None or not isinstance(instance, dict):
                return evaluated
            if any(check(v) is None for k, v in instance.items() if k not in evaluated):
                return None
            return set(instance)

        return unevaluated


_BOUNDS = {
    "minimum": lambda value, bound: value < bound,
    "exclusiveMinimum": lambda value, bound: value <= bound,
    "maximum": lambda value, bound: value > bound,
    "exclusiveMaximum": lambda value, bound: value >= bound,
}


def _bound_check(bound: Any, out_of_range: Any) -> Check:
    if not is_number(bound):
        raise UnsupportedSchema(f"bound {bound!r}")
    return lambda i: None if is_number(i) and out_of_range(i, bound) else EMPTY


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _find_anchor(node: Any, anchor: str) -> Any:
    if isinstance(node, dict):
        if node.get("$dynamicAnchor") == anchor:
            return node
        node = list(node.values())
    for child in node if isinstance(node, list) else ():
        found = _find_anchor(child, anchor)
        if found is not None:
            return found
    return None


class MetaSchema:
    """One version's meta-schema: a compiled yes/no check first, jsonschema to say what is wrong."""

    def __init__(self, schema: dict[str, Any], documents: dict[str, Any]) -> None:
        self.schema = schema
        self.documents = documents
        self.definitions: dict[str, Any] = schema.get("definitions") or schema.get("$defs") or {}
        try:
            self.fast: FastValidator | None = FastValidator(schema, documents)
        except UnsupportedSchema:  # a newer meta-schema than we compile: jsonschema does it all
            self.fast = None
        self._explainers: dict[str | None, Any] = {}

    def errors(self, node: Any, definition: str | None = None) -> list[Any]:
        """jsonschema's ValidationErrors for ``node`` (the whole document, or one definition)."""
        if self.fast is not None and self.fast.is_valid(node, definition):
            return []
        return self.explain(node, definition)

    def explain(self, node: Any, definition: str | None = None) -> list[Any]:
        """jsonschema's ValidationErrors alone, without the compiled check first."""
        return list(self._explainer(definition).iter_errors(node))

    def _explainer(self, definition: str | None) -> Any:
        if not self._explainers:
            from jsonschema.validators import validator_for  # imported only when needed: 0.2 s
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012

            # The documents jsonschema does not know itself (the OpenAPI dialect's vocabulary), by URI.
            registry = Registry().with_resources(
                (uri, Resource.from_contents(document, default_specification=DRAFT202012))
                for uri, document in self.documents.items()
            )
            self._explainers[None] = validator_for(self.schema)(self.schema, registry=registry)
        if definition not in self._explainers:
            # Same resolver as the root, so the definition's own "#/..." references still resolve.
            self._explainers[definition] = self._explainers[None].evolve(schema=self.definitions[definition])
        return self._explainers[definition]


# Schemas the shipped meta-schemas refer to by URI, and where jsonschema-specifications keeps them.
_REFERENCED_SCHEMAS = {"http://json-schema.org/draft-04/schema": ("jsonschema_specifications", "schemas/draft4")}


@functools.cache
def meta_schema(family: str) -> MetaSchema:
    """The meta-schema openapi-spec-validator ships for 2.0, 3.0 or 3.1, read without importing it."""
    schema = _package_json("openapi_spec_validator", f"resources/schemas/v{family}/schema.json")
    text = json.dumps(schema)
    documents = {
        uri: _package_json(package, f"{folder}/metaschema.json")
        for uri, (package, folder) in _REFERENCED_SCHEMAS.items()
        if uri in text
    }
    return MetaSchema(schema, documents)


# The JSON Schema dialects an OpenAPI 3.1 Schema Object may be checked against offline.
OAS31_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_DRAFT_2020_12_VOCABULARIES = ("core", "applicator", "unevaluated", "validation", "meta-data", "format-annotation",
                               "content")  # fmt: skip


@functools.cache
def dialect_schema(uri: str) -> MetaSchema | None:
    """The meta-schema of a JSON Schema dialect by its URI, as shipped; None for a dialect not shipped."""
    key = uri.rstrip("#")
    documents = {DRAFT_2020_12: _package_json("jsonschema_specifications", "schemas/draft202012/metaschema.json")}
    for name in _DRAFT_2020_12_VOCABULARIES:
        vocabulary = _package_json("jsonschema_specifications", f"schemas/draft202012/vocabularies/{name}")
        documents[vocabulary["$id"]] = vocabulary
    oas = _package_json("openapi_schema_validator", "schemas/oas3.1/metaschema.json")
    base = _package_json("openapi_schema_validator", "schemas/oas3.1/vocabularies/base")
    documents |= {oas["$id"]: oas, base["$id"]: base}
    if key not in documents or key not in (OAS31_DIALECT, DRAFT_2020_12):
        return None
    return MetaSchema(documents[key], {uri: doc for uri, doc in documents.items() if uri != key})


def _package_json(package: str, relative: str) -> Any:
    spec = importlib.util.find_spec(package)
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        raise RuntimeError(f"{package} is not installed")  # a broken install, not bad input
    return json.loads((Path(next(iter(locations))) / relative).read_text(encoding="utf-8"))
