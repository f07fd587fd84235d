"""The project's own stand-in for Fluentd's in_forward, for the tests and the benchmark.

It speaks the Forward protocol (msgpack over TCP) in its Message, Forward and PackedForward modes,
answers ``{"ack": <chunk>}`` to a packet that asks for it, and stores every record it takes in as
the logging role's store does: one JSON object per line under ``<store>/events/``. Nothing is
de-duplicated here: a packet sent twice is stored twice, as a real collector would.

Faults on demand: ``die_after(n)`` makes the n-th packet from now the last one, read and then the
whole receiver closed before it acknowledges (stored first, as a collector that wrote the batch and
died before its ack left, unless ``store_before_dying`` is false); ``ack = False`` takes packets in
and never answers. ``restart()`` starts it again on the same port.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import msgpack


def _entries(message: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The records of one Forward message and its option map, whatever the mode."""
    _tag, second, *rest = message
    if isinstance(second, list):  # Forward mode: [tag, [[time, record], ...], option?]
        return [record for _time, record in second], (rest[0] if rest else {})
    if isinstance(second, bytes):  # PackedForward mode: [tag, <packed entries>, option?]
        option = rest[0] if rest else {}
        data = gzip.decompress(second) if option.get("compressed") == "gzip" else second
        return [record for _time, record in msgpack.Unpacker(io.BytesIO(data), raw=False)], option
    # Message mode: [tag, time, record, option?]
    return [rest[0]], (rest[1] if len(rest) > 1 else {})


class ForwardReceiver:
    def __init__(self, store: Path | None = None, port: int = 0, host: str = "127.0.0.1") -> None:
        self.store = store
        self.host = host
        self.port = port  # 0: a free port, chosen on the first start and kept for restarts
        self.records: list[dict[str, Any]] = []  # every record taken in, repeats included
        self.packets = 0
        self.ack = True
        self.store_before_dying = True
        self._die_in: int | None = None
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._running = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def die_after(self, packets: int) -> None:
        self._die_in = packets

    def start(self) -> ForwardReceiver:
        self.stop()  # after a death on a packet, its threads may still be ending
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((self.host, self.port))
        server.listen(16)
        server.settimeout(0.05)
        self.port = server.getsockname()[1]
        self._server, self._running = server, True
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        self._close_all()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout=5)
        self._threads = [thread for thread in self._threads if thread.is_alive()]

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> ForwardReceiver:
        return self.start() if not self._running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _close_all(self) -> None:
        """Die: no more connections, and those open are closed (their peers see the connection end)."""
        with self._lock:
            self._running = False
            server, self._server = self._server, None
            connections, self._connections = self._connections, set()
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes its accept() and stops listening now
            server.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self) -> None:
        server = self._server
        while self._running and server is not None:
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if not self._running:
                    connection.close()
                    return
                self._connections.add(connection)
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        unpacker = msgpack.Unpacker(raw=False)
        connection.settimeout(0.05)
        while self._running:
            try:
                data = connection.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                break
            unpacker.feed(data)
            for message in unpacker:
                if not self._take(connection, message):
                    return
        with self._lock:
            self._connections.discard(connection)
        connection.close()

    def _take(self, connection: socket.socket, message: list[Any]) -> bool:
        """Store one packet's records and ack it; False when the receiver died on it."""
        records, option = _entries(message)
        with self._lock:
            self.packets += 1
            dying = self._die_in is not None and self._die_in <= 1
            if self._die_in is not None:
                self._die_in -= 1
            if dying:
                self._die_in = None
            if not dying or self.store_before_dying:
                self._store(records)
        if dying:
            self._close_all()
            return False
        if self.ack and "chunk" in option:
            try:
                connection.sendall(msgpack.packb({"ack": option["chunk"]}))
            except OSError:
                return False
        return True

    def _store(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)
        if self.store is None:
            return
        directory = self.store / "events"
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "events.log", "a") as handle:
            handle.writelines(json.dumps(record) + "\n" for record in records)

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` records were taken in."""
        deadline = time.monotonic() + timeout
        while len(self.records) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.records) >= count


def main() -> None:
    """Run one receiver until stdin closes: ``python -m tests.forward_receiver [--port N] [--store DIR]``.
    The first line on stdout is the address it listens on."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    with ForwardReceiver(args.store, port=args.port) as receiver:
        print(receiver.address, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
