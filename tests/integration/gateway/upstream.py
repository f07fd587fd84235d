"""A loopback HTTP upstream that records every request it receives, in a thread."""

from __future__ import annotations

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

    def add(self, received: Received) -> None:
        with self.lock:
            self.requests.append(received)

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

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.recorder))
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
