"""The gateway's access log: one JSON object per request, allowed or denied, written by NGINX.

The one definition of the line's fields and of the reasons a request is served or refused. The
gateway's log_format is rendered from ``FIELDS``; the audit's readers, the simulator, the reference
router and the self-test take their names from here. airgapctl/schemas/access_log.schema.json states
the same for readers outside this code, and a test holds the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

VERSION = 1


class Reason(StrEnum):
    """Why the gateway served or refused a request: the line's ``reason`` and the JSON error's ``error``."""

    OK = "ok"
    DEPRECATED = "deprecated"  # served; the operation is deprecated
    NO_CLIENT_CERT = "no_client_cert"
    BAD_CLIENT_CERT = "bad_client_cert"
    UNKNOWN_CLIENT = "unknown_client"
    BAD_REQUEST = "bad_request"  # NGINX itself refused the request line or headers as malformed
    UNKNOWN_HOST = "unknown_host"  # a Host or TLS server name the gateway does not serve
    METHOD_OVERRIDE = "method_override"  # a header asking the upstream to run another method
    PATH_OVERRIDE = "path_override"  # a header asking the upstream to serve another path
    NON_CANONICAL_PATH = "non_canonical_path"
    UNKNOWN_PATH = "unknown_path"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    FORBIDDEN_ROLE = "forbidden_role"
    RATE_LIMITED = "rate_limited"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    SUNSET = "sunset"
    UPSTREAM_ERROR = "upstream_error"  # passed to the upstream, which failed or timed out
    # The request breaks its operation's spec (an API or operation in enforce mode): the line's
    # violation_pointer and violation_keyword say where and which check.
    INVALID_QUERY = "invalid_query"
    INVALID_HEADER = "invalid_header"
    INVALID_BODY = "invalid_body"


REASONS: tuple[str, ...] = tuple(reason.value for reason in Reason)
# What a request's spec check found: refused with it as the reason in enforce mode, served and
# logged with it in report mode (the line's ``violation``; "" when none).
VIOLATIONS: tuple[str, ...] = (Reason.INVALID_QUERY.value, Reason.INVALID_HEADER.value, Reason.INVALID_BODY.value)
# Passed to the upstream: the decision "allow". Every other reason is a refusal, "deny".
ALLOWED: tuple[str, ...] = (Reason.OK.value, Reason.DEPRECATED.value, Reason.UPSTREAM_ERROR.value)
DECISIONS = ("allow", "deny")


def decision(reason: str) -> str:
    """The decision a line with ``reason`` must carry."""
    return "allow" if reason in ALLOWED else "deny"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # the JSON type: string, integer or number
    nginx: str  # what NGINX writes: a variable, or literal text ("" when given at render time)
    required: bool = True
    values: tuple[object, ...] = ()  # the only values allowed, when the contract fixes them


# In the order NGINX writes them. Strings are '' for "none": NGINX cannot write null.
FIELDS = (
    Field("v", "integer", str(VERSION), values=(VERSION,)),
    Field("time", "string", "$time_iso8601"),
    Field("request_id", "string", "$request_id"),
    Field("remote_addr", "string", "$remote_addr"),
    Field("client", "string", "$gw_client"),
    Field("subject", "string", "$ssl_client_s_dn", required=False),
    Field("roles", "string", "$gw_client_roles"),
    Field("method", "string", "$gw_log_method"),
    Field("uri", "string", "$request_uri"),
    Field("operation", "string", "$gw_operation"),
    Field("decision", "string", "$gw_decision", values=DECISIONS),
    Field("reason", "string", "$gw_log_reason", values=REASONS),
    Field("status", "integer", "$status"),
    Field("bytes_in", "integer", "$request_length"),
    Field("bytes_out", "integer", "$bytes_sent"),
    Field("request_time", "number", "$request_time"),
    Field("upstream_status", "string", "$upstream_status"),
    Field("upstream_time", "string", "$upstream_response_time"),
    Field("tls_version", "string", "$ssl_protocol"),
    # The spec check's finding, also when the request was served (report mode): which kind, the
    # JSON pointer of the failing place (/name for a query parameter or header, the body's own
    # pointer for a body) and the failing keyword; never the value. Absent from older lines.
    Field("violation", "string", "$gw_violation", required=False, values=("", *VIOLATIONS)),
    Field("violation_pointer", "string", "$gw_violation_pointer", required=False),
    Field("violation_keyword", "string", "$gw_violation_keyword", required=False),
    Field("policy_id", "string", ""),
)
FIELD = {field.name: field for field in FIELDS}
# Text NGINX may carry literally inside a log_format string ('$', quotes and backslashes could not be).
_LITERAL = re.compile(r"[A-Za-z0-9:._-]*")


def nginx_log_format(policy_id: str) -> list[str]:
    """The log_format's strings, one per field; NGINX joins them (escape=json quotes variables' values)."""
    if not _LITERAL.fullmatch(policy_id):
        raise ValueError(f"policy_id {policy_id!r} cannot be logged as literal text")
    literal = {"policy_id": policy_id}
    pieces = []
    for number, field in enumerate(FIELDS):
        value = field.nginx or literal[field.name]
        text = f'"{value}"' if field.type == "string" else value
        pieces.append(("{" if number == 0 else "") + f'"{field.name}":{text}' + ("}" if field is FIELDS[-1] else ","))
    return pieces


def json_line_template(values: dict[str, str]) -> str:
    """A whole line as a %-format string, fields in NGINX's order; ``values`` gives each field's text."""
    return "{" + ",".join(f'"{field.name}":{values[field.name]}' for field in FIELDS) + "}\n"
