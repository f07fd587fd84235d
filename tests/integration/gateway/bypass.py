"""Crafted raw requests for the bypass suite: each is sent byte for byte over TLS, and each says
what the reference router (airgapctl/specs/routing.py) is told about it.

The cases are built against the scenario policy (scenario.py): traversal and its encodings, case
and trailing-dot variants, ';' parameters, methods NGINX knows and does not, absolute-form
targets, host and TLS-name variants, method and URL override headers in any case, duplicated and
conflicting framing headers, oversized headers and bodies, media types, certificates of every
kind, and every operation of the policy called as it should be. Host comes first among the
headers, as clients send it: NGINX reads headers in order and stops at the first it refuses.
"""

from __future__ import annotations

import socket
import ssl
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from airgapctl.contracts.access_log import Reason
from airgapctl.gateway.request_rules import OVERRIDE_HEADERS
from airgapctl.gateway.selftest_cases import concrete_path, concrete_type
from airgapctl.specs.routing import Request
from tests.integration.gateway.scenario import VALID_ORDER

HOST = "127.0.0.1"
# The gateway's other name, reached by TLS server name; NGINX sends SNI for names, not addresses.
NAME = "gateway.test"
SERVER_NAMES = (HOST, NAME)
# Identities whose certificate the gateway must refuse (foreign CA, expired, revoked by the CRL).
FAILED_CERTIFICATES = ("eve", "expired", "revoked")
# Verified by the CA, not policy clients: the reference sees them as unknown names.
UNKNOWN_SUBJECTS = ("mallory", "alice_upper")
# Operations the suite leaves out: rate-limited ones (the reference does not model rate limits)
# and the API with no upstream listening (502).
SKIPPED_OPERATIONS = ("petstore.limited", "petstore.throttled", "broken.getThing")
JSON_TYPE = ("Content-Type", "application/json")


@dataclass(frozen=True)
class RawCase:
    name: str
    who: str | None  # an identity of the scenario (or expired, revoked); None: no certificate
    method: str
    target: str  # exactly as on the request line
    headers: tuple[tuple[str, str], ...] = ((("Host", HOST)),)
    body: bytes = b""
    chunked: bool = False  # the body goes as one chunk; the Transfer-Encoding header is the case's own
    version: str = "HTTP/1.1"
    sni: str | None = None
    # The spec check the case is built to fail (None: none): the reference refuses it in enforce mode.
    violation: str | None = None

    def raw(self) -> bytes:
        head = f"{self.method} {self.target} {self.version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in self.headers)
        body = f"{len(self.body):x}\r\n".encode() + self.body + b"\r\n0\r\n\r\n" if self.chunked else self.body
        return (head + "Connection: close\r\n\r\n").encode("latin-1") + body

    @property
    def split_target(self) -> tuple[str | None, str, str]:
        """(authority of an absolute-form target, raw path, query)."""
        authority = None
        target = self.target
        if target.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(target)
            authority, target = parts.netloc, target[len(f"{parts.scheme}://{parts.netloc}") :] or "/"
        path, _, query = target.partition("?")
        return authority, path, query

    def request(self) -> Request:
        """What the reference router is told: the same request, as data (the request line as NGINX splits it)."""
        method, target, version = f"{self.method} {self.target} {self.version}".split(" ", 2)
        if (method, target, version) != (self.method, self.target, self.version):
            return replace(self, method=method, target=target, version=version).request()
        authority, path, _ = self.split_target
        first_type = next((v.strip() for n, v in self.headers if n.lower() == "content-type"), None)
        return Request(
            self.method,
            path,
            None if self.who in FAILED_CERTIFICATES else self.who,
            first_type,
            len(self.body),
            headers=self.headers,
            version=self.version,
            authority=authority,
            sni=self.sni,
            certificate_failed=self.who in FAILED_CERTIFICATES,
            violation=self.violation,
        )


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)


def send(case: RawCase, port: int, context: ssl.SSLContext, timeout: float = 10) -> RawReply:
    """One connection per case; read until the gateway closes it (every case asks it to)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=timeout) as plain,
        context.wrap_socket(plain, server_hostname=case.sni or HOST) as tls,
    ):
        tls.sendall(case.raw())
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawReply(int(status_line.split(" ")[1]), headers, body)


def _targets() -> dict[str, str]:
    """Raw targets around known paths: traversal, encodings, slashes, case, dots, parameters."""
    variants = [
        "/api/pets/../pets/1",
        "/api/pets/1/../2",
        "/api/./pets/1",
        "/api/pets/./1",
        "/api/pets/1/.",
        "/api/pets/1/..",
        "/api/../api/pets/1",
        "/api/../../etc/passwd",
        "/api/pets/%2e%2e/1",
        "/api/pets/%2E%2E/1",
        "/api/pets/.%2e/1",
        "/api/pets/%2e./1",
        "/api/pets/%252e%252e/1",
        "/api/pets/..%2f1",
        "/api/pets/..%2F1",
        "/api/pets/..%5c1",
        "/api/pets/..\\1",
        "/api/pets%2f1",
        "/api/pets%2F1",
        "/api%2fpets%2f1",
        "/api/pets/%252F1",
        "/api/pets/%c0%af1",
        "/api/pets/%c0%ae%c0%ae/1",
        "/api/pets/%e0%80%af1",
        "/api/pets/1%00",
        "/api/pets/1%0d%0aX-Injected:%201",
        "/api/pets/%31",
        "/api/%70ets/1",
        "/api/pets/1%",
        "/api/pets/1%2",
        "/api/pets/1%zz",
        "/api//pets/1",
        "//api/pets/1",
        "/api/pets//1",
        "/api/pets/1//",
        "/api/pets/1/",
        "/api/pets/",
        "/API/pets/1",
        "/Api/Pets/1",
        "/api/PETS/1",
        "/api/pets/MINE",
        "/api/pets/1.",
        "/api/pets.",
        "/api/pets/mine.",
        "/api./pets/1",
        "/api/pets/1..",
        "/api/pets/1;",
        "/api/pets/1;x=1",
        "/api/pets;x=1/1",
        "/api;/pets/1",
        "/api/pets/mine;jsessionid=abc",
        "/api/pets/1#frag",
        "/api/pets/1?x=/../admin",
        "/api/pets/1?%2e%2e=1",
        "/api/pets/1~",
        "/api/pets/1%7e",
        "/api/pets/+1",
        "/api/pets/1%20",
        "/api/pets/-1",
        "/api/pets/0x1",
        "/api/pets/1e3",
        "/api/pets/mine/../1",
        "/inv/items/../../api/pets/1",
        "/inv//items",
        "/inv/./items",
        "/INV/items",
        "/inv/items.",
        "/inv/items/",
        "/inv/items;a",
        "/inv/items%2f",
        "/_airgap_gateway/op/1",
        "/_airgap_gateway/error/bad_request",
        "/%5fairgap_gateway/op/1",
        "/api/_airgap_gateway/op/1",
        "*",
        "api/pets/1",
    ]
    return {target: target for target in variants}


def path_cases() -> Iterator[RawCase]:
    for target in _targets():
        for method, who in (("GET", "alice"), ("DELETE", "alice"), ("DELETE", "bob")):
            yield RawCase(f"path {method} {who} {target!r}", who, method, target)


def method_cases() -> Iterator[RawCase]:
    methods = ["HEAD", "OPTIONS", "TRACE", "PATCH", "PUT", "POST", "DELETE", "FOO", "PROPFIND", "M-SEARCH",
               "GET_X", "get", "Get", "G ET", "GET\t", "CONNECT"]  # fmt: skip
    for method in methods:
        for target in ("/api/pets", "/api/pets/1", "/nope"):
            yield RawCase(f"method {method!r} {target}", "alice", method, target)
    yield RawCase("CONNECT authority form", "alice", "CONNECT", "127.0.0.1:443")
    yield RawCase("HTTP/2.0 on the request line", "alice", "GET", "/api/pets/1", version="HTTP/2.0")
    yield RawCase("HTTP/3.0 on the request line", "alice", "GET", "/api/pets/1", version="HTTP/3.0")
    yield RawCase("HTTP/1.0 with Host", "alice", "GET", "/api/pets/1", version="HTTP/1.0")
    yield RawCase("HTTP/1.0 without Host", "alice", "GET", "/api/pets/1", headers=(), version="HTTP/1.0")
    yield RawCase("HTTP/1.1 without Host", "alice", "GET", "/api/pets/1", headers=())
    yield RawCase("HTTP/1.0 without Host, no certificate", None, "GET", "/api/pets/1", headers=(), version="HTTP/1.0")


def override_cases() -> Iterator[RawCase]:
    for header in OVERRIDE_HEADERS:
        value = "/admin" if "url" in header else "DELETE"
        spellings = {header, header.upper(), "-".join(part.capitalize() for part in header.split("-"))}
        for spelling in sorted(spellings):
            for method, target, who in (("GET", "/api/pets/42", "alice"), ("GET", "/api/pets/42", "bob")):
                yield RawCase(f"override {spelling} {who}", who, method, target, ((("Host", HOST)), (spelling, value)))
            body = ((("Host", HOST)), JSON_TYPE, ("Content-Length", "2"), (spelling, value))
            yield RawCase(f"override {spelling} POST", "alice", "POST", "/api/pets", body, b"{}")
        # Sent empty (NGINX cannot see it) or with '_' for '-' (NGINX drops the line): served, never passed on.
        yield RawCase(f"override {header} empty", "alice", "GET", "/api/pets/42", ((("Host", HOST)), (header, "")))
        underscored = header.replace("-", "_")
        yield RawCase(
            f"override {underscored}", "alice", "GET", "/api/pets/42", ((("Host", HOST)), (underscored, value))
        )
        yield RawCase(f"override {header} then empty", "alice", "GET", "/api/pets/42",
                      ((("Host", HOST)), (header, ""), (header, value)))  # fmt: skip


def host_cases() -> Iterator[RawCase]:
    hosts = [HOST, f"{HOST}:8443", f"{HOST}.", NAME, NAME.upper(), f"{NAME}.", "evil.test", "localhost",
             "127.0.0.2", "[::1]", "", "127.0.0.1/x", "127.0.0.1.evil.test"]  # fmt: skip
    for host in hosts:
        yield RawCase(f"host {host!r}", "alice", "GET", "/api/pets/1", ((("Host", host)),))
    yield RawCase("host duplicated, same", "alice", "GET", "/api/pets/1", ((("Host", HOST)), ("Host", HOST)))
    yield RawCase("host duplicated, other", "alice", "GET", "/api/pets/1", ((("Host", HOST)), ("Host", "evil.test")))
    yield RawCase(
        "host duplicated, other first", "alice", "GET", "/api/pets/1", ((("Host", "evil.test")), ("Host", HOST))
    )
    for target in ("https://127.0.0.1/api/pets/1", "http://127.0.0.1/api/pets/1", "https://127.0.0.1:8443/api/pets/1",
                   "https://gateway.test/api/pets/1?x=1", "https://evil.test/api/pets/1", "https://127.0.0.1/api/../admin",
                   "https://127.0.0.1", "https://evil.test@127.0.0.1/api/pets/1"):  # fmt: skip
        yield RawCase(f"absolute {target}", "alice", "GET", target)
        yield RawCase(f"absolute {target}, other Host", "alice", "GET", target, ((("Host", "evil.test")),))
    for sni, host in ((NAME, NAME), (NAME, HOST), ("evil.test", HOST), ("evil.test", "evil.test"), (NAME, "evil.test")):
        yield RawCase(f"sni {sni} host {host}", "alice", "GET", "/api/pets/1", ((("Host", host)),), sni=sni)


def framing_cases() -> Iterator[RawCase]:
    def post(name: str, *extra: tuple[str, str], body: bytes = b"{}", chunked: bool = False, who: str = "alice"):
        return RawCase(
            f"framing {name}", who, "POST", "/api/pets", ((("Host", HOST)), JSON_TYPE, *extra), body, chunked
        )

    yield post("content-length", ("Content-Length", "2"))
    yield post("content-length twice, same", ("Content-Length", "2"), ("Content-Length", "2"))
    yield post("content-length twice, other", ("Content-Length", "2"), ("Content-Length", "0"))
    yield post("content-length list", ("Content-Length", "2, 2"))
    yield post("content-length sign", ("Content-Length", "+2"))
    yield post("content-length negative", ("Content-Length", "-1"), body=b"")
    yield post("content-length text", ("Content-Length", "two"), body=b"")
    yield post("content-length padded", ("Content-Length", " 2 "))
    yield post("content-length leading zero", ("Content-Length", "02"))
    yield post("chunked", ("Transfer-Encoding", "chunked"), chunked=True)
    yield post("chunked, capitalised", ("Transfer-Encoding", "Chunked"), chunked=True)
    yield post("chunked twice", ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked"), chunked=True)
    yield post("chunked and length", ("Content-Length", "5"), ("Transfer-Encoding", "chunked"), chunked=True)
    yield post("length and chunked", ("Transfer-Encoding", "chunked"), ("Content-Length", "7"), chunked=True)
    yield post("gzip coding", ("Transfer-Encoding", "gzip"), chunked=True)
    yield post("gzip, chunked", ("Transfer-Encoding", "gzip, chunked"), chunked=True)
    yield post("chunked, identity", ("Transfer-Encoding", "chunked, identity"), chunked=True)
    yield post("identity coding", ("Transfer-Encoding", "identity"), chunked=True)
    yield RawCase("framing HTTP/1.0 chunked", "alice", "POST", "/api/pets",
                  ((("Host", HOST)), JSON_TYPE, ("Transfer-Encoding", "chunked")), b"{}", True, "HTTP/1.0")  # fmt: skip
    yield RawCase("framing GET with chunked body", "alice", "GET", "/api/pets/1",
                  ((("Host", HOST)), ("Transfer-Encoding", "chunked")), b"xx", True)  # fmt: skip
    # Duplicated headers NGINX refuses, and Content-Type, which the gateway refuses itself.
    for name, value in (("Authorization", "Bearer a"), ("If-Match", '"a"'), ("If-None-Match", '"a"'),
                        ("If-Modified-Since", "Tue, 01 Dec 2026 10:00:00 GMT"), ("If-Range", '"a"'),
                        ("Content-Range", "bytes 0-1/2")):  # fmt: skip
        yield RawCase(
            f"duplicated {name}", "alice", "GET", "/api/pets/1", ((("Host", HOST)), (name, value), (name, value))
        )
    for first, second in (("application/json", "text/plain"), ("text/plain", "application/json"),
                          ("application/json", "application/json")):  # fmt: skip
        headers = ((("Host", HOST)), ("Content-Type", first), ("Content-Type", second), ("Content-Length", "2"))
        yield RawCase(f"content-type {first} then {second}", "alice", "POST", "/api/pets", headers, b"{}")
    for first, second in (("", "application/json"), ("application/json", ""), ("Application/JSON", "text/plain")):
        headers = ((("Host", HOST)), ("Content-Type", first), ("CONTENT-TYPE", second), ("Content-Length", "2"))
        yield RawCase(f"content-type {first!r} then {second!r}", "alice", "POST", "/api/pets", headers, b"{}")
    twice = ((("Host", HOST)), JSON_TYPE, ("content-type", "text/plain"))
    yield RawCase("content-type twice on a GET", "alice", "GET", "/api/pets/1", twice)
    underscore = ((("Host", HOST)), JSON_TYPE, ("Content_Type", "text/plain"), ("Content-Length", "2"))
    yield RawCase("content-type and content_type", "alice", "POST", "/api/pets", underscore, b"{}")
    yield RawCase("content-type twice with a method override", "alice", "POST", "/api/pets",
                  ((("Host", HOST)), JSON_TYPE, JSON_TYPE, ("X-HTTP-Method-Override", "DELETE"),
                   ("Content-Length", "2")), b"{}")  # fmt: skip
    yield RawCase("content-type twice with an unknown transfer coding", "alice", "POST", "/api/pets",
                  ((("Host", HOST)), JSON_TYPE, JSON_TYPE, ("Transfer-Encoding", "gzip")), b"{}", True)  # fmt: skip
    yield RawCase("content-type twice on TRACE", "alice", "TRACE", "/api/pets",
                  ((("Host", HOST)), JSON_TYPE, JSON_TYPE))  # fmt: skip
    for name in ("X-Foo", "Accept", "User-Agent", "Range"):
        yield RawCase(f"duplicated {name}", "alice", "GET", "/api/pets/1", ((("Host", HOST)), (name, "a"), (name, "b")))


def size_cases() -> Iterator[RawCase]:
    for size in (4000, 9000):
        yield RawCase(
            f"header of {size} bytes", "alice", "GET", "/api/pets/1", ((("Host", HOST)), ("X-Big", "a" * size))
        )
        yield RawCase(f"path of {size} bytes", "alice", "GET", "/api/pets/" + "1" * size)
    many = tuple((f"X-H{number}", "v" * 100) for number in range(60))
    yield RawCase("60 headers", "alice", "GET", "/api/pets/1", ((("Host", HOST)), *many))
    for size in (1024, 1025, 5000):
        headers = ((("Host", HOST)), JSON_TYPE, ("Content-Length", str(size)))
        yield RawCase(f"body of {size} bytes", "alice", "POST", "/api/pets", headers, b"x" * size)
        yield RawCase(f"chunked body of {size} bytes", "alice", "POST", "/api/pets",
                      ((("Host", HOST)), JSON_TYPE, ("Transfer-Encoding", "chunked")), b"x" * size, True)  # fmt: skip
    for method, target in (("GET", "/api/pets/1"), ("DELETE", "/api/pets/1"), ("GET", "/inv/items")):
        headers = ((("Host", HOST)), JSON_TYPE, ("Content-Length", "1"))
        yield RawCase(f"body on {method} {target}", "alice", method, target, headers, b"x")


def media_type_cases() -> Iterator[RawCase]:
    types = ["application/json", "Application/JSON", "application/json; charset=utf-8", " application/json",
             "application/json ;x=1", "text/plain", "application/jsonx", "application/json+x", "application/*",
             "*/*", "application", "", "text/plain, application/json", "application/json\tx"]  # fmt: skip
    for media_type in types:
        headers = ((("Host", HOST)), ("Content-Type", media_type), ("Content-Length", "2"))
        yield RawCase(f"media type {media_type!r}", "alice", "POST", "/api/pets", headers, b"{}")
    yield RawCase(
        "media type missing", "alice", "POST", "/api/pets", ((("Host", HOST)), ("Content-Length", "2")), b"{}"
    )
    for media_type in ("image/png", "image/svg+xml", "text/png", "application/json"):
        headers = ((("Host", HOST)), ("Content-Type", media_type), ("Content-Length", "2"))
        yield RawCase(f"photo media type {media_type}", "alice", "PUT", "/api/pets/3/photo", headers, b"{}")


def body_cases() -> Iterator[RawCase]:
    """Bodies of an operation whose JSON body the gateway checks: none of the bad ones reaches it."""
    bad = Reason.INVALID_BODY.value
    bodies = [
        ("valid", VALID_ORDER, None),
        ("duplicate keys", b'{"item":"kibble","quantity":2,"quantity":500}', bad),
        ("escaped duplicate key", b'{"item":"kibble","quantity":2,"\\u0071uantity":500}', bad),
        ("nested 30 deep", b'{"item":"kibble","quantity":2,"tags":' + b"[" * 30 + b"]" * 30 + b"}", bad),
        ("huge number", b'{"item":"kibble","quantity":1e400}', bad),
        ("integer beyond 2^53", b'{"item":"kibble","quantity":9007199254740993}', bad),
        ("invalid UTF-8", b'{"item":"kibble\xff","quantity":2}', bad),
        ("not JSON", b'{"item":"kibble","quantity":2', bad),
        ("schema: unknown member", b'{"item":"kibble","quantity":2,"admin":true}', bad),
        ("schema: out of range", b'{"item":"kibble","quantity":0}', bad),
        ("empty", b"", bad),
    ]
    for name, body, violation in bodies:
        headers = ((("Host", HOST)), JSON_TYPE, ("Content-Length", str(len(body))))
        yield RawCase(f"order body {name}", "alice", "POST", "/api/orders", headers, body, violation=violation)
        if body:
            chunked = ((("Host", HOST)), JSON_TYPE, ("Transfer-Encoding", "chunked"))
            yield RawCase(f"order body {name}, chunked", "alice", "POST", "/api/orders", chunked, body, True,
                          violation=violation)  # fmt: skip
    text = ((("Host", HOST)), ("Content-Type", "text/plain"), ("Content-Length", str(len(VALID_ORDER))))
    yield RawCase("order body as another media type", "alice", "POST", "/api/orders", text, VALID_ORDER)


def certificate_cases() -> Iterator[RawCase]:
    who_list = [None, *FAILED_CERTIFICATES, *UNKNOWN_SUBJECTS, "bob", "carol"]
    targets = [("GET", "/api/pets/1", b""), ("DELETE", "/api/pets/1", b""), ("POST", "/api/pets", b"{}"),
               ("GET", "/api//pets", b""), ("GET", "/nope", b"")]  # fmt: skip
    for who in who_list:
        for method, target, body in targets:
            headers = ((("Host", HOST)), JSON_TYPE, ("Content-Length", str(len(body)))) if body else ((("Host", HOST)),)
            yield RawCase(f"certificate {who} {method} {target}", who, method, target, headers, body)
        yield RawCase(f"certificate {who} unknown host", who, "GET", "/api/pets/1", ((("Host", "evil.test")),))
        yield RawCase(f"certificate {who} bad request line", who, "get", "/api/pets/1")


def policy_cases(policy: dict[str, Any]) -> Iterator[RawCase]:
    """Every operation of the policy, called as its grant says: path, client, body and media type."""
    for op in policy["operations"]:
        if op["id"] in SKIPPED_OPERATIONS:
            continue
        path = concrete_path(op)
        assert path is not None, op["id"]
        headers: tuple[tuple[str, str], ...] = ((("Host", HOST)),)
        body = b""
        if op["body"].get("schema"):
            body = VALID_ORDER
            headers += (("Content-Type", op["body"]["schema"]["media_type"]), ("Content-Length", str(len(body))))
        elif op["body"]["allowed"]:
            body = b"{}"
            headers += (("Content-Type", concrete_type(op["body"]["content_types"])), ("Content-Length", "2"))
        yield RawCase(f"policy {op['id']}", "alice", op["method"], path, headers, body)
        yield RawCase(f"policy {op['id']} query", "alice", op["method"], path + "?q=1&r=%2F", headers, body)


def all_cases(policy: dict[str, Any]) -> list[RawCase]:
    cases = [
        *policy_cases(policy),
        *body_cases(),
        *path_cases(),
        *method_cases(),
        *override_cases(),
        *host_cases(),
        *framing_cases(),
        *size_cases(),
        *media_type_cases(),
        *certificate_cases(),
    ]
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases
