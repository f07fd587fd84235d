"""The rendered gateway under a real NGINX on loopback: every check of the policy, end to end.

One NGINX per module (started from the rendered prefix directory, stopped by its pid), one
recording upstream; each request is followed to the upstream (or proven not to get there) and
to its access-log line, which must match airgapctl/schemas/access_log.schema.json.
"""

from __future__ import annotations

import shutil
import ssl
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from airgapctl.errors import AirgapError
from airgapctl.gateway.render import render_gateway
from airgapctl.specs.routing import Request, Router
from tests.integration.gateway import pki
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.cases import (
    JSON,
    LISTED_MEDIA_TYPES,
    NON_CANONICAL,
    OVERSIZE_BODIES,
    RAW_PATH_PROBES,
    UNKNOWN_PATHS,
    UNLISTED_MEDIA_TYPES,
)
from tests.integration.gateway.client import GatewayClient
from tests.integration.gateway.contracts import assert_valid_log_line, assert_valid_policy
from tests.integration.gateway.harness import (
    Gateway,
    assert_allowed,
    assert_denied,
    checked_log_line,
    render_options,
    running_gateway,
)
from tests.integration.gateway.nginx_process import RunningNginx, free_port, log_line, read_log
from tests.integration.gateway.pki import Issued
from tests.integration.gateway.scenario import (
    CANARY,
    CREDENTIAL,
    NOW,
    ODD_OPERATION_ID,
    Identities,
    make_identities,
    scenario_policy,
    write_credential,
)

# No skip when nginx is missing: scripts/setup.sh installs it, so its absence is a failure.
pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def identities(tmp_path_factory) -> Identities:
    return make_identities(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, identities) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway"), identities) as running:
        yield running


# --- allowed requests and what the upstream sees


def test_allowed_request_is_proxied_with_its_exact_path_query_and_identity(gateway):
    sent = gateway.send("alice", "GET", "/api/pets/12?x=1&y=%20&z=a%2Fb")
    received = assert_allowed(gateway, sent, "/v1/pets/12", "petstore.getPet", query="x=1&y=%20&z=a%2Fb")
    assert received.headers["authorization"] == f"Bearer {CANARY}"
    assert received.method == "GET"
    line = log_line(gateway.access_log, sent[0].request_id)
    assert (line["roles"], line["subject"], line["method"]) == ("reader,writer", "CN=alice,OU=ops,O=Example", "GET")
    assert line["uri"] == "/api/pets/12?x=1&y=%20&z=a%2Fb"


def test_literal_segment_shadows_the_template(gateway):
    assert_allowed(gateway, gateway.send("alice", "GET", "/api/pets/mine"), "/v1/pets/mine", "petstore.getMine")
    assert_allowed(gateway, gateway.send("alice", "GET", "/api/pets/7"), "/v1/pets/7", "petstore.getPet")
    assert_denied(gateway, gateway.send("alice", "GET", "/api/pets/abc"), 404, "unknown_path")


def test_root_mounted_api_gets_the_whole_path_and_no_foreign_credential(gateway):
    sent = gateway.send("bob", "GET", "/inv/items?q=a")
    received = assert_allowed(gateway, sent, "/inventory/inv/items", "inventory.listItems", query="q=a", client="bob")
    assert "authorization" not in received.headers


def test_client_supplied_identity_and_certificate_headers_never_reach_the_upstream(gateway):
    forged = {
        "X-Client-Identity": "root",
        "X-Request-Id": "f" * 32,
        "X-SSL-Client-Cert": "forged",
        "X-SSL-Client-S-DN": "CN=root",
        "X-Forwarded-Client-Cert": "forged",
    }
    received = assert_allowed(
        gateway, gateway.send("alice", "GET", "/api/pets", headers=forged), "/v1/pets", "petstore.listPets"
    )
    assert received.headers["x-request-id"] != "f" * 32
    assert not {"x-ssl-client-cert", "x-ssl-client-s-dn", "x-forwarded-client-cert"} & set(received.headers)


def test_operation_id_with_nginx_syntax_is_logged_verbatim(gateway):
    assert_allowed(gateway, gateway.send("alice", "GET", "/api/odd"), "/v1/odd", f"petstore.{ODD_OPERATION_ID}")


# --- mutual TLS, before anything else


@pytest.mark.parametrize(
    ("who", "status", "reason"),
    [
        (None, 401, "no_client_cert"),
        ("eve", 400, "bad_client_cert"),
        ("mallory", 403, "unknown_client"),
        ("alice_upper", 403, "unknown_client"),
    ],
)
@pytest.mark.parametrize("target", ["/api/pets", "/api//pets", "/nope", "/_airgap_gateway/op/1"])
def test_certificate_problems_are_refused_before_any_path_check(gateway, who, status, reason, target):
    line = assert_denied(gateway, gateway.send(who, "GET", target), status, reason)
    assert (line["client"], line["roles"]) == ("", "")


# --- canonical paths only


@pytest.mark.parametrize("target", NON_CANONICAL)
def test_non_canonical_paths_are_refused(gateway, target):
    assert_denied(gateway, gateway.send("alice", "GET", target), 400, "non_canonical_path")


@pytest.mark.parametrize("target", RAW_PATH_PROBES)
def test_gateway_and_reference_router_decide_raw_paths_alike(gateway, target):
    expected = Router(gateway.policy, NOW).decide(Request("GET", target.split("?", 1)[0], "alice"))
    reply = gateway.client("alice").request("GET", target)
    line = checked_log_line(gateway, reply)
    served = line["decision"] == "allow"
    assert (0 if served else reply.status, line["reason"]) == (expected.status, expected.reason)


# --- routing


@pytest.mark.parametrize("target", UNKNOWN_PATHS)
def test_unknown_paths_are_404(gateway, target):
    assert_denied(gateway, gateway.send("alice", "GET", target), 404, "unknown_path")


@pytest.mark.parametrize(
    ("method", "target", "allow"),
    [("PUT", "/api/pets", "GET, POST"), ("DELETE", "/api/pets/mine", "GET"), ("PATCH", "/api/pets/5", "GET, DELETE")],
)
def test_wrong_method_is_405_with_allow(gateway, method, target, allow):
    sent = gateway.send("alice", method, target)
    assert_denied(gateway, sent, 405, "method_not_allowed")
    assert sent[0].headers["allow"] == allow


def test_client_without_an_allowed_role_is_403(gateway):
    sent = gateway.send("bob", "POST", "/api/pets", body=b"{}", headers={"Content-Type": "application/json"})
    assert_denied(gateway, sent, 403, "forbidden_role", "petstore.createPet")
    assert_denied(gateway, gateway.send("bob", "DELETE", "/api/pets/3"), 403, "forbidden_role", "petstore.deletePet")


# --- deprecation and sunset (rendered with now = NOW)


@pytest.mark.parametrize(
    ("target", "reason"),
    [("/api/legacy/allow", "ok"), ("/api/legacy/warn", "deprecated"), ("/api/legacy/future", "deprecated")],
)
def test_deprecated_operations_still_served(gateway, target, reason):
    operation = {"allow": "legacyAllow", "warn": "legacyWarn", "future": "sunsetFuture"}[target.rsplit("/", 1)[1]]
    assert_allowed(
        gateway, gateway.send("alice", "GET", target), "/v1" + target[4:], f"petstore.{operation}", reason=reason
    )


@pytest.mark.parametrize(
    ("target", "operation"),
    [("/api/legacy/past", "sunsetPast"), ("/api/legacy/today", "sunsetToday"), ("/api/legacy/none", "sunsetNone")],
)
def test_sunset_operations_are_gone(gateway, target, operation):
    assert_denied(gateway, gateway.send("alice", "GET", target), 410, "sunset", f"petstore.{operation}")


# --- rate limits (1 r/s, burst 0: the second request within a second is refused)


def test_rate_limit_per_client_and_operation(gateway):
    assert_allowed(gateway, gateway.send("alice", "GET", "/api/limited"), "/v1/limited", "petstore.limited")
    assert_denied(gateway, gateway.send("alice", "GET", "/api/limited"), 429, "rate_limited", "petstore.limited")
    # Another client has its own counter for the operation.
    assert_allowed(gateway, gateway.send("bob", "GET", "/api/limited"), "/v1/limited", "petstore.limited", client="bob")


def test_rate_limit_per_client(gateway):
    assert_allowed(gateway, gateway.send("dave", "GET", "/api/pets"), "/v1/pets", "petstore.listPets", client="dave")
    assert_denied(gateway, gateway.send("dave", "GET", "/inv/items"), 429, "rate_limited", "inventory.listItems")


def test_rate_limit_per_role(gateway):
    sent = gateway.send("carol", "GET", "/api/throttled")
    assert_allowed(gateway, sent, "/v1/throttled", "petstore.throttled", client="carol")
    assert_denied(gateway, gateway.send("carol", "GET", "/api/throttled"), 429, "rate_limited", "petstore.throttled")


# --- bodies: size per operation (method), then media type


@pytest.mark.parametrize(("method", "target", "kwargs", "operation"), OVERSIZE_BODIES)
def test_bodies_over_the_operation_limit_are_413(gateway, method, target, kwargs, operation):
    assert_denied(gateway, gateway.send("alice", method, target, **kwargs), 413, "body_too_large", operation)


def test_body_limit_is_per_operation_on_a_shared_path(gateway):
    sent = gateway.send("alice", "POST", "/api/pets", body=b"x" * 1024, headers=JSON)
    assert assert_allowed(gateway, sent, "/v1/pets", "petstore.createPet").body_length == 1024
    sent = gateway.send("alice", "POST", "/api/pets", body=(b"{}" for _ in range(1)), headers=JSON, chunked=True)
    assert assert_allowed(gateway, sent, "/v1/pets", "petstore.createPet").body_length == 2


@pytest.mark.parametrize(("method", "target", "content_type", "operation"), UNLISTED_MEDIA_TYPES)
def test_unlisted_media_types_are_415(gateway, method, target, content_type, operation):
    headers = {"Content-Type": content_type} if content_type else {}
    sent = gateway.send("alice", method, target, body=b"{}", headers=headers)
    assert_denied(gateway, sent, 415, "unsupported_media_type", operation)


@pytest.mark.parametrize(("method", "target", "content_type", "upstream_path", "operation"), LISTED_MEDIA_TYPES)
def test_listed_and_wildcard_media_types_pass(gateway, method, target, content_type, upstream_path, operation):
    sent = gateway.send("alice", method, target, body=b"{}", headers={"Content-Type": content_type})
    assert assert_allowed(gateway, sent, upstream_path, operation).method == method


# --- upstream failure, TLS, secrets, the log as a whole


def test_unreachable_upstream_is_502_upstream_error(gateway):
    reply, _ = gateway.send("alice", "GET", "/broken/thing")
    assert reply.status == 502
    assert reply.json == {"status": 502, "error": "upstream_error", "request_id": reply.request_id}
    line = checked_log_line(gateway, reply)
    assert (line["decision"], line["reason"], line["operation"]) == ("allow", "upstream_error", "broken.getThing")
    assert line["upstream_status"] == "502"


def test_tls_1_2_is_accepted_and_logged_and_the_server_header_is_bare(gateway):
    client = gateway.client("alice", ssl.TLSVersion.TLSv1_2)
    assert client.protocol() == "TLSv1.2"
    reply = client.request("GET", "/api/pets/1")
    assert reply.headers["server"] == "nginx"
    assert checked_log_line(gateway, reply)["tls_version"] == "TLSv1.2"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_1_1_is_refused_by_the_gateway(gateway):
    client = gateway.client("alice", ssl.TLSVersion.TLSv1_1)
    with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
        client.protocol()


def test_the_secret_is_nowhere_in_the_config_or_logs(gateway):
    config_text = (gateway.out_dir / "gateway" / "server.conf").read_text()
    assert f"include {gateway.out_dir.parent / 'credentials' / CREDENTIAL}.conf;" in config_text
    for path in gateway.out_dir.rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_text(errors="replace"), path


def test_reference_self_test_agrees_with_the_gateway(gateway, tmp_path):
    """airgapctl.gateway.selftest derives ~100 requests and their outcomes from the policy alone."""
    from airgapctl.gateway.selftest import run_selftest

    for name in ("alice", "bob"):
        issued = gateway.identities.clients[name]
        (tmp_path / f"{name}.crt").write_bytes(issued.cert.read_bytes())
        (tmp_path / f"{name}.key").write_bytes(issued.key.read_bytes())
    url = f"https://127.0.0.1:{gateway.port}"
    result = run_selftest(gateway.policy, url, tmp_path, gateway.identities.ca, today=NOW)
    assert result.requests > 50
    # petstore.limited allows 1 r/s: a case answered 429 is sent again once the limit has room.
    assert result.mismatches == []


def test_every_access_log_line_matches_the_schema(gateway):
    lines = read_log(gateway.access_log)
    assert len(lines) > 50
    for line in lines:
        assert_valid_log_line(line)
        assert line["policy_id"] == gateway.policy["policy_id"]
        assert (line["decision"] == "allow") == (line["reason"] in ("ok", "deprecated", "upstream_error"))


# --- the render's own safety net: nginx -t, DIR.prev, DIR.rejected; and scale


def test_rerender_keeps_the_previous_dir_and_the_live_logs(identities, tmp_path):
    write_credential(tmp_path / "credentials")
    options = render_options(tmp_path, identities, free_port())
    out = tmp_path / "gw"
    first = render_gateway(scenario_policy(20001, 20002), out, options)
    assert first.previous_dir is None
    first_upstreams = (out / "gateway" / "upstreams.conf").read_text()
    (out / "logs" / "access.log").write_text("a running gateway's log\n")

    second = render_gateway(scenario_policy(20003, 20002), out, options)
    assert second.previous_dir == str(tmp_path / "gw.prev")
    assert (tmp_path / "gw.prev" / "gateway" / "upstreams.conf").read_text() == first_upstreams
    assert "127.0.0.1:20003" in (out / "gateway" / "upstreams.conf").read_text()
    assert (out / "logs" / "access.log").read_text() == "a running gateway's log\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials", "gw", "gw.prev"]


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_config_nginx_rejects_leaves_the_previous_dir_alone(identities, tmp_path):
    write_credential(tmp_path / "credentials")
    options = render_options(tmp_path, identities, free_port())
    out = tmp_path / "gw"
    render_gateway(scenario_policy(20001, 20002), out, options)
    before = _snapshot(out)
    broken = tmp_path / "templates"
    shutil.copytree(options.templates_dir, broken)
    main = broken / "nginx.conf.j2"
    main.write_text(main.read_text().replace("http {\n", "http {\n    no_such_directive on;\n", 1))

    with pytest.raises(AirgapError) as error:
        render_gateway(scenario_policy(20003, 20002), out, replace(options, templates_dir=broken))
    assert error.value.exit_code == 1
    message = str(error.value)
    assert 'nginx -t rejected the rendered configuration: [emerg] unknown directive "no_such_directive"' in message
    assert str(tmp_path / "gw.rejected" / "nginx.conf") in message
    assert _snapshot(out) == before
    assert not (tmp_path / "gw.prev").exists()
    assert "no_such_directive" in (tmp_path / "gw.rejected" / "nginx.conf").read_text()


def test_a_regex_pcre_cannot_compile_is_caught_by_nginx_t(identities, tmp_path):
    policy = scenario_policy(20001, 20002)
    policy["operations"][0]["regex"] = "^/api/(?P<p1>[0-9]+$"
    policy["policy_id"] = pb.policy_id(policy)
    assert_valid_policy(policy)
    write_credential(tmp_path / "credentials")
    with pytest.raises(AirgapError, match=r"nginx -t rejected .*pcre.*compile\(\) failed"):
        render_gateway(policy, tmp_path / "gw", render_options(tmp_path, identities, free_port()))
    assert not (tmp_path / "gw").exists()


@pytest.fixture(scope="module")
def scale_client(identities, tmp_path_factory) -> Issued:
    directory = tmp_path_factory.mktemp("scale-pki")
    return pki.issue(identities.authority, directory, "client0", "CN=client0,OU=apps,O=Example")


def test_a_2000_operation_policy_renders_tests_and_routes(identities, scale_client, tmp_path, record_property):
    policy = pb.large_policy(2000)
    assert_valid_policy(policy)
    port = free_port()
    started = time.monotonic()
    result = render_gateway(policy, tmp_path / "gw", render_options(tmp_path, identities, port))
    seconds = time.monotonic() - started
    record_property("render_and_nginx_t_seconds", round(seconds, 2))
    assert (result.operations, result.apis, result.clients) == (2000, 20, 100)
    assert seconds < 30, f"render + nginx -t took {seconds:.1f} s"

    nginx = RunningNginx(tmp_path / "gw", port)
    try:
        client = GatewayClient(port, identities.ca, scale_client)
        # op1980 (GET, role0): routed and allowed; nothing listens upstream, so 502 upstream_error.
        assert client.request("GET", "/svc0/things198/list0").json["error"] == "upstream_error"
        assert client.request("GET", "/svc0/things198/list9").json["error"] == "unknown_path"
        assert client.request("DELETE", "/svc0/things198/list0").headers["allow"] == "GET"
    finally:
        nginx.stop()
