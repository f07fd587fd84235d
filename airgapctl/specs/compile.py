"""Compile OpenAPI definitions and access.yml into the policy contract (policy.json)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.errors import SpecInvalidError
from airgapctl.schemas import check_document
from airgapctl.specs.access import AccessPolicy, load_access
from airgapctl.specs.conflicts import (
    PolicyConflictError,
    PolicyProblem,
    ambiguous_routes,
    did_you_mean,
    duplicate_operation_ids,
)
from airgapctl.specs.model import LoadedSpec
from airgapctl.specs.operations import BuildContext, build_entry, priority_key
from airgapctl.specs.selectors import describe_selector, selector_matches
from airgapctl.specs.sync_policy import sync_section


@dataclass
class CompileResult:
    policy: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def policy_id(self) -> str:
        return self.policy["policy_id"]


def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def policy_id(policy: dict[str, Any]) -> str:
    """The policy's own hash: over everything but the id itself."""
    body = {k: v for k, v in policy.items() if k != "policy_id"}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def compile_policy(
    access: AccessPolicy, specs: dict[str, LoadedSpec], sync_specs: dict[str, LoadedSpec] | None = None
) -> CompileResult:
    """Build the policy from an access policy and each API's loaded spec; raise on any conflict.

    ``sync_specs`` holds the loaded spec of each sync route that names one, by route name.
    """
    doc = access.document
    ctx = BuildContext(access.base_dir)
    overrides = {(o["api"], o["operation"]): o for o in doc["operations"]}
    entries = []
    for api in doc["apis"]:
        inherited = ("max_body_bytes", "deprecated", "validation", "unknown_query")
        api = {**{key: doc["defaults"][key] for key in inherited}, **api}
        entries += [build_entry(api, specs[api["name"]], op, ctx) for op in specs[api["name"]].operations]
    problems = _name_problems(doc) + duplicate_operation_ids(entries)
    problems += _apply_roles(doc, entries, specs) + _apply_overrides(overrides, entries)
    problems += _client_problems(doc) + ambiguous_routes(entries)
    sync_problems, sync = sync_section(doc, sync_specs or {}, ctx)
    problems += sync_problems
    if problems:
        raise PolicyConflictError(problems)
    for api in doc["apis"]:
        if not specs[api["name"]].operations:
            what = "no paths" if not specs[api["name"]].has_paths else "no operation"
            ctx.warnings.append(f"api {api['name']}: its spec declares {what}; the gateway serves nothing from it")
    policy = {
        "schema": "airgapctl/policy",
        "schema_version": 1,
        "policy_id": "",
        "site": doc["site"],
        "defaults": doc["defaults"],
        "apis": sorted((_api_entry(api, specs[api["name"]], ctx) for api in doc["apis"]), key=lambda a: a["name"]),
        "operations": sorted(entries, key=priority_key),
        "roles": sorted(
            (
                {"name": r["name"], "description": r.get("description", ""), "rate_limit": _rate(r)}
                for r in doc["roles"]
            ),
            key=lambda r: r["name"],
        ),
        "clients": sorted(
            (
                {"name": c["name"], "subject": c["subject"], "roles": sorted(c["roles"]), "rate_limit": _rate(c)}
                for c in doc["clients"]
            ),
            key=lambda c: c["name"],
        ),
    }
    if sync is not None:  # only when access.yml has one: a policy without it keeps its id
        policy["sync"] = sync
    policy["policy_id"] = policy_id(policy)
    check_document(policy, "policy", "compiled policy")  # a compiler bug must not produce a bad contract
    return CompileResult(policy, ctx.warnings)


def _rate(holder: dict[str, Any]) -> dict[str, int] | None:
    limit = holder.get("rate_limit")
    return None if limit is None else {"per_second": limit["per_second"], "burst": limit.get("burst", 0)}


def _api_entry(api: dict[str, Any], spec: LoadedSpec, ctx: BuildContext) -> dict[str, Any]:
    upstream = api["upstream"]
    return {
        "name": api["name"],
        "base_path": api["base_path"],
        "spec": {
            "file": ctx.relative(spec.path),
            "sha256": spec.sha256,
            "openapi_version": spec.openapi_version,
            "title": spec.title,
        },
        "upstream": {
            "url": upstream["url"],
            "tls_verify": upstream["tls_verify"],
            "ca_file": upstream.get("ca_file"),
            "credential": upstream.get("credential"),
        },
    }


def _duplicates(items: list[dict[str, Any]], key: str, what: str) -> list[PolicyProblem]:
    seen, problems = set(), []
    for item in items:
        if item[key] in seen:
            text = f"access.yml: two {what} share the {key} {item[key]!r}"
            problems.append(PolicyProblem(text, "duplicate-name", f"give each of the {what} its own {key}"))
        seen.add(item[key])
    return problems


def _name_problems(doc: dict[str, Any]) -> list[PolicyProblem]:
    return (
        _duplicates(doc["apis"], "name", "apis")
        + _duplicates(doc["roles"], "name", "roles")
        + _duplicates(doc["clients"], "name", "clients")
        + _duplicates(doc["clients"], "subject", "clients")
    )


def _nothing_to_serve(spec: LoadedSpec) -> str:
    if not spec.has_paths:
        return "the spec declares no paths; the gateway serves paths"
    return "its spec declares no operation (its paths are empty); the gateway serves nothing from it"


def _apply_roles(
    doc: dict[str, Any], entries: list[dict[str, Any]], specs: dict[str, LoadedSpec]
) -> list[PolicyProblem]:
    problems, apis = [], [a["name"] for a in doc["apis"]]
    for index, role in enumerate(doc["roles"]):
        for rule, selector in enumerate(role["allow"]):
            where = f"access.yml: /roles/{index}/allow/{rule} (role {role['name']})"
            if "api" in selector and selector["api"] not in apis:
                fix = did_you_mean(selector["api"], apis, "apis")
                problems.append(PolicyProblem(f"{where}: names unknown api {selector['api']!r}", "unknown-name", fix))
                continue
            matched = [e for e in entries if selector_matches(selector, e)]
            # A grant from a spec that has nothing to serve says so, rather than "matches no operation".
            empty = [name for name in ([selector["api"]] if "api" in selector else apis) if not specs[name].operations]
            if not matched and empty and len(empty) == (1 if "api" in selector else len(apis)):
                reasons = "; ".join(f"api {name!r}: {_nothing_to_serve(specs[name])}" for name in empty)
                fix = "add the API's operations to its spec, or remove this grant"
                problems.append(PolicyProblem(f"{where}: {reasons}", "no-operations", fix))
                continue
            if not matched:
                fix = "correct the rule, or remove it if the operations are gone from the spec"
                problems.append(
                    PolicyProblem(f"{where}: {describe_selector(selector)} matches no operation", "no-match", fix)
                )
            for entry in matched:
                if role["name"] not in entry["roles"]:
                    entry["roles"] = sorted([*entry["roles"], role["name"]])
    return problems


def _apply_overrides(
    overrides: dict[tuple[str, str], dict[str, Any]], entries: list[dict[str, Any]]
) -> list[PolicyProblem]:
    by_key = {(e["api"], e["operation_id"]): e for e in entries}
    problems = []
    for key, override in overrides.items():
        entry = by_key.get(key)
        if entry is None:
            text = f"access.yml: operations: {key[0]}.{key[1]} names no operation of api {key[0]}"
            known = sorted(operation for api, operation in by_key if api == key[0])
            fix = did_you_mean(key[1], known, f"operations of api {key[0]}") if len(known) <= 20 else None
            problems.append(PolicyProblem(text, "unknown-name", fix or "correct the api and the operationId"))
            continue
        entry["rate_limit"] = _rate(override) or entry["rate_limit"]
        entry["body"]["max_bytes"] = override.get("max_body_bytes", entry["body"]["max_bytes"])
        if "sunset" in override:
            entry["sunset"] = override["sunset"]
        if "deprecated" in override and entry["deprecated"]:
            entry["deprecation_action"] = override["deprecated"]
        if "validation" in override:
            entry["validation"]["mode"] = override["validation"]
    return problems


def _client_problems(doc: dict[str, Any]) -> list[PolicyProblem]:
    roles = [r["name"] for r in doc["roles"]]
    return [
        PolicyProblem(
            f"access.yml: /clients/{i}/roles: client {client['name']} names unknown role {role!r}",
            "unknown-name",
            did_you_mean(role, roles, "roles"),
        )
        for i, client in enumerate(doc["clients"])
        for role in client["roles"]
        if role not in roles
    ]


def write_policy(policy: dict[str, Any], out: Path) -> None:
    """Write atomically: a reader never sees half a policy, and a failed write keeps the old one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".policy-", dir=out.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(policy, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, out)


def compile_files(access_path: str | Path, load: Callable[[Path], LoadedSpec]) -> CompileResult:
    """Load access.yml, load every API's and sync route's spec with ``load`` (validating), and compile.

    Every spec is loaded before any is refused, so one run lists the problems of all of them.
    """
    from airgapctl.specs.validate import SpecResult, summary_error

    access = load_access(access_path)
    specs: dict[str, LoadedSpec] = {}
    results = []
    for api in access.document["apis"]:
        path = access.spec_path(api)
        try:
            specs[api["name"]] = load(path)
            results.append(SpecResult(str(path), specs[api["name"]]))
        except SpecInvalidError as error:
            results.append(SpecResult(str(path), None, error.issues))
    sync_specs: dict[str, LoadedSpec] = {}
    for route in access.document.get("sync", {}).get("routes", []):
        if "spec" not in route:
            continue
        path = access.spec_path(route)
        try:
            sync_specs[route["name"]] = load(path)
            results.append(SpecResult(str(path), sync_specs[route["name"]]))
        except SpecInvalidError as error:
            results.append(SpecResult(str(path), None, error.issues))
    error = summary_error(results, hint="each problem is listed above as FILE:POINTER: message")
    if error is not None:
        raise error
    return compile_policy(access, specs, sync_specs)
