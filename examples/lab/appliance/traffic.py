"""A few minutes of the lab's client traffic through the real gateway, on the appliance's loopback.

Standard library only; the demo runs it inside the network-less lab appliance. Each actor is a
thread with a source address of its own (all of 127.0.0.0/8 is loopback), as separate machines
would be, so the audit can tell them apart:

* the clinic's clients, each with its certificate, calling the operations their roles allow;
* billing, a reader, that also keeps trying to create and delete pets (outside its role);
* a scanner without a certificate, walking paths no API declares;
* a kiosk whose old certificate was revoked, retrying.

Prints one line per actor: what it sent and the statuses it got.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE = "/petstore"
SCANNED = [
    "/", "/admin", "/admin/login", "/login", "/wp-login.php", "/.env", "/.git/config", "/server-status",
    "/actuator/health", "/actuator/env", "/api", "/api/v1/users", "/api/v2/users", "/graphql", "/swagger.json",
    "/openapi.json", "/v2/api-docs", "/console", "/phpmyadmin/", "/cgi-bin/test.cgi", "/etc/passwd",
    "/petstore/admin", "/petstore/users", "/petstore/config", "/petstore/debug", "/petstore/.env",
    "/petstore/pets/export", "/petstore/owners", "/petstore/backup.zip", "/backup.tar.gz", "/robots.txt",
    "/sitemap.xml", "/metrics", "/debug/pprof/", "/jenkins/", "/manager/html", "/solr/", "/owa/", "/remote/login",
]  # fmt: skip


@dataclass
class Actor:
    name: str
    address: str
    cert: str | None  # the certificate's file stem in the certificates directory; None: no certificate
    pause: float  # seconds between requests
    requests: Callable[[random.Random, int], tuple[str, str, bytes | None]]  # (rng, i) -> a request
    reconnect: bool = False  # a new TLS connection for every request
    statuses: Counter = field(default_factory=Counter)


def reader(rng: random.Random, _: int) -> tuple[str, str, bytes | None]:
    return rng.choice([
        ("GET", f"{BASE}/pets?limit=20", None),
        ("GET", f"{BASE}/pets/{rng.randint(1, 4)}?verbose=false", None),
        ("GET", f"{BASE}/owners/{uuid.UUID(int=rng.getrandbits(128), version=4)}/visits/2026-11-30", None),
    ])  # fmt: skip


def clerk(rng: random.Random, i: int) -> tuple[str, str, bytes | None]:
    if i % 5 == 4:
        return "POST", f"{BASE}/pets", json.dumps({"name": f"pet-{i}"}).encode()
    return reader(rng, i)


def out_of_role(rng: random.Random, i: int) -> tuple[str, str, bytes | None]:
    if i % 2:
        return reader(rng, i)
    if i % 4:
        return "POST", f"{BASE}/pets", json.dumps({"name": "invoice"}).encode()
    return "DELETE", f"{BASE}/pets/{rng.randint(1, 4)}", None


def scanner(_: random.Random, i: int) -> tuple[str, str, bytes | None]:
    return "GET", SCANNED[i % len(SCANNED)], None


def revoked(_: random.Random, __: int) -> tuple[str, str, bytes | None]:
    return "GET", f"{BASE}/pets?limit=20", None


def actors() -> list[Actor]:
    return [
        Actor("frontdesk", "127.0.0.11", "frontdesk", 0.25, clerk),
        Actor("kiosk-1", "127.0.0.12", "kiosk-1", 0.4, reader),
        Actor("kiosk-2", "127.0.0.13", "kiosk-2", 0.4, reader),
        Actor("vetapp", "127.0.0.14", "vetapp", 0.3, clerk),
        Actor("ops", "127.0.0.15", "ops", 1.0, reader),
        Actor("billing (outside its role)", "127.0.0.16", "billing", 0.5, out_of_role),
        Actor("scanner (no certificate)", "127.0.0.66", None, 0.5, scanner, reconnect=True),
        Actor("kiosk-2's revoked certificate", "127.0.0.77", "kiosk-2-revoked", 2.0, revoked, reconnect=True),
    ]


class Gateway:
    def __init__(self, host: str, port: int, certs: Path) -> None:
        self.host, self.port, self.certs = host, port, certs

    def context(self, cert: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.certs / "ca.crt"))
        if cert:
            context.load_cert_chain(str(self.certs / f"{cert}.crt"), str(self.certs / f"{cert}.key"))
        return context

    def connect(self, actor: Actor, context: ssl.SSLContext) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, context=context, timeout=10, source_address=(actor.address, 0)
        )


def drive(gateway: Gateway, actor: Actor, until: float, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - traffic shapes, not secrets
    context, connection, i = gateway.context(actor.cert), None, 0
    while time.monotonic() < until:
        method, target, body = actor.requests(rng, i)
        i += 1
        try:
            connection = connection or gateway.connect(actor, context)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            actor.statuses[str(response.status)] += 1
            if actor.reconnect or response.will_close:
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            actor.statuses[type(error).__name__] += 1
            if connection is not None:
                connection.close()
            connection = None
        time.sleep(actor.pause * rng.uniform(0.5, 1.5))
    if connection is not None:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certs", type=Path, required=True, help="ca.crt and each actor's NAME.crt and NAME.key")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--port", type=int, default=8443)
    args = parser.parse_args()
    gateway, until = Gateway("127.0.0.1", args.port, args.certs), time.monotonic() + args.seconds
    cast = actors()
    threads = [threading.Thread(target=drive, args=(gateway, a, until, n)) for n, a in enumerate(cast)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for actor in cast:
        got = ", ".join(f"{status} x{count}" for status, count in sorted(actor.statuses.items()))
        print(f"  {actor.name:<31} from {actor.address:<11} {sum(actor.statuses.values()):>5} requests: {got}")


if __name__ == "__main__":
    main()
