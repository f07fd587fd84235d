"""``gateway selftest --record``: every request the gateway answered is written down by its request id.

The gateway here is a loopback HTTPS server that verifies client certificates and answers as the
reference router decides, with an ``X-Request-Id`` of its own choosing per request, as NGINX does.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import ssl
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from airgapctl.contracts import selftest_record
from airgapctl.errors import EnvironmentProblem
from airgapctl.gateway import selftest
from airgapctl.gateway.selftest import run_selftest
from airgapctl.specs.routing import Request, Router
from tests.integration.gateway import pki
from tests.integration.gateway.scenario import ALICE, BOB, NOW, scenario_policy

POLICY = scenario_policy(20001, 20002)
CLIENT_BY_CN = {client["subject"].split(",")[0][3:]: client["name"] for client in POLICY["clients"]}


class _Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext, answer_without_header: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.router = Router(POLICY, NOW)
        self.answer_without_header = answer_without_header
        self.given: list[tuple[str, str, str]] = []  # (request id, client, path) of every answer
        self.refused: set[str] = set()  # the request ids of the answers with a JSON error
        self.rate_limit_first = False
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Gateway

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        peer = self.connection.getpeercert() or {}
        names = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
        client = CLIENT_BY_CN.get(names[0]) if names else None
        path = self.requestline.split(" ")[1]  # as sent: self.path folds a leading "//"
        # The one body check this stand-in makes as the gateway would: JSON that does not parse.
        violation = None
        if body and (self.headers.get("Content-Type") or "").startswith("application/json"):
            try:
                json.loads(body)
            except ValueError:
                violation = "invalid_body"
        request = Request(self.command, path, client, self.headers.get("Content-Type"), len(body), violation=violation)
        decision = self.server.router.decide(request)
        request_id = secrets.token_hex(16)
        with self.server.lock:
            self.server.given.append((request_id, client or "", path))
            limited, self.server.rate_limit_first = self.server.rate_limit_first, False
        status, reason = (429, "rate_limited") if limited else (decision.status, decision.reason)
        if status:
            self.server.refused.add(request_id)
            payload = json.dumps({"status": status, "error": reason, "request_id": request_id}).encode()
        else:
            status, payload = 200, b'{"upstream": true}'
        self.send_response(status)
        if not self.server.answer_without_header:
            self.send_header("X-Request-Id", request_id)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer


@pytest.fixture
def site(tmp_path):
    ca = pki.authority(tmp_path, "ca")
    certs = tmp_path / "certs"
    certs.mkdir()
    pki.issue(ca, certs, "alice", ALICE)
    pki.issue(ca, certs, "bob", BOB)
    server = pki.issue(ca, tmp_path, "server", "CN=127.0.0.1,O=Example", server_ip="127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server.cert, server.key)
    context.load_verify_locations(ca.cert_path)
    context.verify_mode = ssl.CERT_OPTIONAL
    return tmp_path, certs, ca.cert_path, context


def _serve(context: ssl.SSLContext, answer_without_header: bool = False) -> _Gateway:
    gateway = _Gateway(context, answer_without_header)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    return gateway


def _url(gateway: _Gateway) -> str:
    return f"https://127.0.0.1:{gateway.server_address[1]}"


def _record(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("id_from", ["header", "json error"])
def test_every_answered_request_is_recorded_by_the_id_the_gateway_gave_it(site, id_from):
    directory, certs, ca, context = site
    gateway = _serve(context, answer_without_header=id_from == "json error")
    record = directory / "state" / "gateway" / "selftest-requests.jsonl"
    try:
        result = run_selftest(POLICY, _url(gateway), certs, ca, today=NOW, record=record)
    finally:
        gateway.shutdown()
    entries = _record(record)
    assert result.ok, result.mismatches
    # Nothing but these fields: no header value, nothing of a certificate or key.
    assert {tuple(sorted(entry)) for entry in entries} == {("client", "method", "path", "request_id", "time")}
    recorded = [(e["request_id"], e["client"], e["path"]) for e in entries]
    if id_from == "header":
        assert result.recorded == result.requests == len(gateway.given)
        assert recorded == gateway.given
    else:  # only a refusal names the id in its JSON error: an upstream's answer names none, and is not recorded
        assert 0 < result.recorded < result.requests
        assert recorded == [given for given in gateway.given if given[0] in gateway.refused]
    assert result.recorded == len(entries)
    assert {e["client"] for e in entries} == {"alice", "bob", ""}  # "" is the request without a certificate
    assert any(e["path"].endswith("/selftest-unknown") for e in entries)
    assert all(e["time"].endswith("Z") and dt.datetime.fromisoformat(e["time"]).tzinfo for e in entries)
    assert stat.S_IMODE(record.stat().st_mode) == 0o640


def test_a_rate_limited_request_sent_again_is_recorded_each_time(site, monkeypatch):
    directory, certs, ca, context = site
    monkeypatch.setattr(selftest, "RATE_LIMITED_WAIT_SECONDS", 0)
    gateway = _serve(context)
    gateway.rate_limit_first = True
    try:
        result = run_selftest(POLICY, _url(gateway), certs, ca, today=NOW, record=directory / "record.jsonl")
    finally:
        gateway.shutdown()
    assert result.ok
    assert result.recorded == result.requests + 1 == len(_record(directory / "record.jsonl"))


def test_requests_answered_before_the_gateway_went_away_are_recorded(site, monkeypatch):
    directory, certs, ca, context = site
    gateway = _serve(context)
    answered = 0
    real_send = selftest.Client.send

    def send_then_stop(client, case):
        nonlocal answered
        if answered == 5:
            gateway.shutdown()
            gateway.server_close()
            client.connection.close()
        answered += 1
        return real_send(client, case)

    monkeypatch.setattr(selftest.Client, "send", send_then_stop)
    with pytest.raises(EnvironmentProblem, match="did not answer"):
        run_selftest(POLICY, _url(gateway), certs, ca, today=NOW, record=directory / "record.jsonl")
    assert len(_record(directory / "record.jsonl")) == 5


def _entry(when: dt.datetime, number: int) -> selftest_record.Entry:
    stamp = when.isoformat(timespec="seconds").replace("+00:00", "Z")
    return selftest_record.Entry(stamp, f"{number:032x}", "alice", "GET", "/api/pets")


def test_each_write_adds_its_requests_and_drops_those_older_than_the_days_kept(tmp_path):
    record = tmp_path / "record.jsonl"
    now = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)
    old = now - dt.timedelta(days=selftest_record.KEEP_DAYS + 1)
    recent = now - dt.timedelta(days=selftest_record.KEEP_DAYS - 1)
    assert selftest_record.append(record, [_entry(old, 1), _entry(recent, 2)], now=old) == 2
    record.write_text(record.read_text() + "not json\n")
    assert selftest_record.append(record, [_entry(now, 3)], now=now) == 1
    assert [e["request_id"] for e in _record(record)] == [f"{2:032x}", f"{3:032x}"]
    requests, unreadable = selftest_record.load(record)
    assert [request_id for _, request_id in requests] == [f"{2:032x}", f"{3:032x}"] and unreadable == 0
    assert stat.S_IMODE(record.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["record.jsonl"]  # no temporary file left behind


def test_an_answer_without_a_request_id_is_not_recorded(tmp_path):
    entry = selftest_record.Entry("2026-06-01T06:00:00Z", "", "alice", "GET", "/api/pets")
    assert selftest_record.append(tmp_path / "record.jsonl", [entry]) == 0
    assert not (tmp_path / "record.jsonl").exists()
