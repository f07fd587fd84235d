"""A synthetic large multi-file OpenAPI 3.0 spec, and how fast airgapctl validates it.

``generate_large_spec`` writes a spec shaped like the big real ones: path items in one file
per service, schemas whose $ref chains alternate between two files ``ref_depth`` deep,
parameters reached through alias chains, a self-referencing schema, several path parameters
per template, a mix of methods and tags. ``benchmarks/specs_compile.py`` builds on it.

Run by hand (never from the test suite):

    .venv/bin/python -m benchmarks.large_spec [--operations 2000] [--ref-depth 8] [--reference]

``--reference`` also times plain openapi-spec-validator on the same spec, for the ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
RESOURCES_PER_SERVICE = 20
# One resource: a collection, an item and a sub-item path; seven operations in all.
_RESOURCE_OPERATIONS = (("", "get"), ("", "post"), ("item", "get"), ("item", "put"), ("item", "patch"),
                        ("item", "delete"), ("part", "get"))  # fmt: skip


def generate_large_spec(directory: str | Path, operations: int = 2000, ref_depth: int = 8) -> Path:
    """Write the spec under ``directory``; return the root file. Deterministic for given arguments."""
    if operations < 1 or ref_depth < 1:
        raise ValueError("operations and ref_depth must be at least 1")
    root_dir = Path(directory)
    (root_dir / "paths").mkdir(parents=True, exist_ok=True)
    (root_dir / "components").mkdir(exist_ok=True)
    resources = -(-operations // len(_RESOURCE_OPERATIONS))
    slots = [(r, kind, method) for r in range(resources) for kind, method in _RESOURCE_OPERATIONS][:operations]
    services: dict[int, dict[str, Any]] = {}
    root_paths: dict[str, Any] = {}
    for resource, kind, method in slots:
        service = resource // RESOURCES_PER_SERVICE
        key = f"r{resource}" + (f"-{kind}" if kind else "")
        item = services.setdefault(service, {}).setdefault(key, {})
        item[method] = _operation(resource, kind, method)
        root_paths[_template(service, resource, kind)] = {"$ref": f"paths/svc{service}.yaml#/{key}"}
    for service, items in services.items():
        _write(root_dir / "paths" / f"svc{service}.yaml", items)
    models_a, models_b = _models(resources, ref_depth)
    _write(root_dir / "components" / "models_a.yaml", models_a)
    _write(root_dir / "components" / "models_b.yaml", models_b)
    _write(root_dir / "components" / "parameters.yaml", _parameters(ref_depth))
    _write(root_dir / "components" / "responses.yaml", _responses())
    root = {
        "openapi": "3.0.3",
        "info": {"title": f"Synthetic {operations}-operation API", "version": "1.0.0"},
        "servers": [{"url": "https://api.internal/v1"}],
        "tags": [{"name": f"svc{service}"} for service in services],
        "paths": root_paths,
    }
    root_file = root_dir / "openapi.yaml"
    _write(root_file, root)
    return root_file


def _template(service: int, resource: int, kind: str) -> str:
    collection = f"/svc{service}/r{resource}"
    if kind == "item":
        return f"{collection}/{{itemId}}"
    if kind == "part":
        return f"{collection}/{{itemId}}/parts/{{partId}}"
    return collection


def _operation(resource: int, kind: str, method: str) -> dict[str, Any]:
    params = "../components/parameters.yaml#/"
    operation: dict[str, Any] = {
        "operationId": f"{method}R{resource}{kind.title()}",
        "tags": [f"svc{resource // RESOURCES_PER_SERVICE}"],
        "parameters": [{"$ref": params + "TraceId"}],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": _model_ref(resource, 0)}}},
            "default": {"$ref": "../components/responses.yaml#/Error"},
        },
    }
    if kind in ("item", "part"):
        operation["parameters"].append({"$ref": params + "ItemId"})
    if kind == "part":
        operation["parameters"].append({"$ref": params + "PartId"})
    if kind == "" and method == "get":
        operation["parameters"] += [{"$ref": params + name} for name in ("Limit", "Offset", "Status")]
    if method in ("post", "put", "patch"):
        media = {"schema": _model_ref(resource, 0)}
        operation["requestBody"] = {"required": method != "patch", "content": {"application/json": media}}
    if method == "delete" and resource % 10 == 0:
        operation.update({"deprecated": True, "x-sunset": "2030-06-30"})
    return operation


def _model_ref(resource: int, level: int, here: str | None = None) -> dict[str, str]:
    """Levels alternate between models_a.yaml and models_b.yaml, so every chain crosses files."""
    target = "models_a.yaml" if level % 2 == 0 else "models_b.yaml"
    prefix = "" if here == target else ("../components/" if here is None else "") + target
    return {"$ref": f"{prefix}#/R{resource}_L{level}"}


def _models(resources: int, depth: int) -> tuple[dict[str, Any], dict[str, Any]]:
    files: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    for resource in range(resources):
        for level in range(depth):
            here = "models_a.yaml" if level % 2 == 0 else "models_b.yaml"
            own = {"type": "object", "properties": {f"field{level}": {"type": "string", "maxLength": 64}}}
            chain = [_model_ref(resource, level + 1, here)] if level + 1 < depth else [{"$ref": "models_a.yaml#/Node"}]
            files[level % 2][f"R{resource}_L{level}"] = {"allOf": [*chain, own]}
    files[0]["Node"] = {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/Node"}}}}
    # An identifier whose definition sits at the end of an alias chain through both files.
    for level in range(depth):
        here, there = ("models_a.yaml", "models_b.yaml") if level % 2 == 0 else ("models_b.yaml", "models_a.yaml")
        files[level % 2][f"Id_L{level}"] = {"$ref": f"{there}#/Id_L{level + 1}"}
    files[depth % 2][f"Id_L{depth}"] = {"type": "integer", "format": "int64", "minimum": 1}
    return files


def _parameters(depth: int) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "ItemId": {"$ref": "#/ItemIdAlias0"},
        "PartId": {"name": "partId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
        "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        "Offset": {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        "Status": {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "closed"]}},
        "TraceId": {"name": "X-Trace-Id", "in": "header", "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
    }
    for level in range(depth - 1):
        parameters[f"ItemIdAlias{level}"] = {"$ref": f"#/ItemIdAlias{level + 1}"}
    id_schema = {"$ref": "models_a.yaml#/Id_L0"}
    parameters[f"ItemIdAlias{depth - 1}"] = {"name": "itemId", "in": "path", "required": True, "schema": id_schema}
    return parameters


def _responses() -> dict[str, Any]:
    error = {"type": "object", "required": ["code"], "properties": {"code": {"type": "integer"}}}
    return {"Error": {"description": "Error", "content": {"application/json": {"schema": error}}}}


def _write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=200), encoding="utf-8")


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _reference_seconds(root: Path) -> float:
    """Plain openapi-spec-validator (its own file handler resolves the local refs)."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, base_uri = read_from_filename(str(root))
    seconds, _ = _timed(lambda: validate(document, base_uri=base_uri))
    return seconds


def _cli_seconds(root: Path, cache: Path) -> float:
    """The whole command in a fresh process: interpreter start, imports, load, validate, print."""
    argv = [sys.executable, "-m", "airgapctl", "specs", "validate", "--cache-dir", str(cache), str(root)]
    seconds, _ = _timed(lambda: subprocess.run(argv, check=True, capture_output=True))
    return seconds


def main(argv: list[str] | None = None) -> None:
    from airgapctl.specs.loader import load_spec
    from airgapctl.specs.validate import validate_spec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000, help="operations to generate")
    parser.add_argument("--ref-depth", type=int, default=8, help="length of the $ref chains")
    parser.add_argument("--reference", action="store_true", help="also time plain openapi-spec-validator")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="airgapctl-bench-") as scratch:
        root = generate_large_spec(Path(scratch) / "spec", args.operations, args.ref_depth)
        size = sum(f.stat().st_size for f in root.parent.rglob("*.yaml"))
        cache = Path(scratch) / "cache"
        load_s, spec = _timed(lambda: load_spec(root))
        cold_s, _ = _timed(lambda: validate_spec(root, cache_dir=cache))
        warm_s, _ = _timed(lambda: validate_spec(root, cache_dir=cache))
        count = len(spec.operations)
        print(f"spec: {count} operations, {len(spec.files)} files, {size / 1e6:.1f} MB, $ref depth {args.ref_depth}")
        print(f"load only:       {load_s:6.2f} s  ({count / load_s:,.0f} operations/s)")
        print(f"validate cold:   {cold_s:6.2f} s  ({count / cold_s:,.0f} operations/s, empty cache)")
        print(f"validate warm:   {warm_s:6.2f} s  ({count / warm_s:,.0f} operations/s, cached verdict)")
        cli_cold = _cli_seconds(root, Path(scratch) / "cli-cache")
        cli_warm = _cli_seconds(root, Path(scratch) / "cli-cache")
        print(f"CLI cold:        {cli_cold:6.2f} s  (fresh process, empty cache)")
        print(f"CLI warm:        {cli_warm:6.2f} s  (fresh process, cached verdict)")
        if args.reference:
            reference_s = _reference_seconds(root)
            print(f"openapi-spec-validator alone: {reference_s:6.2f} s  ({reference_s / cold_s:.1f}x our cold run)")


if __name__ == "__main__":
    sys.exit(main())
