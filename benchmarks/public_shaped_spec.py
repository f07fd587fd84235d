"""A synthetic single-file OpenAPI 3.0 spec of about 4 MB, shaped like the large public ones.

Large vendor specs published as one file have a few hundred operations, each with a long
markdown description, shared parameters and responses, and a deep ``components`` section:
hundreds of schemas nested several levels, composed with allOf, referring to each other
(some in cycles), with enums, formats and examples. ``generate_single_file_spec`` writes one
such document, deterministically, growing the schemas until the file reaches the size asked.
``benchmarks/specs_compile.py`` times it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_WORDS = ("account", "balance", "ledger", "invoice", "customer", "payment", "refund", "dispute", "payout",
          "transfer", "subscription", "price", "product", "coupon", "tax", "charge", "session", "event", "webhook",
          "file")  # fmt: skip
_PROSE = (
    "Returns the objects in the order they were created, newest first. Each page holds up to `limit` objects; "
    "pass the `starting_after` cursor from the last object to get the next page. Objects deleted since are "
    "left out, and the `has_more` field says whether another page follows. "
)


def generate_single_file_spec(path: str | Path, target_bytes: int = 4_000_000, operations: int = 480) -> Path:
    """Write the spec to ``path`` (YAML); return it. Deterministic for given arguments."""
    rng = random.Random(f"{target_bytes}:{operations}")  # noqa: S311 - a repeatable shape, not a secret
    schemas: dict[str, Any] = {}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Synthetic public API", "version": "2024-06-20", "description": _PROSE * 20},
        "servers": [{"url": "https://api.example.com/v1"}],
        "tags": [{"name": word, "description": _PROSE * 2} for word in _WORDS],
        "security": [{"bearer": []}],
        "paths": _paths(operations, rng),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": _parameters(),
            "responses": _responses(),
            "schemas": schemas,
        },
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    size, index = len(_dump(document)), 0
    while size < target_bytes:  # grow the components until the document is as large as asked
        family = _schema_family(index, rng)
        schemas.update(family)
        size += len(_dump({"components": {"schemas": family}})) - len(_dump({"components": {"schemas": {}}}))
        index += 1
    out.write_bytes(_dump(document))
    return out


def _dump(document: Any) -> bytes:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True).encode()


def _paths(operations: int, rng: random.Random) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    resources = -(-operations // 5)
    for resource in range(resources):
        word = _WORDS[resource % len(_WORDS)]
        collection = f"/v1/{word}s" + (f"/group{resource // len(_WORDS)}" if resource >= len(_WORDS) else "")
        item = f"{collection}/{{{word}_id}}"
        model = {"$ref": f"#/components/schemas/Model{resource % 300}"}
        paths[collection] = {
            "get": _operation(f"list{resource}", word, rng, [{"$ref": "#/components/parameters/Limit"},
                              {"$ref": "#/components/parameters/StartingAfter"}], model, list_of=True),
            "post": _operation(f"create{resource}", word, rng, [], model, body=model),
        }  # fmt: skip
        path_parameter = {"name": f"{word}_id", "in": "path", "required": True, "schema": {"type": "string",
                          "maxLength": 5000}, "description": f"The identifier of the {word}."}  # fmt: skip
        paths[item] = {
            "parameters": [path_parameter],
            "get": _operation(f"retrieve{resource}", word, rng, [{"$ref": "#/components/parameters/Expand"}], model),
            "post": _operation(f"update{resource}", word, rng, [], model, body=model),
            "delete": _operation(f"delete{resource}", word, rng, [], model),
        }
    return paths


def _operation(name: str, word: str, rng: random.Random, parameters: list, model: dict, **options: Any) -> dict:
    schema: dict[str, Any] = model
    if options.get("list_of"):
        schema = {"type": "object", "required": ["data", "has_more"], "properties": {
            "data": {"type": "array", "items": model}, "has_more": {"type": "boolean"},
            "url": {"type": "string", "maxLength": 5000}}}  # fmt: skip
    operation: dict[str, Any] = {
        "operationId": f"{name}_{word}",
        "summary": f"{name} a {word}",
        "description": _PROSE * rng.randint(1, 4),
        "tags": [word],
        "parameters": parameters,
        "responses": {
            "200": {"description": "Successful response.", "content": {"application/json": {"schema": schema}}},
            "default": {"$ref": "#/components/responses/Error"},
        },
    }
    if "body" in options:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/x-www-form-urlencoded": {"schema": options["body"]},
                        "application/json": {"schema": options["body"]}},
        }  # fmt: skip
    return operation


def _parameters() -> dict[str, Any]:
    return {
        "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                  "default": 10}, "description": "How many objects to return, between 1 and 100."},
        "StartingAfter": {"name": "starting_after", "in": "query", "schema": {"type": "string", "maxLength": 5000},
                          "description": "A cursor for pagination."},
        "Expand": {"name": "expand", "in": "query", "style": "deepObject", "explode": True,
                   "schema": {"type": "array", "items": {"type": "string", "maxLength": 5000}}},
    }  # fmt: skip


def _responses() -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    return {"Error": {"description": "Error response.", "content": {"application/json": {"schema": error}}}}


def _schema_family(index: int, rng: random.Random) -> dict[str, Any]:
    """A model four levels deep, composed with a shared base, referring to an earlier model."""
    name = f"Model{index}"
    family: dict[str, Any] = {}
    if index == 0:
        error = {"code": {"type": "string", "maxLength": 5000}, "message": {"type": "string", "maxLength": 40000}}
        family["Error"] = {"type": "object", "properties": {"error": {"type": "object", "properties": error}}}
        family["Base"] = {"type": "object", "required": ["id", "object"], "properties": {
            "id": {"type": "string", "maxLength": 5000}, "object": {"type": "string"},
            "created": {"type": "integer", "format": "unix-time"}, "livemode": {"type": "boolean"},
            "metadata": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}}}}  # fmt: skip
    family[name] = {
        "description": _PROSE[: rng.randint(80, 400)],
        "allOf": [{"$ref": "#/components/schemas/Base"}, _level(index, 0, rng)],
        "x-resourceId": f"model_{index}",
    }
    return family


def _level(index: int, depth: int, rng: random.Random) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for field in range(rng.randint(4, 7)):
        key = f"{_WORDS[(index + field) % len(_WORDS)]}_{field}"
        kind = rng.random()
        if depth < 3 and kind < 0.25:
            properties[key] = _level(index, depth + 1, rng)
        elif index and kind < 0.35:
            properties[key] = {"nullable": True, "anyOf": [{"type": "string", "maxLength": 5000},
                               {"$ref": f"#/components/schemas/Model{rng.randrange(index)}"}]}  # fmt: skip
        elif kind < 0.5:
            properties[key] = {"type": "string", "enum": ["active", "inactive", "pending", "canceled"],
                               "description": "The object's status."}  # fmt: skip
        elif kind < 0.65:
            properties[key] = {"type": "array", "items": {"type": "string", "maxLength": 5000}}
        elif kind < 0.8:
            properties[key] = {"type": "integer", "description": "An amount in the smallest currency unit."}
        else:
            properties[key] = {"type": "string", "maxLength": 5000, "description": _PROSE[: rng.randint(20, 160)]}
    return {"type": "object", "properties": properties, "description": _PROSE[: 30 + 20 * depth]}
