"""Conformance self-test: derive requests from the policy alone, send them, compare outcomes.

Positive requests (one per operation, valid parameters, an allowed client) must reach the
upstream; negative ones (wrong method, unknown neighbour paths, boundary parameter values,
a client of another role, no certificate, oversized or mistyped bodies, non-canonical
paths) must get exactly the status and reason the policy implies (specs/routing.py).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.contracts import access_log, selftest_record
from airgapctl.errors import BadInputError, EnvironmentProblem
from airgapctl.gateway.selftest_cases import Case, derive_cases
from airgapctl.specs.routing import Router

# Reasons the gateway reports for requests it let through (the upstream may still fail).
PASSED_THROUGH = frozenset(access_log.ALLOWED)


@dataclass
class Mismatch:
    case: str
    method: str
    path: str
    client: str
    expected: str
    got: str


@dataclass
class SelftestResult:
    url: str
    policy_id: str
    requests: int
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    recorded: int = 0  # requests written to --record (retries of a rate-limited case included)

    @property
    def ok(self) -> bool:
        return not self.mismatches


class Client:
    """One keep-alive TLS connection per client identity (or none, for the no-certificate case)."""

    def __init__(self, url: str, ca_file: Path, cert: tuple[Path, Path] | None, timeout: float) -> None:
        self.url = url
        parsed = urllib.parse.urlsplit(url)
        context = ssl.create_default_context(cafile=str(ca_file))
        if cert:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.connection = http.client.HTTPSConnection(
            parsed.hostname, parsed.port or 443, context=context, timeout=timeout
        )

    def send(self, case: Case) -> tuple[int, str, str]:
        """The answer's status, the gateway's reason and the request id the gateway gave the request."""
        request = case.request
        headers = {"Content-Type": request.content_type} if request.content_type else {}
        headers.update(request.spec_headers)
        body = request.body if request.body is not None else b"x" * request.body_bytes if request.body_bytes else None
        target = request.path + ("?" + request.query if request.query else "")
        try:
            self.connection.request(case.request.method, target, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the gateway may close after a refusal; reconnect once
            try:
                self.connection.request(case.request.method, target, body=body, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                raise EnvironmentProblem(
                    f"the gateway at {self.url} did not answer: {error}",
                    hint="is it running and listening there, with a server certificate the --ca file signs?",
                ) from None
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        status = response.status
        return status, _gateway_reason(status, payload), _request_id(response.getheader("X-Request-Id", ""), payload)


def _gateway_reason(status: int, payload: bytes) -> str:
    """The gateway's own reason from its JSON error body; '' when the answer came from upstream."""
    try:
        document = json.loads(payload)
    except ValueError:
        return ""
    if isinstance(document, dict) and document.get("status") == status and "request_id" in document:
        return str(document.get("error", ""))
    return ""


def _request_id(header: str, payload: bytes) -> str:
    """The id the gateway logged the request under: its X-Request-Id header, else its JSON error's."""
    if header.strip():
        return header.strip()
    try:
        document = json.loads(payload)
    except ValueError:
        return ""
    return str(document.get("request_id", "")) if isinstance(document, dict) else ""


# The policy's rate limits hold for the self-test too: an answer 429 means "too soon", not a
# different decision, so the case is sent again once the limit has room (limits are per second
# as policies give them; NGINX's burst refills at the rate).
RATE_LIMITED_RETRIES = 3
RATE_LIMITED_WAIT_SECONDS = 1.1


def _send_within_limits(client: Client, case: Case, sent: list[selftest_record.Entry]) -> tuple[int, str]:
    """Send ``case`` (again while rate-limited); every request answered is added to ``sent``."""
    for attempt in range(RATE_LIMITED_RETRIES + 1):
        if attempt:
            time.sleep(RATE_LIMITED_WAIT_SECONDS)
        status, reason, request_id = client.send(case)
        request = case.request
        sent.append(
            selftest_record.Entry(
                selftest_record.utc_now(), request_id, request.client or "", request.method, request.path
            )
        )
        if reason != "rate_limited" or case.expected.reason == "rate_limited":
            break
    return status, reason


def find_certificates(certs_dir: Path, clients: list[dict[str, Any]]) -> dict[str, tuple[Path, Path]]:
    """``<client>.crt`` + ``<client>.key`` (or ``.pem``) for each policy client that has them."""
    found = {}
    for client in clients:
        for cert_suffix in (".crt", ".pem"):
            cert, key = certs_dir / f"{client['name']}{cert_suffix}", certs_dir / f"{client['name']}.key"
            if cert.is_file() and key.is_file():
                found[client["name"]] = (cert, key)
                break
    if not found:
        raise BadInputError(
            f"{certs_dir}: no client certificate for any policy client",
            hint="put <client>.crt and <client>.key for at least one client of the policy there",
        )
    return found


def run_selftest(
    policy: dict[str, Any],
    url: str,
    certs_dir: Path,
    ca_file: Path,
    today: dt.date | None = None,
    timeout: float = 10,
    record: Path | None = None,
) -> SelftestResult:
    """``record``: append the requests sent to this file (selftest_record), those answered before an
    error included: their lines are in the access log all the same."""
    certs = find_certificates(certs_dir, policy["clients"])
    router = Router(policy, today)
    cases, skipped = derive_cases(policy, router, sorted(certs))
    result = SelftestResult(url, policy["policy_id"], len(cases), skipped=skipped)
    clients: dict[str | None, Client] = {}
    sent: list[selftest_record.Entry] = []
    try:
        for case in cases:
            name = case.request.client
            if name not in clients:
                clients[name] = Client(url, ca_file, certs.get(name) if name else None, timeout)
            status, reason = _send_within_limits(clients[name], case, sent)
            expected = case.expected
            passed = (
                reason in PASSED_THROUGH or not reason
                if expected.allowed
                else (status, reason) == (expected.status, expected.reason)
            )
            if not passed:
                result.mismatches.append(
                    Mismatch(
                        case.name, case.request.method, case.request.path, name or "(no certificate)",
                        "served by upstream" if expected.allowed else f"{expected.status} {expected.reason}",
                        f"{status} {reason or '(upstream answer)'}",
                    )
                )  # fmt: skip
    finally:
        if record is not None:
            result.recorded = _write_record(record, sent)
    return result


def _write_record(record: Path, sent: list[selftest_record.Entry]) -> int:
    try:
        return selftest_record.append(record, sent)
    except OSError as error:
        raise EnvironmentProblem(
            f"--record {record}: cannot write the self-test's requests: {error.strerror or error}",
            hint="the audit would judge them as any client's: check the directory and its permissions",
        ) from None
