"""Run a rendered gateway in the foreground and stop it by its own pid."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

NGINX = "/usr/sbin/nginx"


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningNginx:
    """``nginx -p DIR -c nginx.conf`` with daemon off, so the process we start is the master."""

    def __init__(self, prefix: Path, port: int) -> None:
        self.prefix = prefix
        self.port = port
        argv = [NGINX, "-p", f"{prefix}/", "-c", "nginx.conf", "-g", "daemon off;"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on 127.0.0.1:{self.port} within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()


def read_log(path: Path) -> list[dict[str, Any]]:
    """The complete lines: one NGINX is still writing (no newline yet) is left for the next read."""
    complete = path.read_text().rpartition("\n")[0]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def log_line(path: Path, request_id: str, timeout: float = 5) -> dict[str, Any]:
    """The access-log line of one request; NGINX writes it just after the response, so wait a little."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in read_log(path) if line["request_id"] == request_id] if path.exists() else []
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(lines) == 1, f"expected one access-log line for {request_id}, found {len(lines)}"
    return lines[0]
