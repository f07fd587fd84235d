"""What the gateway checks of a request against its operation's spec: query parameters, header
parameters, a required body and a JSON body's schema, compiled to NGINX JavaScript (njs).

One definition: the model carries the generated checks (``request_checks``) and the template
gateway/checks.js (one script per checked body location) the code that runs them; an operation
with nothing to check, or whose mode is ``off``, takes no JavaScript path at all. A check's finding is
``[violation, pointer, keyword]``: the access-log contract's violation (invalid_query,
invalid_header, invalid_body), a JSON pointer (``/name`` of a parameter, the place in a body) and
the keyword that failed. Never the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airgapctl.contracts.access_log import Reason
from airgapctl.gateway.schema_js import HELPERS, compile_schema, js, normalise, regex_literal
from airgapctl.specs.media_types import JSON_MEDIA_TYPE
from airgapctl.specs.operations import schema_dialect

# A JSON body nested deeper than this, or with more values in its arrays and objects together,
# is refused before its schema is checked (njs's own parser stops at 32 levels).
MAX_DEPTH = 20
MAX_MEMBERS = 10000
# The status of a refused request in enforce mode.
STATUS = 400
# How an array parameter's values are joined in one value, by OpenAPI style; "form" with explode
# repeats the parameter instead. deepObject (objects in the query) is not checked.
DELIMITERS = {"form": ",", "simple": ",", "spaceDelimited": " ", "pipeDelimited": "|", "tabDelimited": "\t"}
# A policy compiled before request checks existed says nothing of them: nothing is checked.
UNCHECKED = {"mode": "off", "unknown_query": "allow"}
# Which violation a finding in each part of a request is.
VIOLATIONS = {"query": Reason.INVALID_QUERY.value, "header": Reason.INVALID_HEADER.value,
              "body": Reason.INVALID_BODY.value}  # fmt: skip
# The gateway's own keywords, besides JSON Schema's.
OWN_KEYWORDS = {
    "required": "a required parameter or body is missing",
    "repeated": "a parameter that is no array is sent more than once",
    "unknown": "a query parameter the operation does not declare (unknown_query: refuse)",
    "encoding": "a query parameter's percent-encoding is broken",
    "json": "the body is not JSON",
    "utf8": "the body is not UTF-8",
    "depth": f"the body is nested deeper than {MAX_DEPTH} levels",
    "members": f"the body holds more than {MAX_MEMBERS} values",
    "duplicate_key": "an object of the body names a member twice",
    "number": "a number of the body is not finite, or of magnitude 2^53 or more (where doubles skip integers)",
    "body": "the body could not be read to be checked",
}


@dataclass(frozen=True)
class CheckWarning:
    operation: str
    where: str  # query/NAME, header/NAME or body, then the schema pointer
    keyword: str
    message: str

    def __str__(self) -> str:
        return f"operation {self.operation}: {self.where}: {self.keyword}: {self.message}"


def request_checks(policy: dict[str, Any], op_index: dict[str, int], api_index: dict[str, int]) -> dict[str, Any]:
    """The checks of every operation that has some, for the model: each one's JavaScript, which
    APIs have checks, the limits, warnings (what cannot be checked). ``modules`` groups them."""
    dialects = {api["name"]: schema_dialect(api["spec"]["openapi_version"]) for api in policy["apis"]}
    parts: dict[int, dict[str, str]] = {}
    apis: set[int] = set()
    warnings: list[CheckWarning] = []
    for op in policy["operations"]:
        index = op_index[op["id"]]
        sources: list[str] = []
        entry = _operation_checks(op, index, api_index[op["api"]], dialects[op["api"]], sources, warnings)
        if entry is not None:
            parts[index] = {"source": "".join(sources), "entry": entry}
            apis.add(api_index[op["api"]])
    return {
        "operations": sorted(parts),
        "parts": parts,
        "apis": sorted(apis),
        "helpers": HELPERS,
        "json_media_type_literal": regex_literal(JSON_MEDIA_TYPE),
        "max_depth": MAX_DEPTH,
        "max_members": MAX_MEMBERS,
        "status": STATUS,
        "violations": VIOLATIONS,
        "warnings": [str(warning) for warning in warnings],
    }


def modules(checks: dict[str, Any], classes: dict[int, list[int]]) -> list[dict[str, Any]]:
    """One JavaScript module per checked body location, holding its operations' checks only.

    NGINX's JavaScript module copies the virtual machine of the scripts a location imports for
    every request that runs one, at a cost that grows with their size: the header count that runs
    for most requests keeps to its own small script, and each checked location loads its own
    operations' checks rather than the whole policy's.
    """
    out = []
    for class_index, operations in sorted(classes.items()):
        parts = [checks["parts"][index] for index in operations]
        table = ",\n".join(f"    {js(str(index))}: {checks['parts'][index]['entry']}" for index in operations)
        source = "".join(part["source"] for part in parts) + "var CHECKS = {\n" + table + "\n};\n"
        out.append({"index": class_index, "operations": operations, "source": source})
    return out


def _operation_checks(
    op: dict[str, Any], index: int, api: int, dialect: str, sources: list[str], warnings: list[CheckWarning]
) -> str | None:
    """The JavaScript object literal of one operation's checks, or None when it has none."""
    validation = op.get("validation", UNCHECKED)
    mode = validation["mode"]
    if mode == "off":
        return None
    prefix = f"o{index}"

    def compiled(schema: Any, name: str, where: str) -> str | None:
        if schema in ({}, True):
            return None
        result = compile_schema(schema, "", dialect, prefix=f"{prefix}{name}")
        sources.append(result.source)
        warnings.extend(CheckWarning(op["id"], f"{where}{w.pointer}", w.keyword, w.message) for w in result.warnings)
        return result.entry

    query = []
    for number, param in enumerate(op["query_params"]):
        value = _parameter(param, param.get("style", "form"), param.get("explode", True), dialect)
        if value["unchecked"]:
            warnings.append(CheckWarning(op["id"], f"query/{param['name']}", "style", value["unchecked"]))
        check = None if value["unchecked"] else compiled(param["schema"], f"q{number}", f"query/{param['name']}")
        if param["required"] or check:
            query.append(_param_literal(param, value, check))
    headers = []
    for number, param in enumerate(op.get("header_params", [])):
        value = _parameter(param, "simple", False, dialect)
        if value["unchecked"]:
            warnings.append(CheckWarning(op["id"], f"header/{param['name']}", "style", value["unchecked"]))
        check = None if value["unchecked"] else compiled(param["schema"], f"h{number}", f"header/{param['name']}")
        if param["required"] or check:
            headers.append(_param_literal({**param, "name": param["name"].lower()}, value, check))
    body = op["body"]
    body_required = body["allowed"] and body["max_bytes"] > 0 and body["required"]
    body_check = None
    if body["allowed"] and body["max_bytes"] > 0 and body.get("schema"):
        document = body["schema"]["document"]
        result = compile_schema(document, "/schema", body["schema"]["dialect"], prefix=f"{prefix}b")
        sources.append(result.source)
        warnings.extend(CheckWarning(op["id"], f"body{w.pointer}", w.keyword, w.message) for w in result.warnings)
        body_check = result.entry
    unknown = validation["unknown_query"] == "refuse"
    if not (query or headers or body_required or body_check or unknown):
        return None
    fields = {
        "enforce": js(mode == "enforce"),
        "api": js(api),
        "query": "[" + ", ".join(query) + "]",
        "known": js(sorted(param["name"] for param in op["query_params"])) if unknown else "null",
        "headers": "[" + ", ".join(headers) + "]",
        "body_required": js(body_required),
        "body": body_check or "null",
    }
    return "{" + ", ".join(f"{key}: {value}" for key, value in fields.items()) + "}"


def _types(schema: Any, dialect: str, depth: int = 0) -> list[str]:
    """The types a parameter's text may be read as: its own, or those its allOf/anyOf/oneOf name
    (``Optional[int]`` is often ``anyOf: [{type: integer}, {type: null}]``)."""
    node = normalise(schema, dialect) if isinstance(schema, dict) else {}
    if not isinstance(node, dict):
        return []
    declared = node.get("type")
    types = declared if isinstance(declared, list) else [declared] if isinstance(declared, str) else []
    if not types and depth < 8:
        for keyword in ("allOf", "anyOf", "oneOf"):
            for member in node.get(keyword) or []:
                types += [t for t in _types(member, dialect, depth + 1) if t not in types]
    if not types and "items" in node:
        types = ["array"]
    return [t for t in types if isinstance(t, str)]


def _parameter(param: dict[str, Any], style: str, explode: bool, dialect: str) -> dict[str, Any]:
    """How a parameter's text becomes the value its schema checks: coerced types, array splitting."""
    schema = param["schema"]
    types = _types(schema, dialect)
    if "object" in types:
        return {"unchecked": "an object-valued parameter is not checked by the gateway"}
    array = None
    item_types: list[str] = []
    if "array" in types:
        if style == "deepObject" or style not in DELIMITERS:
            return {"unchecked": f"an array in style {style!r} is not checked by the gateway"}
        array = "" if (style == "form" and explode) else DELIMITERS[style]
        items = normalise(schema, dialect).get("items") if isinstance(schema, dict) else None
        item_types = _types(items, dialect)
    return {"unchecked": None, "types": types, "array": array, "item_types": item_types}


def _param_literal(param: dict[str, Any], value: dict[str, Any], check: str | None) -> str:
    fields = {
        "name": js(param["name"]),
        "required": js(param["required"]),
        "types": js(value["types"]),
        # null: one value; "": repeated (form, explode); else the delimiter of one joined value.
        "array": js(value["array"]),
        "item_types": js(value["item_types"]),
        "check": check or "null",
    }
    return "{" + ", ".join(f"{key}: {val}" for key, val in fields.items()) + "}"
