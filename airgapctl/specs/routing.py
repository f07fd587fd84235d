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
from airgapctl.gateway import request_rules as rules
from airgapctl.gateway.request_checks import STATUS as CHECK_STATUS
from airgapctl.gateway.request_checks import UNCHECKED
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
    # The request as it travels, for what NGINX decides before the policy does. headers: every
    # header line as sent, in order; None leaves the request line, headers and host unchecked.
    headers: tuple[tuple[str, str], ...] | None = None
    version: str = "HTTP/1.1"
    authority: str | None = None  # the host of an absolute-form target
    sni: str | None = None  # the TLS server name the client sent
    certificate_failed: bool = False  # a certificate the client CA does not vouch for (or revoked, expired)
    # What the spec's request checks read: the query string (without "?"), header parameters the
    # self-test sends, the body's bytes (body_bytes of filler when None), and the violation a
    # request is built to commit (None: built valid), which only an operation in enforce mode refuses.
    query: str = ""
    spec_headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    violation: str | None = None


class Router:
    def __init__(
        self, policy: dict[str, Any], today: dt.date | None = None, server_names: tuple[str, ...] | None = None
    ) -> None:
        """``server_names``: the gateway's names (render option); None leaves the Host unchecked."""
        self.policy = policy
        self.today = today or dt.date.today()
        self.server_names = None if server_names is None else {name.lower() for name in server_names}

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
        # The order of gateway/server.conf; NGINX's own refusals are answered after the
        # server-level checks (errors.conf), and a request line it refused names no host.
        line_error = _line_error(request)
        if line_error is None and not self._host_known(request):
            return Decision(421, Reason.UNKNOWN_HOST)
        if request.certificate_failed:
            return Decision(400, Reason.BAD_CLIENT_CERT)
        if request.client is None:
            return Decision(401, Reason.NO_CLIENT_CERT)
        if request.client not in self._client_roles:
            return Decision(403, Reason.UNKNOWN_CLIENT)
        if line_error is not None:
            # Judged as sent: an absolute-form target is no canonical path.
            sent = request.path if request.authority is None else f"//{request.authority}{request.path}"
            return _nginx_decision(line_error, sent)
        if not canonical.is_canonical(request.path):
            return Decision(400, Reason.NON_CANONICAL_PATH)
        override = _override(request.headers or ())
        if override:
            return Decision(rules.OVERRIDE_STATUS, override)
        if _repeated(request.headers or ()):
            return Decision(rules.REPEAT_STATUS, Reason.BAD_REQUEST)
        header_error = _header_error(request)
        if header_error is not None:
            return _nginx_decision(header_error, request.path)
        operation, methods = self.match(request.method, request.path)
        if operation is None:
            return Decision(405, Reason.METHOD_NOT_ALLOWED) if methods else Decision(404, Reason.UNKNOWN_PATH)
        op_id = operation["id"]
        if not self._client_roles[request.client] & set(operation["roles"]):
            return Decision(403, Reason.FORBIDDEN_ROLE, op_id)
        if self._sunset_passed(operation):
            return Decision(410, Reason.SUNSET, op_id)
        refused = self._body_decision(operation, request)
        if refused is None and request.violation and operation.get("validation", UNCHECKED)["mode"] == "enforce":
            refused = Decision(CHECK_STATUS, request.violation, op_id)
        return refused or Decision(0, self._served_reason(operation), op_id)

    def _host_known(self, request: Request) -> bool:
        if self.server_names is None or request.headers is None:
            return True
        host_header = _first(request.headers, "host")
        host = _host_name(request.authority or host_header or "")
        sni_ok = not request.sni or request.sni.lower() in self.server_names
        # NGINX refuses a malformed Host (400) and meanwhile takes the server's own name for it.
        return bool(host_header) and sni_ok and (host is None or host in self.server_names)

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


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The first value NGINX keeps for a header; names with '_' it drops (underscores_in_headers off)."""
    return next((value.strip() for key, value in headers if key.lower() == name and "_" not in key), None)


def _host_name(host: str) -> str | None:
    """The name NGINX compares: lower case, without port and trailing dot; None when malformed."""
    if re.search(r"[/\\\x00]|\.\.|^\.", host):
        return None
    return re.sub(r":[0-9]*$", "", host.lower()).removesuffix(".")


def _override(headers: tuple[tuple[str, str], ...]) -> str | None:
    """The reason for the first override header (in the gateway's order) sent with a value."""
    return next((reason for name, reason in rules.OVERRIDE_HEADERS.items() if _first(headers, name)), None)


def _line_error(request: Request) -> int | None:
    """The status NGINX refuses an unparsable request line with, or None."""
    if request.headers is None:
        return None
    if not request.method or request.method.strip(rules.METHOD_CHARACTERS):
        return 400
    if not re.fullmatch(r"HTTP/1\.[0-9]", request.version):
        return 505 if re.fullmatch(r"HTTP/[2-9]\.[0-9]", request.version) else 400
    if request.method == "CONNECT" and not request.path.startswith("/"):
        return 400
    # An absolute-form target's host: a name or address and a port, no user information.
    if request.authority is not None and not re.fullmatch(
        r"(?:[A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]*\])(?::[0-9]*)?", request.authority
    ):
        return 400
    if len(f"{request.method} {request.path} {request.version}") > rules.LINE_BYTES:
        return 414
    return None


def _repeated(headers: tuple[tuple[str, str], ...]) -> bool:
    """A header the gateway refuses to see twice, sent twice (names with '_' NGINX ignores). Not
    counted when the first copy of each is empty: that is what the checks read and what the
    upstream gets (none)."""
    names = [name.lower() for name, _ in headers if "_" not in name]
    if not any((_first(headers, name) or "").strip() for name in rules.REPEAT_REFUSED_HEADERS):
        return False
    return any(names.count(name) > 1 for name in rules.REPEAT_REFUSED_HEADERS)


def _header_error(request: Request) -> int | None:
    """The status NGINX refuses the header block (or the method) with once it has read it, or None."""
    headers = request.headers or ()
    names = [name.lower() for name, _ in headers if "_" not in name]
    if any(names.count(name) > 1 for name in rules.UNIQUE_HEADERS):
        return 400
    if any(len(name) + len(value) + 4 > rules.LINE_BYTES for name, value in headers):
        return 400
    if _host_name(_first(headers, "host") or "") is None:
        return 400
    length, coding = _first(headers, "content-length"), _first(headers, "transfer-encoding")
    if (length is not None and coding is not None) or (length is not None and not length.isdigit()):
        return 400
    if coding is not None and request.version == "HTTP/1.0":
        return 400
    if coding is not None and coding.lower() != rules.TRANSFER_CODING:
        return 501
    return rules.REFUSED_METHODS.get(request.method)


def _nginx_decision(status: int, path: str) -> Decision:
    error = rules.nginx_error(status)
    if error.path_first and not canonical.is_canonical(path):
        return Decision(error.status, Reason.NON_CANONICAL_PATH)
    return Decision(error.status, error.reason)
