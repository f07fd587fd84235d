"""Build policy.json documents by hand, the way `airgapctl specs compile` would, for tests.

Each document gets a real policy_id (sha256 over canonical JSON without it); tests validate every
policy against airgapctl/schemas/policy.schema.json so they stay true to the contract.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

INT_PARAM = "[0-9]+"
SEGMENT_PARAM = "[^/]+"


def rate(per_second: int, burst: int = 0) -> dict[str, int]:
    return {"per_second": per_second, "burst": burst}


def api(name: str, base_path: str, url: str, credential: str | None = None, **upstream: Any) -> dict[str, Any]:
    return {
        "name": name,
        "base_path": base_path,
        "spec": {"file": f"specs/{name}.yaml", "sha256": "0" * 64, "openapi_version": "3.0.3", "title": name},
        "upstream": {"url": url, "tls_verify": False, "ca_file": None, "credential": credential, **upstream},
    }


def path_regex(gateway_path: str, params: dict[str, str]) -> tuple[str, list[dict[str, Any]], int]:
    """The anchored regex, path_params and literal segment count for a gateway path template."""
    parts, path_params, literals = [], [], 0
    for segment in gateway_path.split("/")[1:]:
        match = re.fullmatch(r"\{(\w+)\}", segment)
        if match:
            name = match.group(1)
            value = params.get(name, SEGMENT_PARAM)
            parts.append(f"/(?P<{name}>{value})")
            schema = {"type": "integer"} if value == INT_PARAM else {"type": "string"}
            path_params.append({"name": name, "group": name, "regex": value, "schema": schema})
        else:
            parts.append("/" + re.escape(segment))
            literals += 1
    return "^" + "".join(parts) + "$", path_params, literals


def operation(
    api_name: str,
    base_path: str,
    operation_id: str,
    method: str,
    template: str,
    roles: list[str],
    *,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    deprecated: bool = False,
    action: str = "allow",
    sunset: str | None = None,
    rate_limit: dict[str, int] | None = None,
    query: list[dict[str, Any]] | None = None,
    headers: list[dict[str, Any]] | None = None,
    validation: str = "enforce",
    unknown_query: str = "allow",
) -> dict[str, Any]:
    regex, path_params, literals = path_regex(base_path + template, params or {})
    return {
        "id": f"{api_name}.{operation_id}",
        "api": api_name,
        "operation_id": operation_id,
        "operation_id_generated": False,
        "method": method,
        "path_template": template,
        "gateway_path": base_path + template,
        "regex": regex,
        "literal_segments": literals,
        "path_params": path_params,
        "query_params": query or [],
        "header_params": headers or [],
        "body": body or no_body(),
        "validation": {"mode": validation, "unknown_query": unknown_query},
        "deprecated": deprecated,
        "sunset": sunset,
        "deprecation_action": action,
        "roles": sorted(roles),
        "rate_limit": rate_limit,
        "tags": [],
        "source": {"file": f"specs/{api_name}.yaml", "pointer": f"/paths/{template}/{method.lower()}"},
    }


def no_body() -> dict[str, Any]:
    return {"allowed": False, "required": False, "content_types": [], "max_bytes": 0, "schema": None}


def json_body(
    max_bytes: int = 1024,
    content_types: list[str] | None = None,
    schema: Any = None,
    required: bool = False,
    dialect: str = "3.0",
    defs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A body; with ``schema``, JSON bodies are checked against it (``defs``: what #/defs/NAME names)."""
    return {
        "allowed": True,
        "required": required,
        "content_types": content_types or ["application/json"],
        "max_bytes": max_bytes,
        "schema": None
        if schema is None
        else {"media_type": "application/json", "dialect": dialect, "document": {"schema": schema, "defs": defs or {}}},
    }


def query_param(
    name: str, schema: dict[str, Any], required: bool = False, style: str = "form", explode: bool = True
) -> dict[str, Any]:
    return {"name": name, "required": required, "schema": schema, "style": style, "explode": explode}


def header_param(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "required": required, "schema": schema}


def client(name: str, subject: str, roles: list[str], rate_limit: dict[str, int] | None = None) -> dict[str, Any]:
    return {"name": name, "subject": subject, "roles": sorted(roles), "rate_limit": rate_limit}


def role(name: str, rate_limit: dict[str, int] | None = None) -> dict[str, Any]:
    return {"name": name, "description": f"role {name}", "rate_limit": rate_limit}


def policy_id(document: dict[str, Any]) -> str:
    body = {key: value for key, value in document.items() if key != "policy_id"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def priority(op: dict[str, Any]) -> tuple[Any, ...]:
    """The compiler's match priority: more literal segments first, then path, then method."""
    return (-op["literal_segments"], op["gateway_path"], op["method"])


def policy(
    apis: list[dict[str, Any]],
    operations: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    clients: list[dict[str, Any]],
    site: str = "lab",
) -> dict[str, Any]:
    document = {
        "schema": "airgapctl/policy",
        "schema_version": 1,
        "policy_id": "",
        "site": site,
        "defaults": {
            "max_body_bytes": 1048576,
            "deprecated": "warn",
            "validation": "enforce",
            "unknown_query": "allow",
        },
        "apis": sorted(copy.deepcopy(apis), key=lambda a: a["name"]),
        "operations": sorted(copy.deepcopy(operations), key=priority),
        "roles": sorted(copy.deepcopy(roles), key=lambda r: r["name"]),
        "clients": sorted(copy.deepcopy(clients), key=lambda c: c["name"]),
    }
    document["policy_id"] = policy_id(document)
    return document


def large_policy(operation_count: int, upstream_url: str = "http://127.0.0.1:9") -> dict[str, Any]:
    """A policy with ``operation_count`` operations over 20 APIs, every method, mixed limits and bodies."""
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    roles = [role(f"role{n}", rate(10 + n % 3) if n % 4 == 0 else None) for n in range(12)]
    apis = [api(f"api{n}", f"/svc{n}", f"{upstream_url}/v{n}", credential=None) for n in range(20)]
    operations = []
    for n in range(operation_count):
        api_n, method = n % 20, methods[n % len(methods)]
        template = f"/things{n // 10}/{{id}}/part{n % 10}" if n % 3 else f"/things{n // 10}/list{n % 10}"
        body = json_body(1024 * (1 + n % 4)) if method in ("POST", "PUT", "PATCH") else None
        operations.append(
            operation(
                f"api{api_n}",
                f"/svc{api_n}",
                f"op{n}",
                method,
                template,
                sorted({f"role{n % 12}", f"role{(n + 5) % 12}"}),
                params={"id": INT_PARAM},
                body=body,
                deprecated=n % 50 == 0,
                action="deny" if n % 100 == 0 else "warn",
                sunset="2030-01-01" if n % 200 == 0 else None,
                rate_limit=rate(5 + n % 2, 2) if n % 7 == 0 else None,
            )
        )
    clients = [
        client(f"client{n}", f"CN=client{n},OU=apps,O=Example", sorted({f"role{n % 12}", f"role{(n * 7) % 12}"}))
        for n in range(100)
    ]
    return policy(apis, operations, roles, clients, site="scale")


def uniform_policy(operation_count: int, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """``operation_count`` operations of one method and one body rule, all callable by one client."""
    operations = [
        operation(
            "api0", "/svc", f"op{n}", method, f"/things{n}/{{id}}", ["reader"], params={"id": INT_PARAM}, body=body
        )
        for n in range(operation_count)
    ]
    apis = [api("api0", "/svc", "http://127.0.0.1:9/v0")]
    return policy(apis, operations, [role("reader")], [client("client0", "CN=client0,O=Example", ["reader"])])


def route_edge_policy(upstream_url: str = "http://127.0.0.1:9", subject: str = "CN=c") -> dict[str, Any]:
    """Operations whose regexes start with partial, optional, case-folded or alternated segments."""
    regexes = [
        ("GET", r"^/api/v1/pets/(?P<id>[0-9]+)$"),
        ("GET", r"^/api/v[0-9]+/pets/mine$"),
        ("GET", r"^/API/v1/pets/(?P<id>[0-9]+)$"),
        ("GET", r"^/api/v1/pets/(?P<id>[^/]+)$"),
        ("POST", r"^/api/v1/pets$"),
        ("GET", r"^/api/pet[s]?/x$"),
        ("GET", r"^(?i:/api/v1/pets/[a-z]+)$"),
        ("GET", r"^/api/v1/pets/[0-9]+/photos/[0-9]+$|^/other/x$"),
        ("DELETE", r"^/api/v1/pets/(?P<id>[0-9]+)$"),
        ("GET", r"^/a/b/c/d/e$"),
        ("GET", r"^/a/b/c/d/(?P<x>[^/]+)$"),
        ("GET", r"^/a/b/cd?/e$"),
        ("GET", r"^/a\/b\/c/f$"),
        ("GET", r"^/a$"),
        ("GET", r"^/a/$"),
        ("PUT", r"^/[a-z]+/b/c/d/e$"),
        ("GET", r"^/api/v1/pets/(?P<id>[0-9]+)/$"),
        ("GET", r"^/a\$b/c/d$"),
    ]
    operations = []
    for number, (method, regex) in enumerate(regexes):
        op = operation("api", "", f"op{number}", method, f"/op{number}", ["reader"])
        op["regex"] = regex
        operations.append(op)
    apis = [api("api", "", upstream_url)]
    document = policy(apis, [], [role("reader")], [client("c", subject, ["reader"])])
    document["operations"] = operations  # in this order: it is the policy's priority
    document["policy_id"] = policy_id(document)
    return document


def route_probe_paths(document: dict[str, Any]) -> set[str]:
    """Paths near every operation's: its own, longer, shorter, upper-case; for route dispatch tests."""
    paths = {"/", "/a", "/a/", "/a/b", "/nothing/here", "/API/V1/PETS/7", "/api/v7/pets/mine", "/api/pet/x"}
    for op in document["operations"]:
        for value in ("1", "42", "abc", "Abc"):
            path = re.sub(r"\{[^}]+\}", value, op["gateway_path"])
            paths |= {path, path + "/", path + "/x", path.upper(), path.rsplit("/", 1)[0], path + "x"}
        pieces = op["regex"].strip("^$").replace("\\", "")
        paths.add(re.sub(r"\(\?P<\w+>[^)]*\)|\[[^]]*\][+?*]?|\(\?i\)", "7", pieces.split("|")[0]))
    return {path for path in paths if path.startswith("/")}
