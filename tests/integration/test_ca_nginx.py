"""Certificates from `airgapctl ca` under a real NGINX on loopback, for both key algorithms.

The CA, the gateway's certificate, the clients' certificates and the CRL are made with the
CLI exactly as a site makes them; the gateway is rendered with them and run. An issued
client is served under its policy name, a revoked one is refused, `gateway selftest --certs`
passes with the files `ca issue client` wrote, and an expired CRL, which NGINX answers by
refusing every client, fails `ca check-crl`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from airgapctl.ca import open_ca, read_passphrase, refresh_crl
from airgapctl.ca.keys import algorithm_of
from airgapctl.cli import main
from airgapctl.gateway.render import RenderOptions, render_gateway
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.client import GatewayClient, Reply
from tests.integration.gateway.contracts import assert_valid_log_line, assert_valid_policy
from tests.integration.gateway.nginx_process import RunningNginx, free_port, log_line
from tests.integration.gateway.pki import Issued
from tests.integration.gateway.upstream import RecordingUpstream

pytestmark = [pytest.mark.integration]

NOW = dt.date(2026, 6, 1)
PASSPHRASE = "integration test CA passphrase"  # noqa: S105  # a throw-away CA's
# Subjects as access.yml writes them; dave's is the default `ca issue client` gives (CN=NAME plus the CA's O).
SUBJECTS = {
    "alice": "CN=alice,OU=ops,O=Example",
    "bob": "CN=bob,OU=ops,O=Example",
    "carol": "CN=carol,OU=ops,O=Example",
    "dave": "CN=dave,O=Example",
}


def airgapctl(*args: object) -> tuple[int, str, str]:
    """The CLI in this process, as the console script runs it: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        main([str(arg) for arg in args])
    return int(exit_.value.code or 0), out.getvalue(), err.getvalue()


def ok(*args: object) -> str:
    code, out, err = airgapctl(*args)
    assert code == 0, err
    return out


def small_policy(upstream_port: int) -> dict[str, Any]:
    upstream = f"http://127.0.0.1:{upstream_port}/v1/"
    pet = {"petId": pb.INT_PARAM}
    return pb.policy(
        apis=[pb.api("petstore", "/api", upstream)],
        operations=[
            pb.operation("petstore", "/api", "listPets", "GET", "/pets", ["reader"]),
            pb.operation("petstore", "/api", "getPet", "GET", "/pets/{petId}", ["reader"], params=pet),
            pb.operation("petstore", "/api", "createPet", "POST", "/pets", ["writer"], body=pb.json_body(1024)),
        ],
        roles=[pb.role("reader"), pb.role("writer")],
        clients=[
            pb.client("alice", SUBJECTS["alice"], ["reader", "writer"]),
            pb.client("bob", SUBJECTS["bob"], ["reader"]),
            pb.client("carol", SUBJECTS["carol"], ["reader"]),
            pb.client("dave", SUBJECTS["dave"], ["reader"]),
        ],
    )


@dataclass
class Site:
    algorithm: str
    base: Path
    ca_dir: Path
    passphrase_file: Path
    tls: Path  # the gateway's files: gateway.crt, gateway.key, ca.crt, client-ca.crl
    clients: Path  # alice, bob, dave: what `gateway selftest --certs` is given
    revoked: Path  # carol, revoked after issue
    policy: dict[str, Any]
    policy_file: Path
    upstream: RecordingUpstream

    def ca(self, *args: object) -> str:
        return ok("ca", *args, "--dir", self.ca_dir, "--passphrase-file", self.passphrase_file)

    def options(self, port: int, crl: Path) -> RenderOptions:
        return RenderOptions(
            listen=f"127.0.0.1:{port}",
            server_cert=str(self.tls / "gateway.crt"),
            server_key=str(self.tls / "gateway.key"),
            client_ca=str(self.tls / "ca.crt"),
            client_crl=str(crl),
            credentials_dir=str(self.base / "credentials"),
            now=NOW,
            worker_processes="1",
        )


@dataclass
class Gateway:
    site: Site
    port: int
    access_log: Path

    def send(self, who: str, target: str = "/api/pets", tls_version: ssl.TLSVersion | None = None) -> Reply:
        directory = self.site.revoked if who == "carol" else self.site.clients
        identity = Issued(directory / f"{who}.crt", directory / f"{who}.key")
        return GatewayClient(self.port, self.site.tls / "ca.crt", identity, tls_version).request("GET", target)

    def line(self, reply: Reply) -> dict[str, Any]:
        line = log_line(self.access_log, reply.request_id)
        assert_valid_log_line(line)
        return line


def make_site(base: Path, algorithm: str, upstream: RecordingUpstream) -> Site:
    passphrase_file = base / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    passphrase_file.chmod(0o600)
    policy = small_policy(upstream.port)
    assert_valid_policy(policy)
    policy_file = base / "policy.json"
    policy_file.write_text(json.dumps(policy))
    site = Site(algorithm, base, base / "ca", passphrase_file, base / "tls", base / "clients", base / "revoked",
                policy, policy_file, upstream)  # fmt: skip
    ok("ca", "init", "--dir", site.ca_dir, "--name", "Gateway Test CA", "--org", "Example",
       "--algorithm", algorithm, "--passphrase-file", passphrase_file)  # fmt: skip
    site.ca("issue", "server", "gateway", "--san", "127.0.0.1", "--san", "localhost", "--out", site.tls)
    site.ca("issue", "client", "alice", "--policy", policy_file, "--out", site.clients)
    site.ca("issue", "client", "bob", "--subject", SUBJECTS["bob"], "--out", site.clients)
    site.ca("issue", "client", "dave", "--out", site.clients)
    site.ca("issue", "client", "carol", "--policy", policy_file, "--out", site.revoked)
    site.ca("revoke", "carol", "--reason", "key-compromise")
    site.ca("crl", "--days", "30", "--out", site.tls / "client-ca.crl")
    (base / "credentials").mkdir()
    return site


@contextmanager
def running(site: Site, out_dir: Path, crl: Path) -> Iterator[Gateway]:
    port = free_port()
    render_gateway(site.policy, out_dir, site.options(port, crl))
    nginx = RunningNginx(out_dir, port)
    try:
        yield Gateway(site, port, out_dir / "logs" / "access.log")
    finally:
        nginx.stop()


@pytest.fixture(scope="module", params=["p256", "ed25519"])
def site(request, tmp_path_factory) -> Iterator[Site]:
    upstream = RecordingUpstream().start()
    try:
        yield make_site(tmp_path_factory.mktemp(f"ca-{request.param}"), request.param, upstream)
    finally:
        upstream.stop()


@pytest.fixture(scope="module")
def gateway(site) -> Iterator[Gateway]:
    with running(site, site.base / "gateway", site.tls / "client-ca.crl") as running_gateway:
        yield running_gateway


def test_ca_issue_writes_the_files_the_gateway_and_the_selftest_read(site):
    assert sorted(p.name for p in site.tls.iterdir()) == ["ca.crt", "client-ca.crl", "gateway.crt", "gateway.key"]
    assert sorted(p.name for p in site.clients.iterdir()) == [
        "alice.crt", "alice.key", "bob.crt", "bob.key", "ca.crt", "dave.crt", "dave.key"]  # fmt: skip
    for key in [site.tls / "gateway.key", *site.clients.glob("*.key")]:
        assert key.stat().st_mode & 0o777 == 0o600
    for cert in [site.tls / "gateway.crt", *site.clients.glob("*.crt"), site.revoked / "carol.crt"]:
        assert algorithm_of(x509.load_pem_x509_certificate(cert.read_bytes()).public_key()) == site.algorithm
    listed = json.loads(ok("ca", "list", "--dir", site.ca_dir, "--json"))["data"]["certificates"]
    assert {r["name"]: r["subject"] for r in listed if r["kind"] == "client"} == SUBJECTS
    assert {r["name"]: r["status"] for r in listed} == {
        "gateway": "valid", "alice": "valid", "bob": "valid", "dave": "valid", "carol": "revoked"}  # fmt: skip


@pytest.mark.parametrize("who", ["alice", "bob", "dave"])
def test_an_issued_client_is_served_under_its_policy_name(gateway, who):
    reply = gateway.send(who)
    assert reply.status == 200, reply.body
    line = gateway.line(reply)
    assert (line["decision"], line["client"], line["subject"]) == ("allow", who, SUBJECTS[who])


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_both_tls_versions_accept_the_certificates(gateway, version):
    alice = Issued(gateway.site.clients / "alice.crt", gateway.site.clients / "alice.key")
    client = GatewayClient(gateway.port, gateway.site.tls / "ca.crt", alice, version)
    assert client.protocol() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    assert gateway.send("alice", tls_version=version).status == 200


def test_a_revoked_client_is_refused(gateway):
    site = gateway.site
    carol = x509.load_pem_x509_certificate((site.revoked / "carol.crt").read_bytes())
    carol.verify_directly_issued_by(x509.load_pem_x509_certificate((site.tls / "ca.crt").read_bytes()))
    before = len(site.upstream.recorder.snapshot())
    reply = gateway.send("carol")
    assert (reply.status, reply.json["error"]) == (400, "bad_client_cert")
    assert len(site.upstream.recorder.snapshot()) == before, "a revoked client's request reached the upstream"
    line = gateway.line(reply)
    assert (line["decision"], line["reason"], line["client"]) == ("deny", "bad_client_cert", "")


def test_gateway_selftest_passes_with_the_files_ca_issue_client_wrote(gateway):
    site = gateway.site
    code, out, err = airgapctl("gateway", "selftest", "--policy", site.policy_file, "--url",
                               f"https://127.0.0.1:{gateway.port}", "--certs", site.clients,
                               "--ca", site.clients / "ca.crt", "--now", NOW.isoformat())  # fmt: skip
    assert code == 0, out + err
    assert " 0 mismatches" in out


def test_the_crl_check_passes_for_the_deployed_crl(site):
    code, out, err = airgapctl(
        "ca", "check-crl", site.tls / "client-ca.crl", "--ca-cert", site.tls / "ca.crt", "--json"
    )
    assert code == 0, err
    data = json.loads(out)["data"]
    assert (data["revoked"], data["issuer"], data["problem"]) == (1, "CN=Gateway Test CA,O=Example", None)


def test_an_expired_crl_fails_the_check_and_nginx_refuses_every_client(site):
    """Why the appliance checks the CRL: once it runs out, no client certificate verifies."""
    store = open_ca(site.ca_dir)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    expired = site.base / "expired.crl"
    issued = refresh_crl(store, read_passphrase(site.passphrase_file), days=1, copy_to=expired, now=past)

    code, _, err = airgapctl("ca", "check-crl", expired, "--ca-cert", site.tls / "ca.crt")
    assert code == 1
    fix = "run 'airgapctl ca crl' on the CA machine and redeploy it"
    assert err.splitlines() == [
        f"airgapctl: error: CRL {expired} expired at {issued.next_update}; NGINX refuses every client: {fix}"
    ]

    with running(site, site.base / "gateway-expired-crl", expired) as stale:
        reply = stale.send("alice")
        assert (reply.status, reply.json["error"]) == (400, "bad_client_cert")


def test_a_crl_of_another_ca_fails_the_check(site, tmp_path):
    other = tmp_path / "other"
    ok("ca", "init", "--dir", other, "--name", "Gateway Test CA", "--org", "Example",
       "--algorithm", site.algorithm, "--passphrase-file", site.passphrase_file)  # fmt: skip
    code, _, err = airgapctl("ca", "check-crl", other / "crl.pem", "--ca-cert", site.tls / "ca.crt")
    assert code == 1
    assert "its signature does not verify" in err


def test_the_passphrase_is_in_no_file_the_site_holds(site):
    for path in site.base.rglob("*"):
        if path.is_file() and path != site.passphrase_file:
            assert PASSPHRASE.encode() not in path.read_bytes(), path
