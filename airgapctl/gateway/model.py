"""The one derivation from a compiled policy to what the gateway templates need.

Everything here is awkward in Jinja (grouping, interning role sets, date comparison, regex
escaping) and returns plain dicts, lists, strings and ints, so the gateway_proxy role can get the
same data as ``airgapctl gateway render`` by calling this on the controller.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import date
from typing import Any

from airgapctl.contracts import access_log
from airgapctl.errors import BadInputError
from airgapctl.gateway.patterns import literal_pattern, media_type_pattern, route_pattern, subject_pattern
from airgapctl.gateway.ratelimits import rate_zones
from airgapctl.gateway.request_checks import modules, request_checks
from airgapctl.gateway.request_rules import (
    NGINX_ERRORS,
    OVERRIDE_HEADERS,
    OVERRIDE_STATUS,
    PINNED_HEADERS,
    REPEAT_REFUSED_HEADERS,
    REPEAT_STATUS,
    nginx_variable,
)
from airgapctl.gateway.routes import route_dispatch
from airgapctl.gateway.upstreams import upstream_entry, variable_suffix
from airgapctl.specs.canonical import PLAIN, REFUSALS

# Internal locations live under this prefix; an operation whose path starts with it would be shadowed.
INTERNAL_PREFIX = "/_airgap_gateway"
# Allow header order and route-map order.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
MODEL_VERSION = 1
# NGINX's JavaScript module (Debian's libnginx-mod-http-js, carried in the bundle with nginx): it
# counts header copies that NGINX's variables cannot (gateway/headers.js).
JS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"
# TLS 1.2 suites the gateway accepts: ECDHE key exchange (forward secrecy) and AEAD ciphers only,
# for ECDSA and RSA server keys. TLS 1.3 suites are all of that kind; OpenSSL's set is kept.
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)


def build_gateway_model(
    policy: dict[str, Any], now: date, server_names: tuple[str, ...] | list[str] = ("localhost", "127.0.0.1")
) -> dict[str, Any]:
    """Derive the template data from a schema-valid policy; ``now`` decides which sunsets have passed.

    ``server_names`` are the names clients reach the gateway by: any other Host is refused.
    """
    _check_references(policy)
    op_index = {op["id"]: number for number, op in enumerate(policy["operations"], start=1)}
    api_index = {api["name"]: number for number, api in enumerate(policy["apis"], start=1)}
    checks = request_checks(policy, op_index, api_index)
    checked = set(checks["operations"])
    role_groups, rolesets = _Interner("g"), _Interner("r")
    body_classes: dict[tuple[Any, ...], dict[str, Any]] = {}
    operations = [
        {
            "index": op_index[op["id"]],
            "id": op["id"],
            "api": op["api"],
            "method": op["method"],
            "route": route_pattern(op["regex"], f"operations[{op['id']}]"),
            "state": lifecycle_state(op, now),
            "role_group": role_groups.intern(op["roles"]),
            "body_class": _body_class(op, op_index[op["id"]] in checked, body_classes)["index"],
        }
        for op in policy["operations"]
    ]
    checked_classes: dict[int, list[int]] = {}
    for op in operations:
        if op["index"] in checked:
            checked_classes.setdefault(op["body_class"], []).append(op["index"])
    checks["modules"] = modules(checks, checked_classes)
    del checks["parts"]
    clients = [_client_entry(client, rolesets) for client in policy["clients"]]
    grants = _role_grants(rolesets, role_groups)
    dispatch = route_dispatch(operations)
    routes = _routes(operations, dispatch["buckets"])
    route_keys = [key["key"] for level in dispatch["levels"] for key in level["keys"]]
    return {
        "version": MODEL_VERSION,
        "internal_prefix": INTERNAL_PREFIX,
        "canonical_path": {"refused": [refusal.pattern for refusal in REFUSALS], "plain": PLAIN},
        "override_headers": [
            {"name": name, "var": nginx_variable(name), "status": OVERRIDE_STATUS, "reason": reason}
            for name, reason in OVERRIDE_HEADERS.items()
        ],
        "pinned_headers": [{"name": name, "var": nginx_variable(name)} for name in PINNED_HEADERS],
        "js_module": JS_MODULE,
        "repeat_refused": {
            "headers": list(REPEAT_REFUSED_HEADERS),
            "vars": [nginx_variable(name) for name in REPEAT_REFUSED_HEADERS],
            "status": REPEAT_STATUS,
        },
        "nginx_errors": [asdict(error) for error in NGINX_ERRORS],
        "tls": {"ciphers": ":".join(TLS12_CIPHERS)},
        "server_names": [name.lower() for name in server_names],
        "server_names_pattern": "|".join(literal_pattern(name.lower()) for name in server_names),
        "apis": [{**upstream_entry(api), "index": api_index[api["name"]]} for api in policy["apis"]],
        "request_checks": checks,
        "clients": clients,
        "operations": operations,
        "routes": routes,
        "route_levels": dispatch["levels"],
        "role_grants": grants,
        "body_classes": list(body_classes.values()),
        "rate_zones": rate_zones(policy, op_index),
        "hash_max_size": _hash_size(len(operations), len(grants), len(clients), len(route_keys)),
        "hash_bucket_size": _bucket_size([*route_keys, *(client["name"] for client in clients)]),
        # Every route bucket map is a variable, besides the gateway's hundred or so.
        "variables_hash_max_size": _hash_size(256 + sum(len(route["buckets"]) for route in routes), minimum=2048),
        "next_sunset": _next_sunset(policy, now),
        "access_log": {
            "format": access_log.nginx_log_format(policy["policy_id"]),
            "reasons": {reason: reason for reason in access_log.REASONS},
            "allowed": list(access_log.ALLOWED),
        },
    }


def lifecycle_state(op: dict[str, Any], now: date) -> str:
    """ok, deprecated (served, logged as such) or sunset (410): from deprecation_action and sunset."""
    if not op["deprecated"] or op["deprecation_action"] == "allow":
        return "ok"
    if op["deprecation_action"] == "warn":
        return "deprecated"
    sunset = op["sunset"]
    return "sunset" if sunset is None or date.fromisoformat(sunset) <= now else "deprecated"


class _Interner:
    """Give each distinct sorted tuple of names a short id (g1, g2 ... or r1, r2 ...)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids: dict[tuple[str, ...], str] = {}

    def intern(self, names: list[str]) -> str:
        key = tuple(sorted(names))
        return self.ids.setdefault(key, f"{self.prefix}{len(self.ids) + 1}")

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(ident, names) for names, ident in self.ids.items()]


def _role_grants(rolesets: _Interner, role_groups: _Interner) -> list[str]:
    """ "ROLESET|GROUP" for every client role set sharing at least one role with an operation's roles."""
    return [
        f"{roleset}|{group}"
        for roleset, held in rolesets.items()
        for group, allowed in role_groups.items()
        if set(held) & set(allowed)
    ]


def _client_entry(client: dict[str, Any], rolesets: _Interner) -> dict[str, Any]:
    return {
        "name": client["name"],
        "subject_pattern": subject_pattern(client["subject"]),
        "roles": ",".join(sorted(client["roles"])),
        "roleset": rolesets.intern(client["roles"]),
    }


def _body_class(op: dict[str, Any], checked: bool, classes: dict[tuple[Any, ...], dict[str, Any]]) -> dict[str, Any]:
    """Operations sharing API, body rules and whether the request checks run share one internal
    location (one client_max_body_size); the checks find their operation by $gw_op."""
    body = op["body"]
    # client_max_body_size 0 would mean "unlimited": an operation allowing 0 bytes takes no body.
    allowed = body["allowed"] and body["max_bytes"] > 0
    content_types = tuple(sorted(body["content_types"])) if allowed else ()
    key = (op["api"], allowed, body["max_bytes"] if allowed else 0, content_types, checked)
    if key not in classes:
        index = len(classes) + 1
        media_types = media_type_pattern(list(content_types)) if allowed else None
        classes[key] = {
            "index": index,
            "api": op["api"],
            "body_allowed": allowed,
            # Without a body allowed, the limit of 1 makes NGINX refuse any Content-Length above 0 itself.
            "max_bytes": body["max_bytes"] if allowed else 1,
            "media_types": list(content_types),
            # The request checks run (gateway/checks/<index>.js), then pass it to the API's location.
            "checked": checked,
            # Matched against "$gw_body_class|$gw_has_body|$content_type" in gateway/maps.conf.
            "media_type_pattern": None if media_types is None else f"^{index}\\|1\\|{media_types}",
        }
    return classes[key]


def _routes(operations: list[dict[str, Any]], buckets: list[list[int]]) -> list[dict[str, Any]]:
    """Per method, its entries in policy order (the policy's match priority) and in each route bucket."""
    routes = []
    for method in sorted({op["method"] for op in operations}, key=METHOD_ORDER.index):
        entries = [{"pattern": op["route"], "index": op["index"]} for op in operations if op["method"] == method]
        in_bucket = [
            {
                "bucket": number,
                "var": f"gw_route_{method.lower()}_{number}",
                "entries": [entry for entry in entries if entry["index"] in members],
            }
            for number, members in enumerate(map(set, buckets))
        ]
        routes.append(
            {
                "method": method,
                "var": f"gw_route_{method.lower()}",
                "entries": entries,
                "buckets": [bucket for bucket in in_bucket if bucket["entries"]],
            }
        )
    return routes


def _hash_size(*entry_counts: int, minimum: int = 1024) -> int:
    """A hash's max_size: a power of two at least twice the largest count of entries."""
    size = minimum
    while size < 2 * max(entry_counts, default=0):
        size *= 2
    return size


def _bucket_size(keys: list[str]) -> int:
    """map_hash_bucket_size: room for the longest exact key (NGINX: pointer, length, text, aligned)."""
    longest = max((len(key.encode()) for key in keys), default=0)
    needed = -(-(8 + 2 + longest) // 8) * 8 + 8
    return max(64, -(-needed // 64) * 64)


def _next_sunset(policy: dict[str, Any], now: date) -> str | None:
    """The next date on which a deny-on-sunset operation starts answering 410: re-render by then."""
    upcoming = [
        op["sunset"]
        for op in policy["operations"]
        if op["deprecated"]
        and op["deprecation_action"] == "deny"
        and op["sunset"]
        and date.fromisoformat(op["sunset"]) > now
    ]
    return min(upcoming, default=None)


def _check_references(policy: dict[str, Any]) -> None:
    """What the schema cannot say: unique names and ids, known APIs, no clash with internal paths."""
    for what, values in (
        ("apis[].name", [api["name"] for api in policy["apis"]]),
        ("apis[].name with '-' read as '_'", [variable_suffix(api["name"]) for api in policy["apis"]]),
        ("operations[].id", [op["id"] for op in policy["operations"]]),
        ("clients[].name", [client["name"] for client in policy["clients"]]),
        ("clients[].subject", [client["subject"] for client in policy["clients"]]),
    ):
        duplicates = sorted(value for value, count in Counter(values).items() if count > 1)
        if duplicates:
            raise BadInputError(f"policy: {what} must be unique; repeated: {', '.join(duplicates)}")
    api_names = {api["name"] for api in policy["apis"]}
    for op in policy["operations"]:
        if op["api"] not in api_names:
            raise BadInputError(f"policy: operations[{op['id']}].api {op['api']!r} is not in apis[]")
        if op["gateway_path"].startswith(INTERNAL_PREFIX):
            raise BadInputError(
                f"policy: operations[{op['id']}].gateway_path {op['gateway_path']!r} is under the gateway's "
                f"internal prefix {INTERNAL_PREFIX}"
            )
