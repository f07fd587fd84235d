"""What the gateway must decide for a request, computed from the compiled policy alone.

This is the reference the self-test compares a running gateway against, and the meaning of
the access log's decision/reason fields: the same order of checks the rendered NGINX applies.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from airgapctl.contracts.access_log import Reason
from airgapctl.specs import canonical

# The gateway's canonical-path rule as one regex (also read by log analysis).
NON_CANONICAL = canonical.NON_CANONICAL


@dataclass(frozen=True)
class Decision:
    status: int  # 0 for "served by the upstream": whatever it answers
    reason: str  # the access log's reason enum
    operation: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # raw path, without the query string
    client: str | None  # policy client name; None = no certificate
    content_type: str | None = None
    body_bytes: int = 0


class Router:
    def __init__(self, policy: dict[str, Any], today: dt.date | None = None) -> None:
        self.policy = policy
        self.today = today or dt.date.today()

    @cached_property
    def _compiled(self) -> list[tuple[re.Pattern[str], dict[str, Any]]]:
        return [(re.compile(op["regex"]), op) for op in self.policy["operations"]]

    @cached_property
    def _client_roles(self) -> dict[str, set[str]]:
        return {c["name"]: set(c["roles"]) for c in self.policy["clients"]}

    def match(self, method: str, path: str) -> tuple[dict[str, Any] | None, list[str]]:
        """The operation for method+path (first match in policy order), and the methods the path allows.

        ``path`` is raw; like NGINX, operations are matched against its percent-decoding.
        """
        path = canonical.decoded(path)
        methods = [op["method"] for regex, op in self._compiled if regex.match(path)]
        operation = next((op for regex, op in self._compiled if op["method"] == method and regex.match(path)), None)
        return operation, sorted(set(methods))

    def decide(self, request: Request) -> Decision:
        if request.client is None:
            return Decision(401, Reason.NO_CLIENT_CERT)
        if request.client not in self._client_roles:
            return Decision(403, Reason.UNKNOWN_CLIENT)
        if not canonical.is_canonical(request.path):
            return Decision(400, Reason.NON_CANONICAL_PATH)
        operation, methods = self.match(request.method, request.path)
        if operation is None:
            return Decision(405, Reason.METHOD_NOT_ALLOWED) if methods else Decision(404, Reason.UNKNOWN_PATH)
        op_id = operation["id"]
        if not self._client_roles[request.client] & set(operation["roles"]):
            return Decision(403, Reason.FORBIDDEN_ROLE, op_id)
        if self._sunset_passed(operation):
            return Decision(410, Reason.SUNSET, op_id)
        return self._body_decision(operation, request) or Decision(0, self._served_reason(operation), op_id)

    def _sunset_passed(self, operation: dict[str, Any]) -> bool:
        if not operation["deprecated"] or operation["deprecation_action"] != "deny":
            return False
        sunset = operation["sunset"]
        return sunset is None or dt.date.fromisoformat(sunset) <= self.today

    @staticmethod
    def _served_reason(operation: dict[str, Any]) -> str:
        deprecated = operation["deprecated"] and operation["deprecation_action"] in ("warn", "deny")
        return Reason.DEPRECATED if deprecated else Reason.OK

    @staticmethod
    def _body_decision(operation: dict[str, Any], request: Request) -> Decision | None:
        body = operation["body"]
        if request.body_bytes and (not body["allowed"] or request.body_bytes > body["max_bytes"]):
            return Decision(413, Reason.BODY_TOO_LARGE, operation["id"])
        if request.body_bytes and not content_type_allowed(request.content_type, body["content_types"]):
            return Decision(415, Reason.UNSUPPORTED_MEDIA_TYPE, operation["id"])
        return None


def content_type_allowed(content_type: str | None, allowed: list[str]) -> bool:
    """Media type without parameters, case-insensitive; ``type/*`` and ``*/*`` are wildcards."""
    if not content_type:
        return False
    base = content_type.split(";", 1)[0].strip().lower()
    major = base.split("/", 1)[0]
    return any(a == base or a == f"{major}/*" or a == "*/*" for a in allowed)
