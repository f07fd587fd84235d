"""The sync section of the policy: routes out of the site through the bastion, and their windows."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airgapctl.specs.conflicts import PolicyProblem, did_you_mean
from airgapctl.specs.model import LoadedSpec
from airgapctl.specs.operations import BuildContext, build_entry, priority_key
from airgapctl.specs.selectors import describe_selector, selector_matches
from airgapctl.sync.calendars import parse_calendar
from airgapctl.sync.windows import parse_duration, parse_timezone

CALENDAR_KEYS = ("calendar", "timezone", "duration")
# What the egress proxy needs of an operation to tell whether a call may leave.
OPERATION_KEYS = ("id", "operation_id", "method", "path_template", "regex")
# Body limits and request checks the egress operations are built with, as for an API.
_INHERITED = ("max_body_bytes", "deprecated", "validation", "unknown_query")


def sync_section(
    doc: dict[str, Any], specs: dict[str, LoadedSpec], ctx: BuildContext
) -> tuple[list[PolicyProblem], dict[str, Any] | None]:
    """The policy's ``sync`` and every problem of access.yml's; (no problems, None) without one."""
    if "sync" not in doc:
        return [], None
    sync = doc["sync"]
    problems = _duplicates(sync["routes"], "routes") + _duplicates(sync["windows"], "windows")
    windows = []
    for index, window in enumerate(sync["windows"]):
        entry, found = _window(index, window)
        problems += found
        windows.append(entry)
    routes = []
    for index, route in enumerate(sync["routes"]):
        entry, found = _route(index, route, doc, specs.get(route["name"]), ctx)
        problems += found
        routes.append(entry)
    used = {name for route in sync["routes"] for name in route["windows"]}
    for window in sync["windows"]:
        if window["name"] not in used:
            ctx.warnings.append(f"access.yml: sync window {window['name']} is used by no route")
    section = {"routes": sorted(routes, key=lambda r: r["name"]), "windows": sorted(windows, key=lambda w: w["name"])}
    return problems, section


def _duplicates(items: list[dict[str, Any]], what: str) -> list[PolicyProblem]:
    seen, problems = set(), []
    for item in items:
        if item["name"] in seen:
            text = f"access.yml: /sync/{what}: two sync {what} share the name {item['name']!r}"
            problems.append(PolicyProblem(text, "duplicate-name", f"give each of the sync {what} its own name"))
        seen.add(item["name"])
    return problems


def _window(index: int, window: dict[str, Any]) -> tuple[dict[str, Any], list[PolicyProblem]]:
    where = f"access.yml: /sync/windows/{index} (window {window['name']})"
    event = window.get("event", False)
    if event:
        wrong = [key for key in CALENDAR_KEYS if key in window]
        missing = [] if "max_duration" in window else ["max_duration"]
        fix = "an event window has event: true and max_duration only; it opens when an operator opens it"
    else:
        wrong = ["max_duration"] if "max_duration" in window else []
        missing = [key for key in CALENDAR_KEYS if key not in window]
        fix = "a calendar window has calendar, timezone and duration; an operator's window has event: true"
    problems = []
    if wrong or missing:
        parts = ([f"has {', '.join(wrong)}"] if wrong else []) + ([f"lacks {', '.join(missing)}"] if missing else [])
        said = "; ".join(parts)
        problems.append(PolicyProblem(f"{where}: {said}", "bad-sync-window", fix))
        return {"name": window["name"], "kind": "event" if event else "calendar"}, problems
    if event:
        seconds = _duration(where, "max_duration", window["max_duration"], problems)
        return {"name": window["name"], "kind": "event", "max_duration": seconds}, problems
    try:
        calendar = parse_calendar(window["calendar"]).expression.strip()
    except ValueError as error:
        problems.append(PolicyProblem(f"{where}: calendar: {error}", "bad-sync-window", "write it in that form"))
        calendar = window["calendar"]
    try:
        parse_timezone(window["timezone"])
    except ValueError as error:
        fix = "name the zone as the tz database does (Region/City, or UTC)"
        problems.append(PolicyProblem(f"{where}: timezone: {error}", "bad-sync-window", fix))
    entry = {
        "name": window["name"],
        "kind": "calendar",
        "calendar": calendar,
        "timezone": window["timezone"],
        "duration": _duration(where, "duration", window["duration"], problems),
    }
    return entry, problems


def _duration(where: str, key: str, text: str, problems: list[PolicyProblem]) -> int:
    try:
        return parse_duration(text)
    except ValueError as error:
        problems.append(PolicyProblem(f"{where}: {key}: {error}", "bad-sync-window", "give 1m to 7d, e.g. 30m or 2h"))
        return 0


def _route(
    index: int, route: dict[str, Any], doc: dict[str, Any], spec: LoadedSpec | None, ctx: BuildContext
) -> tuple[dict[str, Any], list[PolicyProblem]]:
    where = f"access.yml: /sync/routes/{index} (sync route {route['name']})"
    upstream, problems = _upstream(where, route["upstream"])
    clients = {c["name"]: c for c in doc["clients"]}
    roles = [r["name"] for r in doc["roles"]]
    windows = [w["name"] for w in doc["sync"]["windows"]]
    for key, known, what in (
        ("clients", list(clients), "clients"),
        ("roles", roles, "roles"),
        ("windows", windows, "sync windows"),
    ):
        for position, name in enumerate(route.get(key, [])):
            if name not in known:
                text = f"{where}: /{key}/{position}: names unknown {what[:-1]} {name!r}"
                problems.append(PolicyProblem(text, "unknown-name", did_you_mean(name, known, what)))
    allowed = sorted(
        name
        for name, client in clients.items()
        if name in route["clients"] or set(client["roles"]) & set(route["roles"])
    )
    if not allowed:
        fix = "name a client in clients, or a role some client holds in roles"
        problems.append(PolicyProblem(f"{where}: no client may use it", "no-match", fix))
    operations, found = _operations(where, route, spec, doc, ctx)
    entry = {
        "name": route["name"],
        "upstream": upstream,
        "spec": None if spec is None else _spec_entry(spec, ctx),
        "operations": operations,
        "clients": sorted(route["clients"]),
        "roles": sorted(route["roles"]),
        "allowed_clients": allowed,
        "windows": sorted(route["windows"]),
    }
    return entry, problems + found


def _upstream(where: str, upstream: dict[str, Any]) -> tuple[dict[str, Any], list[PolicyProblem]]:
    problems = []
    url = urlsplit(upstream["url"])
    if url.scheme != "https":
        fix = "use the endpoint's https:// URL; calls leave the site only to a verified endpoint"
        problems.append(
            PolicyProblem(f"{where}: /upstream/url: sync upstreams must be https", "bad-sync-upstream", fix)
        )
    trust = [key for key in ("ca_file", "pin") if key in upstream]
    if len(trust) != 1:
        said = "has both ca_file and pin" if trust else "has neither ca_file nor pin"
        fix = "give exactly one: ca_file (the endpoint's CA) or pin (its certificate's sha256:<64 hex> fingerprint)"
        problems.append(PolicyProblem(f"{where}: /upstream: {said}", "bad-sync-upstream", fix))
    pin = upstream.get("pin")
    entry = {
        "url": upstream["url"],
        "server_name": upstream.get("server_name", url.hostname or ""),
        "ca_file": upstream.get("ca_file"),
        "pin": None if pin is None else pin.lower(),
    }
    return entry, problems


def _operations(
    where: str, route: dict[str, Any], spec: LoadedSpec | None, doc: dict[str, Any], ctx: BuildContext
) -> tuple[list[dict[str, Any]], list[PolicyProblem]]:
    if spec is None:
        if "allow" in route:
            fix = "add the egress API's spec, or remove allow: without a spec the route carries any call"
            return [], [PolicyProblem(f"{where}: /allow: needs a spec to select from", "no-match", fix)]
        return [], []
    if "allow" not in route:
        fix = "list the operations the route may carry in allow, as for roles"
        return [], [PolicyProblem(f"{where}: has a spec but no allow", "no-match", fix)]
    api = {"name": route["name"], "base_path": "", **{k: doc["defaults"][k] for k in _INHERITED}}
    entries = [build_entry(api, spec, op, ctx) for op in spec.operations]
    problems, chosen = [], {}
    for rule, selector in enumerate(route["allow"]):
        place = f"{where}: /allow/{rule}"
        if "api" in selector:
            fix = "remove api: a sync route's selectors choose from its own spec"
            problems.append(PolicyProblem(f"{place}: api has no meaning here", "unknown-name", fix))
            continue
        matched = [e for e in entries if selector_matches(selector, e)]
        if not matched:
            known = sorted(e["operation_id"] for e in entries)
            fix = did_you_mean(selector["operation"], known, "operations") if "operation" in selector else None
            text = f"{place}: {describe_selector(selector)} matches no operation of {ctx.relative(spec.path)}"
            problems.append(PolicyProblem(text, "no-match", fix or "correct the rule to name operations of the spec"))
        chosen.update((e["id"], e) for e in matched)
    operations = [{key: e[key] for key in OPERATION_KEYS} for e in sorted(chosen.values(), key=priority_key)]
    return operations, problems


def _spec_entry(spec: LoadedSpec, ctx: BuildContext) -> dict[str, Any]:
    return {
        "file": ctx.relative(spec.path),
        "sha256": spec.sha256,
        "openapi_version": spec.openapi_version,
        "title": spec.title,
    }
