"""The bypass suite: hundreds of crafted raw requests over TLS against the rendered gateway.

For every request of tests/integration/gateway/bypass.py: the gateway and the reference router
decide alike (served, or refused with the same status and reason, in the answer and in the access
log); what the gateway refuses never reaches the upstream; what it serves reaches it exactly once,
with the method and path that were decided on, the one Content-Type that was checked, and no
header asking the upstream for another method or path.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from airgapctl.gateway.render import render_gateway
from airgapctl.specs.routing import Router
from tests.integration.gateway import bypass, pki
from tests.integration.gateway.bypass import RawCase
from tests.integration.gateway.bypass_check import check_case
from tests.integration.gateway.harness import render_options
from tests.integration.gateway.nginx_process import RunningNginx, free_port, log_line
from tests.integration.gateway.pki import Issued
from tests.integration.gateway.scenario import (
    ALICE,
    NOW,
    Identities,
    make_identities,
    scenario_policy,
    write_credential,
)
from tests.integration.gateway.upstream import RecordingUpstream

pytestmark = [pytest.mark.integration]

POLICY_SHAPE = scenario_policy(1, 2)
CASES = bypass.all_cases(POLICY_SHAPE)


@dataclass
class BypassGateway:
    port: int
    identities: dict[str, Issued]
    ca: Path
    upstream: RecordingUpstream
    policy: dict[str, Any]
    router: Router
    access_log: Path
    error_log: Path

    def context(self, who: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        # The server certificate names 127.0.0.1 only; the suite also sends other TLS server names.
        context.check_hostname = False
        if who is not None:
            context.load_cert_chain(str(self.identities[who].cert), str(self.identities[who].key))
        return context


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[BypassGateway]:
    base = tmp_path_factory.mktemp("bypass")
    identities: Identities = make_identities(base)
    clients = dict(identities.clients)
    clients["expired"] = pki.issue(identities.authority, base, "expired", ALICE, expired=True)
    clients["revoked"] = pki.issue(identities.authority, base, "revoked", ALICE)
    crl = pki.revocation_list(identities.authority, [clients["revoked"]], base / "client-ca.crl")
    write_credential(base / "credentials")
    upstream = RecordingUpstream().start()
    try:
        port = free_port()
        policy = scenario_policy(upstream.port, dead_port=free_port())
        options = replace(render_options(base, identities, port), server_names=bypass.SERVER_NAMES, client_crl=str(crl))
        render_gateway(policy, base / "gateway", options)
        nginx = RunningNginx(base / "gateway", port)
        try:
            logs = base / "gateway" / "logs"
            router = Router(policy, NOW, server_names=bypass.SERVER_NAMES)
            yield BypassGateway(port, clients, identities.ca, upstream, policy, router, logs / "access.log",
                                logs / "error.log")  # fmt: skip
        finally:
            nginx.stop()
    finally:
        upstream.stop()


def test_the_suite_is_large_and_covers_every_kind_of_request():
    assert len(CASES) >= 300
    router = Router(POLICY_SHAPE, NOW, server_names=bypass.SERVER_NAMES)
    decisions = [router.decide(case.request()) for case in CASES]
    reasons = {decision.reason for decision in decisions}
    assert {"ok", "bad_request", "unknown_host", "method_override", "path_override", "non_canonical_path",
            "unknown_path", "method_not_allowed", "forbidden_role", "no_client_cert", "bad_client_cert",
            "unknown_client", "body_too_large", "unsupported_media_type", "sunset"} <= reasons  # fmt: skip
    assert sum(decision.allowed for decision in decisions) >= 40


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_gateway_and_reference_agree_and_the_upstream_sees_only_what_was_allowed(gateway, case):
    expected = gateway.router.decide(case.request())
    before = len(gateway.upstream.recorder.snapshot())
    reply = bypass.send(case, gateway.port, gateway.context(case.who))
    line = log_line(gateway.access_log, reply.headers["x-request-id"])
    check_case(case, expected, reply, line, gateway.upstream.recorder.snapshot()[before:], gateway.policy)


def _error_log(gateway: BypassGateway) -> list[str]:
    return gateway.error_log.read_text().splitlines() if gateway.error_log.exists() else []


def test_tls_refusals_of_clients_stay_out_of_the_error_log(gateway):
    """Foreign, expired and revoked certificates are the access log's business, not the operator's."""
    before = len(_error_log(gateway))
    for who in (*bypass.FAILED_CERTIFICATES, None):
        reply = bypass.send(RawCase(f"certificate {who}", who, "GET", "/api/pets/1"), gateway.port,
                            gateway.context(who))  # fmt: skip
        assert log_line(gateway.access_log, reply.headers["x-request-id"])["reason"] in ("bad_client_cert",
                                                                                        "no_client_cert")  # fmt: skip
    assert _error_log(gateway)[before:] == []


def test_tls_settings_forward_secrecy_and_hsts(gateway):
    """TLS 1.2 offers ECDHE with AEAD ciphers only, and every answer carries HSTS."""
    for cipher, accepted in (("ECDHE-ECDSA-AES128-GCM-SHA256", True), ("ECDHE-ECDSA-AES128-SHA256", False),
                             ("ECDHE-ECDSA-AES256-SHA", False), ("AES128-GCM-SHA256", False)):  # fmt: skip
        context = gateway.context("alice")
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(cipher)
        case = RawCase(f"cipher {cipher}", "alice", "GET", "/api/pets/1")
        if accepted:
            assert bypass.send(case, gateway.port, context).status == 200
        else:
            with pytest.raises(ssl.SSLError):
                bypass.send(case, gateway.port, context)
    reply = bypass.send(RawCase("hsts", None, "GET", "/api/pets/1"), gateway.port, gateway.context(None))
    assert reply.headers["strict-transport-security"] == "max-age=31536000"


def test_a_failing_header_script_refuses_rather_than_serves(gateway):
    """Fail closed: where the header-counting script throws, NGINX leaves its variable empty, and a
    request it should have judged is refused. Last in this module: it reloads the shared gateway."""
    import subprocess
    import time

    prefix = gateway.access_log.parent.parent
    script = prefix / "gateway" / "headers.js"
    script.write_text(script.read_text().replace("var raw = r.rawHeadersIn;", 'throw new Error("broken");'))
    pid = (prefix / "logs" / "nginx.pid").read_text().strip()
    workers = set(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    subprocess.run(["nginx", "-p", f"{prefix}/", "-c", "nginx.conf", "-s", "reload"], check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while set(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()) & workers:
        assert time.monotonic() < deadline, "the gateway did not reload"
        time.sleep(0.1)
    headers = (("Host", bypass.HOST), ("Content-Type", "application/json"), ("Content-Length", "2"))
    reply = bypass.send(RawCase("one content-type", "alice", "POST", "/api/pets", headers, b"{}"), gateway.port,
                        gateway.context("alice"))  # fmt: skip
    assert reply.status == 400
    assert log_line(gateway.access_log, reply.headers["x-request-id"])["reason"] == "bad_request"
    plain = RawCase("no content-type", "alice", "GET", "/api/pets/1")
    assert bypass.send(plain, gateway.port, gateway.context("alice")).status == 200
    # (a request without the header never runs the script)
