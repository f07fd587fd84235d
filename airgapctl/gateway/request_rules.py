"""What the gateway refuses besides method and path: override headers and NGINX's own refusals.

One definition, rendered into the gateway's NGINX configuration (through the model) and applied
by the reference router (airgapctl/specs/routing.py), so the self-test and the tests hold the
running gateway to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from airgapctl.contracts.access_log import Reason

# Headers through which many upstream frameworks run another method or path than the request
# line names. Refused, not stripped: the client asked for something its grant does not name, and
# quietly dropping the header would run an operation the client did not mean (a tunnelled DELETE
# becoming a POST). NGINX cannot tell a header sent empty from one not sent, so each of them is
# also removed from what is passed upstream. Lower case: header names compare case-insensitively.
OVERRIDE_HEADERS = {
    "x-http-method-override": Reason.METHOD_OVERRIDE,
    "x-http-method": Reason.METHOD_OVERRIDE,
    "x-method-override": Reason.METHOD_OVERRIDE,
    "x-original-url": Reason.PATH_OVERRIDE,
    "x-rewrite-url": Reason.PATH_OVERRIDE,
}
OVERRIDE_STATUS = 400

# Sent twice, these make NGINX refuse the request itself (400), as does a body framed by both
# Content-Length and Transfer-Encoding.
UNIQUE_HEADERS = (
    "host",
    "content-length",
    "transfer-encoding",
    "authorization",
    "content-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
)
# Sent twice, these the gateway refuses itself (400 bad_request, after the override headers): an
# upstream may read another copy than the one the media-type check read, and NGINX 1.22's
# variables hold the first copy only, so NGINX's JavaScript module counts them (gateway/headers.js).
# Not when the first copy of each is empty: the checks read none and the upstream gets none, as
# only that first copy is ever passed upstream.
REPEAT_REFUSED_HEADERS = ("content-type",)
REPEAT_STATUS = 400
PINNED_HEADERS = REPEAT_REFUSED_HEADERS
# NGINX's buffers for the request line and each header line (large_client_header_buffers 4 8k).
LINE_BYTES = 8192

# The one transfer coding NGINX accepts; any other it answers 501 itself.
TRANSFER_CODING = "chunked"
# Request-line methods NGINX parses: upper-case letters, '_' and '-'. These it refuses itself once
# the headers are read (CONNECT with an authority-form target already in the request line, 400).
METHOD_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"
REFUSED_METHODS = {"CONNECT": 405, "TRACE": 405}


@dataclass(frozen=True)
class NginxError:
    """A refusal NGINX makes itself, answered in JSON from an internal location (gateway/errors.conf)."""

    codes: str  # the statuses NGINX produces, as error_page lists them
    name: str  # the named location answering it: @gw_error_<name>
    status: int  # the status the client gets
    reason: Reason
    # A raw path the canonical rule refuses is the reason, rather than the general one.
    path_first: bool = False


# A request line or header block NGINX cannot parse or will not serve, first: 400 for most,
# 405 for TRACE, 501 for an unknown transfer coding, 505 for a version other than HTTP/1.x,
# 421 when the TLS server name and the Host header disagree.
NGINX_ERRORS = (
    NginxError("400 494", "bad_request", 400, Reason.BAD_REQUEST, path_first=True),
    NginxError("405", "not_allowed", 405, Reason.METHOD_NOT_ALLOWED),
    NginxError("421", "misdirected", 421, Reason.UNKNOWN_HOST),
    NginxError("501", "not_implemented", 501, Reason.BAD_REQUEST),
    NginxError("505", "version", 505, Reason.BAD_REQUEST),
    NginxError("414", "uri_too_long", 414, Reason.BAD_REQUEST),
    NginxError("404", "not_found", 404, Reason.UNKNOWN_PATH),
    NginxError("413", "too_large", 413, Reason.BODY_TOO_LARGE),
    NginxError("429", "rate_limited", 429, Reason.RATE_LIMITED),
    NginxError("495 496", "bad_cert", 400, Reason.BAD_CLIENT_CERT),
    NginxError("497", "plain_http", 401, Reason.NO_CLIENT_CERT),
    NginxError("502", "bad_gateway", 502, Reason.UPSTREAM_ERROR),
    NginxError("504", "gateway_timeout", 504, Reason.UPSTREAM_ERROR),
)


def nginx_error(status: int) -> NginxError:
    """The entry for a status NGINX produces itself."""
    return next(error for error in NGINX_ERRORS if str(status) in error.codes.split())


def nginx_variable(header: str) -> str:
    """The NGINX variable holding a request header's first value: X-Foo -> http_x_foo."""
    return "http_" + header.lower().replace("-", "_")
