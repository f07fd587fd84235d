"""The running gateway of test_gateway_nginx.py: fixtures and the assertions every request goes through."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgapctl.gateway.render import RenderOptions, render_gateway
from tests.integration.gateway.client import GatewayClient, Reply
from tests.integration.gateway.contracts import assert_valid_log_line, assert_valid_policy
from tests.integration.gateway.nginx_process import RunningNginx, free_port, log_line
from tests.integration.gateway.scenario import (
    CANARY,
    NOW,
    Identities,
    scenario_policy,
    write_credential,
)
from tests.integration.gateway.upstream import Received, RecordingUpstream


@dataclass
class Gateway:
    port: int
    identities: Identities
    upstream: RecordingUpstream
    out_dir: Path
    access_log: Path
    policy: dict[str, Any]

    def client(self, who: str | None, tls_version: ssl.TLSVersion | None = None) -> GatewayClient:
        identity = None if who is None else self.identities.clients[who]
        return GatewayClient(self.port, self.identities.ca, identity, tls_version)

    def send(self, who: str | None, method: str, target: str, **kwargs: Any) -> tuple[Reply, list[Received]]:
        """Send as client ``who`` (None: no certificate); also return what reached the upstream meanwhile."""
        before = len(self.upstream.recorder.snapshot())
        reply = self.client(who).request(method, target, **kwargs)
        return reply, self.upstream.recorder.snapshot()[before:]


def render_options(base: Path, identities: Identities, port: int) -> RenderOptions:
    return RenderOptions(
        listen=f"127.0.0.1:{port}",
        server_cert=str(identities.server.cert),
        server_key=str(identities.server.key),
        client_ca=str(identities.ca),
        credentials_dir=str(base / "credentials"),
        now=NOW,
        worker_processes="1",
    )


@contextmanager
def running_gateway(
    base: Path, identities: Identities, policy_for: Callable[[int], dict[str, Any]] | None = None
) -> Iterator[Gateway]:
    """Render a policy under ``base``, run NGINX on a free port; stop both afterwards.

    ``policy_for(upstream_port)`` gives the policy; the scenario's by default.
    """
    write_credential(base / "credentials")
    upstream = RecordingUpstream().start()
    try:
        port = free_port()
        policy = policy_for(upstream.port) if policy_for else scenario_policy(upstream.port, dead_port=free_port())
        assert_valid_policy(policy)
        out_dir = base / "gateway"
        render_gateway(policy, out_dir, render_options(base, identities, port))
        nginx = RunningNginx(out_dir, port)
        try:
            yield Gateway(port, identities, upstream, out_dir, out_dir / "logs" / "access.log", policy)
        finally:
            nginx.stop()
    finally:
        upstream.stop()


def checked_log_line(gateway: Gateway, reply: Reply) -> dict[str, Any]:
    line = log_line(gateway.access_log, reply.request_id)
    assert_valid_log_line(line)
    assert line["status"] == reply.status
    return line


def assert_denied(gateway: Gateway, sent: tuple[Reply, list[Received]], status: int, reason: str, operation: str = ""):
    reply, reached = sent
    assert (reply.status, reply.headers["content-type"]) == (status, "application/json")
    assert reply.json == {"status": status, "error": reason, "request_id": reply.request_id}
    assert CANARY not in reply.body.decode()
    assert reached == [], "a denied request reached the upstream"
    line = checked_log_line(gateway, reply)
    assert (line["decision"], line["reason"], line["operation"]) == ("deny", reason, operation)
    assert (line["upstream_status"], line["upstream_time"]) == ("", "")
    return line


def assert_allowed(
    gateway: Gateway,
    sent: tuple[Reply, list[Received]],
    path: str,
    operation: str,
    query: str = "",
    client: str = "alice",
    reason: str = "ok",
) -> Received:
    reply, reached = sent
    assert reply.status == 200, reply.body
    assert len(reached) == 1, "an allowed request must reach the upstream exactly once"
    (received,) = reached
    assert (received.path, received.query) == (path, query)
    assert received.headers["x-request-id"] == reply.request_id
    assert received.headers["x-client-identity"] == client
    line = checked_log_line(gateway, reply)
    assert (line["decision"], line["reason"], line["operation"], line["client"]) == ("allow", reason, operation, client)
    assert line["upstream_status"] == "200"
    return received
