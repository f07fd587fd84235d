"""A raw HTTPS client for the gateway tests: sends the request target exactly as written.

http.client is used rather than requests because requests normalises paths ('/./', '/../'),
which would hide exactly the attacks the gateway must refuse.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.gateway.pki import Issued


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def request_id(self) -> str:
        return self.headers["x-request-id"]


@dataclass
class GatewayClient:
    port: int
    ca: Path
    identity: Issued | None = None
    # Pin the protocol (both ends of the range) to see what the gateway accepts.
    tls_version: ssl.TLSVersion | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if self.identity is not None:
            context.load_cert_chain(str(self.identity.cert), str(self.identity.key))
        if self.tls_version is not None:
            # Old protocols are off at OpenSSL's default security level: lower it on our side only.
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.minimum_version = context.maximum_version = self.tls_version
        return context

    def request(
        self,
        method: str,
        target: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> Reply:
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(), timeout=10)
        try:
            connection.request(method, target, body=body, headers=headers or {}, encode_chunked=chunked)
            response = connection.getresponse()
            payload = response.read()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)
        finally:
            connection.close()

    def protocol(self) -> str:
        """The TLS version the gateway agrees to with this client."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(), timeout=10)
        try:
            connection.connect()
            return connection.sock.version()
        finally:
            connection.close()
