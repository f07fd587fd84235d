"""A loopback HTTP upstream that records every request it receives, in a thread.

Standard library only: the Molecule scenario of gateway_proxy runs this file inside the
network-less instance as a service (``python3 upstream.py --port N --journal FILE``), the
journal holding one JSON line per request received.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body_length: int
    # Every header line as received, in order (``headers`` keeps the last of repeated names).
    lines: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Recorder:
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    journal: str | None = None  # a file that gets each request as one JSON line

    def add(self, received: Received) -> None:
        with self.lock:
            self.requests.append(received)
            if self.journal:
                with open(self.journal, "a", encoding="utf-8") as journal:
                    journal.write(json.dumps(dataclasses.asdict(received)) + "\n")

    def with_request_id(self, request_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.headers.get("x-request-id") == request_id]

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            lines = [(name.lower(), value) for name, value in self.headers.items()]
            recorder.add(Received(self.command, parts.path, parts.query, headers, len(body), lines))
            payload = json.dumps({"upstream": True, "path": parts.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

        def log_message(self, format: str, *args) -> None:  # keep pytest output clean
            pass

    return Handler


class RecordingUpstream:
    """Start with ``start()``, stop with ``stop()``; ``port`` and ``recorder`` while it runs."""

    def __init__(self, port: int = 0, journal: str | None = None) -> None:
        self.recorder = Recorder(journal=journal)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.recorder))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="recording-upstream", daemon=True)

    def start(self) -> RecordingUpstream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description="Record every request received on a loopback port.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", required=True)
    args = parser.parse_args()
    upstream = RecordingUpstream(args.port, args.journal)
    upstream.server.serve_forever()


if __name__ == "__main__":
    main()
