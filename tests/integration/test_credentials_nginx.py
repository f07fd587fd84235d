"""Credential include files, as airgapctl writes them, under a real NGINX on loopback.

One gateway with an API per credential: each value must reach the recording upstream exactly
once and exactly as sealed, whatever quoting it needs, in place of any copy a client sends, and
never come back to the client or into the access log. One hand-written file shows why '$' is
refused: NGINX expands it inside a quoted string.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airgapctl.gateway.credentials import MAX_QUOTED_LENGTH, include_text
from airgapctl.gateway.render import render_gateway
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.client import GatewayClient
from tests.integration.gateway.harness import render_options
from tests.integration.gateway.nginx_process import RunningNginx, free_port
from tests.integration.gateway.scenario import ALICE, Identities, make_identities
from tests.integration.gateway.upstream import Received, RecordingUpstream

pytestmark = [pytest.mark.integration]

PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "$")
# (credential, header, value): every character NGINX treats specially inside a quoted string.
CASES = [
    ("plain-token", "Authorization", "Bearer canary-0a1b.c2d3_e4f5~g6h7"),
    ("quote", "Authorization", 'Bearer ab"cd"ef'),
    ("backslashes", "X-Api-Key", "a\\b\\\\c\\tnot-a-tab\\nnot-a-newline\\"),
    ("syntax", "X-Api-Key", "semi;colon {brace} #hash 'single' % spaces  inside"),
    ("every-character", "X-Upstream-Key", PRINTABLE),
    # The longest value the format takes, and the longest once escaped: NGINX must still read them.
    ("long", "Authorization", "Bearer " + "x" * (MAX_QUOTED_LENGTH - 7)),
    ("long-escaped", "X-Api-Key", "\\" * (MAX_QUOTED_LENGTH // 2)),
]
INTERPOLATED = "interpolated"


@dataclass
class CredentialGateway:
    port: int
    identities: Identities
    upstream: RecordingUpstream
    out_dir: Path

    def get(self, base: str, headers: dict[str, str] | None = None):
        before = len(self.upstream.recorder.snapshot())
        reply = self.client().request("GET", f"/{base}/thing", headers=headers)
        return reply, self.upstream.recorder.snapshot()[before:]

    def client(self) -> GatewayClient:
        return GatewayClient(self.port, self.identities.ca, self.identities.clients["alice"])


def _policy(upstream_port: int) -> dict:
    url = f"http://127.0.0.1:{upstream_port}/up"
    names = [name for name, _, _ in CASES] + [INTERPOLATED]
    apis = [pb.api(name, f"/{name}", url, credential=name) for name in names] + [pb.api("none", "/none", url)]
    operations = [pb.operation(api["name"], api["base_path"], "getThing", "GET", "/thing", ["reader"]) for api in apis]
    return pb.policy(apis, operations, [pb.role("reader")], [pb.client("alice", ALICE, ["reader"])])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[CredentialGateway]:
    base = tmp_path_factory.mktemp("credentials-gateway")
    identities = make_identities(tmp_path_factory.mktemp("pki"))
    credentials = base / "credentials"
    credentials.mkdir()
    for name, header, value in CASES:
        (credentials / f"{name}.conf").write_text(include_text(name, header, value))
    # What a '$' would do if it were let through: NGINX reads a variable, not the character.
    (credentials / f"{INTERPOLATED}.conf").write_text('proxy_set_header Authorization "Bearer x$request_method";\n')
    upstream = RecordingUpstream().start()
    try:
        port = free_port()
        out_dir = base / "gateway"
        render_gateway(_policy(upstream.port), out_dir, render_options(base, identities, port))
        nginx = RunningNginx(out_dir, port)
        try:
            yield CredentialGateway(port, identities, upstream, out_dir)
        finally:
            nginx.stop()
    finally:
        upstream.stop()


def _only(reached: list[Received]) -> Received:
    assert len(reached) == 1, "the request must reach the upstream exactly once"
    return reached[0]


@pytest.mark.parametrize(("name", "header", "value"), CASES, ids=[name for name, _, _ in CASES])
def test_the_upstream_gets_exactly_the_value_and_the_client_never_sees_it(gateway, name, header, value):
    reply, reached = gateway.get(name)
    assert reply.status == 200, reply.body
    received = _only(reached)
    assert [v for k, v in received.lines if k == header.lower()] == [value]
    assert value not in reply.body.decode() and value not in " ".join(reply.headers.values())


@pytest.mark.parametrize(("name", "header", "value"), CASES[:3], ids=[name for name, _, _ in CASES[:3]])
def test_a_copy_the_client_sends_is_replaced_not_passed_on(gateway, name, header, value):
    reply, reached = gateway.get(name, headers={header: "forged-by-the-client"})
    assert reply.status == 200, reply.body
    assert [v for k, v in _only(reached).lines if k == header.lower()] == [value]


def test_an_api_without_a_credential_sends_none(gateway):
    reply, reached = gateway.get("none")
    assert reply.status == 200
    headers = {k for k, _ in _only(reached).lines}
    assert not headers & {header.lower() for _, header, _ in CASES}


def test_nginx_expands_a_dollar_inside_quotes_which_is_why_the_format_refuses_it(gateway):
    reply, reached = gateway.get(INTERPOLATED)
    assert reply.status == 200
    assert _only(reached).headers["authorization"] == "Bearer xGET"
    with pytest.raises(ValueError, match=r"holds '\$'"):
        include_text(INTERPOLATED, None, "Bearer x$request_method")


def test_no_value_is_in_the_rendered_configuration_or_the_access_log(gateway):
    gateway.get("plain-token")
    access_log = gateway.out_dir / "logs" / "access.log"
    assert "plain-token.getThing" in access_log.read_text()
    texts = [p.read_text(errors="replace") for p in gateway.out_dir.rglob("*") if p.is_file()]
    for _, _, value in CASES:
        assert not [text for text in texts if value in text]
