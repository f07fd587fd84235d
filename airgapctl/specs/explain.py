"""What a meta-schema's "no" means, in words, with the fix when the mistake is a well-known one.

jsonschema reports every alternative it tried; a person needs the one that says most, said
plainly: ``false is not allowed here; expected one of [true]``, ``unknown field 'sumary'; did
you mean 'summary'?``, ``OpenAPI 3.0 does not allow $ref here``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from typing import Any

from airgapctl.specs.model import SpecIssue
from airgapctl.specs.refs import join

_MAX_MESSAGE = 200
_EXTENSION = "^x-"
_RESPONSE_CODE = re.compile(r"^\^\[1-5\]")

REF_NOT_ALLOWED_FIX = (
    "write the value in place: a $ref may stand only for the objects OpenAPI names"
    " (schemas, parameters, responses, ...)"
)
# Required fields people leave out, and what to write.
_REQUIRED_FIXES = {
    "responses": "an operation needs at least one response, e.g. responses: {'200': {description: OK}}",
    "description": "write a description (it may be empty: description: '')",
    "openapi": "start the document with openapi: 3.0.3 (or 3.1.0)",
    "info": "add info: {title: ..., version: ...}",
    "title": "add a title to info",
    "version": "add the API's version to info (a string, e.g. version: '1.0')",
    "paths": "add paths: with the API's operations",
}


def issues_from_error(display: str, pointer: str, error: Any, family: str, dialect: bool = False) -> list[SpecIssue]:
    """The issues one jsonschema ValidationError stands for, at ``pointer`` (where the checked node is)."""
    best = most_specific(error)
    at = join(pointer, *best.absolute_path)
    if _is_misplaced_ref(best):
        return [ref_not_allowed(display, at, family)]
    if best.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(best.instance, dict):
        unknown = _unknown_fields(best)
        if unknown:
            return [_unknown_field(display, at, name, best) for name in unknown]
    kind = "json-schema" if dialect else "structure"
    alternatives = _required_alternatives(error)
    if alternatives:  # "one of paths, components or webhooks", not the first alternative's "paths is required"
        at = join(pointer, *error.absolute_path)
        text = f"one of {_either(alternatives)} is required"
        return [SpecIssue(display, at, text, kind=kind, fix=_REQUIRED_FIXES.get(alternatives[0]))]
    return [SpecIssue(display, at, message(best, error), kind=kind, fix=_fix(best, family, dialect))]


def _required_alternatives(error: Any) -> list[str]:
    """The fields of an anyOf/oneOf whose every alternative is one required field, else []."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return []
    leaves = list(_leaves(error))
    if not all(leaf.validator == "required" and leaf.absolute_path == error.absolute_path for leaf in leaves):
        return []
    given = error.instance if isinstance(error.instance, dict) else {}
    # "or a $ref" is the Reference Object alternative: it says nothing about what is missing.
    names = [name for leaf in leaves for name in leaf.validator_value if name not in given and name != "$ref"]
    return names if len(set(names)) > 1 else []


def _either(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in dict.fromkeys(names)]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def ref_not_allowed(
    display: str, object_pointer: str, family: str, what: str | None = None, fix: str | None = None
) -> SpecIssue:
    """The one issue for a $ref the standard does not allow, at the $ref; ``what`` it stands for, if known."""
    where = f"on {what}" if what and not what.startswith("the ") else (f"in place of {what}" if what else "here")
    return SpecIssue(
        display,
        join(object_pointer, "$ref"),
        f"OpenAPI {family} does not allow $ref {where}",
        kind="ref-not-allowed",
        fix=fix or REF_NOT_ALLOWED_FIX,
    )


def most_specific(error: Any) -> Any:
    """The leaf error that says most about what is wrong, under oneOf/anyOf alternatives.

    Prefer the deepest; among equals, not a mismatch of a discriminating string (``in: path``
    against the query alternative) and not the "or a $ref" alternative.
    """
    leaves = list(_leaves(error))
    if len(leaves) == 1:
        return leaves[0]
    return max(leaves, key=lambda leaf: (len(leaf.absolute_path), not _is_alternative_mismatch(leaf)))


def _leaves(error: Any) -> Iterator[Any]:
    if not error.context:
        yield error
        return
    for sub in error.context:
        yield from _leaves(sub)


def _is_alternative_mismatch(error: Any) -> bool:
    if error.validator == "required" and error.validator_value == ["$ref"]:
        return True
    return error.validator in ("enum", "const") and isinstance(error.instance, str)


def _is_misplaced_ref(best: Any) -> bool:
    """An object with a $ref where the meta-schema wants something else: the $ref is the cause."""
    instance = best.instance
    if not isinstance(instance, dict) or not isinstance(instance.get("$ref"), str):
        return False
    if best.validator in ("additionalProperties", "unevaluatedProperties"):
        return "$ref" in _unknown_fields(best)
    return best.validator in ("type", "required", "oneOf", "anyOf", "not")


def _unknown_fields(best: Any) -> list[str]:
    schema = best.schema if isinstance(best.schema, dict) else {}
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [key for key in best.instance if key not in known and not any(re.search(p, key) for p in patterns)]


def _unknown_field(display: str, at: str, name: str, best: Any) -> SpecIssue:
    patterns = list((best.schema or {}).get("patternProperties", {}))
    pointer = join(at, name)
    if "^\\/" in patterns:  # the paths map: every key is a path
        return SpecIssue(display, pointer, f"path '{name}' does not start with '/'", fix=f"write '/{name}'")
    if any(_RESPONSE_CODE.match(p) for p in patterns):
        fix = "a response code is three digits (200), a range with capital X (2XX), or default"
        return SpecIssue(display, pointer, f"'{name}' is not a response code", fix=fix)
    known = list((best.schema or {}).get("properties", {}))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if _EXTENSION in patterns and re.match(r"^[xX][-_.]", name):
        fix = f"an extension starts with a lower-case 'x-': write 'x-{name[2:]}'"
    elif close:
        fix = f"did you mean '{close[0]}'?"
    elif _EXTENSION in patterns:
        fix = "a field the standard does not define must start with x- (an extension)"
    else:
        fix = f"the fields allowed here are: {', '.join(known)}" if known else None
    return SpecIssue(display, pointer, f"unknown field '{name}'", fix=fix)


def message(best: Any, top: Any) -> str:
    if best.validator == "type":
        expected = best.validator_value if isinstance(best.validator_value, list) else [best.validator_value]
        return f"expected {' or '.join(map(str, expected))}, got {json_type(best.instance)}"
    if best.validator in ("enum", "const"):
        allowed = _allowed_values(best, top)
        return _shorten(f"{_dump(best.instance)} is not allowed here; expected one of {_dump(allowed)}")
    if best.validator == "uniqueItems":
        return "the items must be unique"
    if best.validator in ("oneOf", "anyOf"):
        return f"this {json_type(best.instance)} matches none of the forms allowed here"
    return _shorten(best.message)


def _fix(best: Any, family: str, dialect: bool) -> str | None:
    """What to write instead, for the mistakes people make moving between versions."""
    name = best.absolute_path[-1] if best.absolute_path else None
    if best.validator == "required" and isinstance(best.validator_value, list):
        given = best.instance if isinstance(best.instance, dict) else {}
        missing = [name for name in best.validator_value if name not in given]
        return _REQUIRED_FIXES.get(missing[0]) if missing else None
    if best.validator != "type":
        return None
    if name in ("exclusiveMaximum", "exclusiveMinimum") and isinstance(best.instance, bool) and dialect:
        bound = "maximum" if name == "exclusiveMaximum" else "minimum"
        return (f"in OpenAPI 3.1 (JSON Schema 2020-12) {name} is the bound itself: replace"
                f" '{bound}: N, {name}: true' by '{name}: N'")  # fmt: skip
    if name in ("exclusiveMaximum", "exclusiveMinimum") and family in ("2.0", "3.0") and not dialect:
        bound = "maximum" if name == "exclusiveMaximum" else "minimum"
        return f"in OpenAPI {family} {name} is a flag: write '{bound}: N, {name}: true' (or move to openapi: 3.1.0)"
    if name == "type" and isinstance(best.instance, list) and family in ("2.0", "3.0"):
        return (f"OpenAPI {family} takes one type: for [string, 'null'] write 'type: string' with"
                " 'nullable: true' (or move to openapi: 3.1.0, where type lists are JSON Schema)")  # fmt: skip
    return None


def _allowed_values(best: Any, top: Any) -> list[Any]:
    """Every value some alternative accepts at that place: ``in`` may be path, query, header or cookie."""
    allowed: list[Any] = []
    for leaf in _leaves(top):
        if leaf.absolute_path == best.absolute_path and leaf.validator in ("enum", "const"):
            values = leaf.validator_value if leaf.validator == "enum" else [leaf.validator_value]
            allowed += [value for value in values if value not in allowed]
    return allowed


def json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "integer" if isinstance(value, int) else "number")


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
