"""The lab's stand-in for the petstore API behind the gateway: plain HTTP on loopback.

Standard library only, run on the lab appliance by airgap-lab-petstore.service. It answers the
operations of specs/petstore with small JSON bodies and logs nothing: the gateway's access log is
the record. It never prints request headers (the gateway adds the upstream credential to them).
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PETS = {1: "Rex", 2: "Tom", 3: "Polly", 4: "Nemo"}
ITEM = re.compile(r"/api/pets/(\d+)(/photo)?")
VISIT = re.compile(r"/api/owners/[0-9a-f-]{36}/visits/\d{4}-\d{2}-\d{2}")


class Petstore(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway's upstream connections are
    lock = threading.Lock()
    next_id = 5

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in ("/api/pets", "/api/pets/legacy", "/api/pets/mine"):
            self._answer(200, [{"id": i, "name": n} for i, n in sorted(PETS.items())])
        elif (item := ITEM.fullmatch(path)) and not item.group(2):
            pet = int(item.group(1))
            self._answer(200, {"id": pet, "name": PETS.get(pet, "Unnamed")})
        elif VISIT.fullmatch(path):
            self._answer(200, {"visit": path.rsplit("/", 1)[1], "vet": "Dr. Ash"})
        elif path == "/api/nodes/search":
            self._answer(200, [])
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        self._drain()
        if urlsplit(self.path).path != "/api/pets":
            return self._answer(404, {"error": "not found"})
        with self.lock:
            pet, Petstore.next_id = Petstore.next_id, Petstore.next_id + 1
        self._answer(201, {"id": pet})

    def do_PUT(self) -> None:
        self._drain()
        self._answer(200 if ITEM.fullmatch(urlsplit(self.path).path) else 404, {})

    def do_DELETE(self) -> None:
        self._drain()
        if ITEM.fullmatch(urlsplit(self.path).path):
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._answer(404, {"error": "not found"})

    def _drain(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, body: object) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Petstore).serve_forever()


if __name__ == "__main__":
    main()
