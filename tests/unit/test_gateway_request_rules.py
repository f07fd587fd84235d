"""The rules beyond method and path: as rendered, and as the reference router applies them."""

from __future__ import annotations

import ssl
from dataclasses import replace
from datetime import date

import pytest

from airgapctl.errors import BadInputError
from airgapctl.gateway.model import TLS12_CIPHERS
from airgapctl.gateway.render import RenderOptions, render_templates, template_variables
from airgapctl.gateway.request_rules import OVERRIDE_HEADERS, nginx_error
from airgapctl.specs.routing import Request, Router
from tests.integration.gateway.scenario import scenario_policy

NOW = date(2026, 6, 1)
POLICY = scenario_policy(8080, 8081)
ROUTER = Router(POLICY, NOW, server_names=("127.0.0.1", "gw.example"))
HOST = (("Host", "127.0.0.1"),)


def decide(method: str = "GET", path: str = "/api/pets/1", headers=HOST, **kwargs) -> tuple[int, str]:
    decision = ROUTER.decide(Request(method, path, "alice", headers=headers, **kwargs))
    return decision.status, decision.reason


def test_tls_1_2_suites_are_all_forward_secret_and_aead_as_openssl_reads_them():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers(":".join(TLS12_CIPHERS))
    tls12 = [c for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert sorted(c["name"] for c in tls12) == sorted(TLS12_CIPHERS)
    assert all(c["kea"] == "kx-ecdhe" and c["aead"] for c in tls12)


@pytest.mark.parametrize("header", [*OVERRIDE_HEADERS, "X-HTTP-METHOD-OVERRIDE", "X-Original-Url"])
def test_override_headers_are_refused_in_any_case(header):
    reason = OVERRIDE_HEADERS[header.lower()]
    assert decide(headers=(*HOST, (header, "DELETE"))) == (400, reason)


def test_override_headers_nginx_cannot_see_are_served():
    assert decide(headers=(*HOST, ("X-HTTP-Method-Override", ""))) == (0, "ok")
    assert decide(headers=(*HOST, ("X_HTTP_Method_Override", "DELETE"))) == (0, "ok")


TYPE = ("Content-Type", "a/b")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((*HOST, ("Host", "127.0.0.1")), (400, "bad_request")),
        ((*HOST, ("Content-Length", "0"), ("Content-Length", "0")), (400, "bad_request")),
        ((*HOST, ("Content-Length", "2"), ("Transfer-Encoding", "chunked")), (400, "bad_request")),
        ((*HOST, ("Transfer-Encoding", "gzip")), (501, "bad_request")),
        ((*HOST, ("Content-Type", "a/b"), ("Content-Type", "c/d")), (400, "bad_request")),
        ((*HOST, ("Content-Type", ""), ("content-type", "c/d")), (0, "ok")),  # the checks read none, none goes on
        ((*HOST, ("Content-Type", "a/b"), ("Content_Type", "c/d")), (0, "ok")),
        ((*HOST, TYPE, TYPE, ("Transfer-Encoding", "gzip")), (400, "bad_request")),
        ((*HOST, TYPE, TYPE, ("X-HTTP-Method", "PUT")), (400, "method_override")),
        ((("Host", "evil.example"),), (421, "unknown_host")),
        ((("Host", "GW.example.:8443"),), (0, "ok")),
        ((), (421, "unknown_host")),
    ],
)
def test_framing_and_host(headers, expected):
    assert decide(headers=headers) == expected


def test_request_line_refusals_come_after_the_certificate_and_name_no_host():
    assert decide("get", headers=(("Host", "evil.example"),)) == (400, "bad_request")
    assert decide(version="HTTP/2.0") == (505, "bad_request")
    assert decide("TRACE") == (405, "method_not_allowed")
    assert ROUTER.decide(Request("get", "/api/pets/1", None, headers=HOST)).reason == "no_client_cert"
    assert decide("get", "/api/../x") == (400, "non_canonical_path")
    assert nginx_error(494).reason == "bad_request"


def test_requests_without_headers_are_judged_on_the_policy_alone():
    """What the self-test sends: no header model, so no host or framing rule applies."""
    assert ROUTER.decide(Request("GET", "/api/pets/1", "alice")).reason == "ok"


def test_render_options_name_the_gateway_and_its_crl():
    options = RenderOptions(now=NOW, server_names=("GW.Example", "127.0.0.1"), client_crl="/etc/airgap/tls/ca.crl")
    rendered = render_templates(template_variables(POLICY, options))
    assert "    server_name gw.example 127.0.0.1;\n" in rendered["gateway/server.conf"]
    assert "\nssl_crl /etc/airgap/tls/ca.crl;\n" in rendered["gateway/server.conf"]
    assert (
        "ssl_crl"
        not in render_templates(template_variables(POLICY, replace(options, client_crl=None)))["gateway/server.conf"]
    )


@pytest.mark.parametrize("names", [(), ("gw example",), ("*.example",), ("gw.example;",), ("a/b",)])
def test_server_names_must_be_host_names(names):
    with pytest.raises(BadInputError):
        template_variables(POLICY, RenderOptions(now=NOW, server_names=names))
