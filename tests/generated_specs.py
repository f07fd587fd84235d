"""A large multi-file OpenAPI 3.0 spec generated for the tests, shaped like the big public ones.

Services in subdirectories, one file per path item, path parameters declared in the referenced
files (in the path item file, or beside the root's $ref to it), parameters shared per service
and across the spec, schemas in per-service files that refer to a common one. ``layout
"operation-refs"`` writes one file per operation and a $ref on each Operation Object instead,
as several public specs do (OpenAPI 3.0 does not allow that). ``defect`` puts one real mistake
in one operation, deep in the tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SERVICES = 12
UP = "../" * 2  # from a service's directory (paths/svcN/) back to the root's
DEFECTS = {
    # A response without its required description, in a service file far from the root.
    "response-without-description": ("paths/svc7/r3_item.yaml", "/put/responses/200"),
}


def multi_file_spec(directory: Path, operations: int = 600, layout: str = "path-items", defect: str | None = None):
    """Write the spec under ``directory``; return the root file. Five operations per resource."""
    resources = -(-operations // 5)
    per_service = -(-resources // SERVICES)
    root_paths: dict[str, Any] = {}
    for resource in range(resources):
        service, number = divmod(resource, per_service)
        name = f"svc{service}/r{number}"
        collection = f"/svc{service}/r{number}"
        item = f"{collection}/{{itemId}}"
        operations_by_path = {
            collection: {"get": _operation(name, "list", service), "post": _operation(name, "create", service)},
            item: {m: _operation(name, m, service) for m in ("get", "put", "delete")},
        }
        for template, item_operations in operations_by_path.items():
            stem = f"paths/{name}{'_item' if template == item else ''}"
            path_item: dict[str, Any] = dict(item_operations)
            root_item: dict[str, Any] = {"$ref": f"{stem}.yaml"}
            parameter = {"$ref": f"{UP}components/parameters.yaml#/ItemId"}
            if template == item and number % 2 == 0:  # declared beside the $ref, in the root
                root_item["parameters"] = [{"$ref": "components/parameters.yaml#/ItemId"}]
            elif template == item:  # declared in the path item's own file
                path_item = {"parameters": [parameter], **path_item}
            if layout == "operation-refs":
                for method, operation in item_operations.items():
                    if template == item:
                        operation = {**operation, "parameters": [*operation["parameters"], parameter]}
                    _write(directory / f"{stem}_{method}.yaml", operation)
                root_item = {method: {"$ref": f"{stem}_{method}.yaml"} for method in item_operations}
            else:
                _write(directory / f"{stem}.yaml", path_item)
            root_paths[template] = root_item
    for service in range(SERVICES):
        _write(directory / f"paths/svc{service}/parameters.yaml", _service_parameters())
        _write(directory / f"components/schemas/svc{service}.yaml", _service_schemas(service))
    _write(directory / "components/parameters.yaml", _shared_parameters())
    _write(directory / "components/responses.yaml", _shared_responses())
    _write(directory / "components/schemas/common.yaml", _common_schemas())
    root = {
        "openapi": "3.0.3",
        "info": {"title": f"Generated {operations}-operation API", "version": "1.0.0"},
        "tags": [{"name": f"svc{service}"} for service in range(SERVICES)],
        "paths": root_paths,
    }
    _write(directory / "openapi.yaml", root)
    if defect is not None:
        _put_defect(directory, layout, defect)
    return directory / "openapi.yaml"


def defect_location(directory: Path, layout: str, defect: str) -> tuple[str, str]:
    """The file and JSON pointer the defect is written at."""
    file, pointer = DEFECTS[defect]
    if layout == "operation-refs":
        method, rest = pointer.lstrip("/").split("/", 1)
        file, pointer = file.replace(".yaml", f"_{method}.yaml"), "/" + rest
    return str(directory / file), pointer


def _put_defect(directory: Path, layout: str, defect: str) -> None:
    file, pointer = defect_location(directory, layout, defect)
    document = yaml.safe_load(Path(file).read_text())
    node = document
    for token in pointer.strip("/").split("/"):
        node = node[token]
    del node["description"]
    _write(Path(file), document)


def _operation(name: str, action: str, service: int) -> dict[str, Any]:
    schema = {"$ref": f"{UP}components/schemas/svc{service}.yaml#/Resource"}
    operation: dict[str, Any] = {
        "operationId": f"{action}_{name.replace('/', '_')}",
        "tags": [f"svc{service}"],
        "description": f"{action.title()} {name}. " + "Generated to read like a real reference page. " * 8,
        "parameters": [{"$ref": "./parameters.yaml#/Filter"}] if action == "list" else [],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
            "default": {"$ref": f"{UP}components/responses.yaml#/Problem"},
        },
    }
    if action in ("create", "put"):
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return operation


def _service_parameters() -> dict[str, Any]:
    return {"Filter": {"name": "filter", "in": "query", "schema": {"type": "string", "maxLength": 64}}}


def _shared_parameters() -> dict[str, Any]:
    return {"ItemId": {"name": "itemId", "in": "path", "required": True, "schema": {"$ref": "schemas/common.yaml#/Id"}}}


def _shared_responses() -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": "schemas/common.yaml#/Problem"}}}
    return {"Problem": {"description": "A problem", "content": content}}


def _service_schemas(service: int) -> dict[str, Any]:
    return {
        "Resource": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"$ref": "common.yaml#/Id"},
                "name": {"type": "string", "maxLength": 120},
                "parent": {"$ref": "#/Resource"},
                "labels": {"type": "array", "items": {"$ref": "common.yaml#/Label"}},
            },
            "description": f"A resource of service {service}.",
        }
    }


def _common_schemas() -> dict[str, Any]:
    return {
        "Id": {"type": "integer", "format": "int64", "minimum": 1},
        "Label": {"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}}},
        "Problem": {"type": "object", "properties": {"title": {"type": "string"}, "status": {"type": "integer"}}},
    }


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=200), encoding="utf-8")
