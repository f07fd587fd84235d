"""A Forward-protocol receiver that appends airgapctl's events to a file, for a collector that cannot
take the Forward protocol itself (rsyslog: it tails the file with imfile into the store).

It takes what airgapctl's sender and fluent-logger send: Message mode ``[tag, time, record, option?]``,
Forward mode ``[tag, [[time, record], ...], option?]`` and PackedForward (entries as one msgpack
stream in a bin, gzip-compressed when the option says ``compressed: "gzip"``). Every record that is
an event of contracts/events is appended as its stored line; those of one message in one write(),
then fsync'd, and only then is the message's ``chunk`` acknowledged: acknowledged means on disk. A
write or fsync that fails (a full disk) is cut back to the file's size before it, and not acknowledged.

A record that is no event is left out with a line on stderr, and the rest of its message is written
and acknowledged: refusing the whole message would have the sender send it again forever. A connection
that sends anything but the Forward protocol is closed. The file is reopened whenever its path no
longer names the open file, so logrotate may rename it without signalling the receiver.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import ipaddress
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import msgpack

from airgapctl.contracts import events as contract
from airgapctl.errors import BadInputError, EnvironmentProblem
from airgapctl.events.settings import DEFAULT_COLLECTOR, collector_address

DEFAULT_OUT = Path("/var/log/airgap/events/events.log")
FILE_MODE = 0o640
DIRECTORY_MODE = 0o750
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_say_lock = threading.Lock()


def say(message: str) -> None:
    """One line on stderr (the journal's), whole even when several connections speak at once."""
    with _say_lock:
        sys.stderr.write(f"events receive: {message}\n")
        sys.stderr.flush()


def listen_address(text: str) -> tuple[str, int]:
    """(host, port) of ``--listen``: an IP address on loopback, since events never leave the appliance."""
    fix = f"give a loopback address and port, such as {DEFAULT_COLLECTOR} or [::1]:24224"
    try:
        host, port = collector_address(text)
        address = ipaddress.ip_address(host)
    except (BadInputError, ValueError):
        raise BadInputError(f"--listen {text!r} is not IP:PORT (a name is not looked up): {fix}") from None
    if not address.is_loopback:
        raise BadInputError(f"--listen {text}: {address} is not loopback and events never leave the appliance: {fix}")
    return str(address), port


class NotForward(ValueError):
    """A message that is not the Forward protocol."""


def _is_time(value: Any) -> bool:
    """An event's time: integer or float seconds, or EventTime (ext type 0: seconds and nanoseconds)."""
    if isinstance(value, msgpack.ExtType):
        return value.code == 0 and len(value.data) == 8
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _records(entries: Any) -> list[Any]:
    """The records of a Forward-mode entry list, ``[[time, record], ...]``."""
    if not isinstance(entries, list):
        raise NotForward("the entries are not a list")
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2 and _is_time(entry[0])):
            raise NotForward("an entry is not [time, record]")
    return [record for _time, record in entries]


def _unpacked(data: bytes, option: dict[str, Any]) -> list[Any]:
    """The entries of a PackedForward message: one msgpack stream of ``[time, record]``, maybe gzip'd."""
    compression = option.get("compressed")
    if compression == "gzip":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise NotForward(f"the compressed entries are not gzip: {error}") from None
    elif compression not in (None, "text"):
        raise NotForward(f"unknown compression {compression!r}")
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    entries, end = [], 0
    try:
        for entry in unpacker:
            entries.append(entry)
            end = unpacker.tell()
    except (ValueError, msgpack.UnpackException) as error:
        raise NotForward(f"the packed entries are not msgpack: {error}") from None
    if end != len(data):  # a stream cut short ends the iteration as if it were whole
        raise NotForward("the packed entries end in the middle of one")
    return _records(entries)


def parse_message(message: Any) -> tuple[str, list[Any], dict[str, Any]]:
    """(tag, records, option) of one Forward message, whichever its mode; NotForward when it is none."""
    if not (isinstance(message, list) and 2 <= len(message) <= 4 and isinstance(message[0], str)):
        raise NotForward("not an array [tag, ...]")
    tag, second, *rest = message
    message_mode = _is_time(second)
    if message_mode:
        if not rest:
            raise NotForward("a message [tag, time] without its record")
        record, *rest = rest
    elif not isinstance(second, (list, bytes)):
        raise NotForward("the second element is no time, entry list or packed entries")
    if len(rest) > 1:
        raise NotForward("more elements than [tag, entries, option]")
    option = rest[0] if rest and rest[0] is not None else {}
    if not isinstance(option, dict):
        raise NotForward("the option is not a map")
    if message_mode:
        return tag, [record], option
    return tag, (_unpacked(second, option) if isinstance(second, bytes) else _records(second)), option


def event_line(tag: str, record: Any) -> tuple[bytes | None, str | None]:
    """(the record's stored line, None) for an event under an ``airgap.`` tag, or (None, why not)."""
    if not tag.startswith(contract.TAG_PREFIX + "."):
        return None, f"tag not under {contract.TAG_PREFIX}."
    reason = contract.problem(record)
    if reason is not None:
        return None, reason
    try:
        json.dumps(record, allow_nan=False)  # msgpack carries bytes and NaN too, which JSON does not
    except (TypeError, ValueError) as error:
        return None, f"not JSON values: {error}"
    return contract.store_line(record).encode(), None


class Closed(Exception):
    """The receiver is stopping: nothing more is written."""


class EventFile:
    """The file the events are appended to, reopened (or created again) when rotation moved it away."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.written = 0  # events written since start
        self._fd: int | None = None
        self._new_line = False  # the file ends in a cut line: the next write starts a line of its own
        self._closed = False
        self._lock = threading.Lock()

    def open(self) -> None:
        """Open it now, so that a file that cannot be written fails at start, not at the first event."""
        with self._lock:
            self._follow()

    def _create(self) -> int:
        directory = self.path.parent
        try:
            directory.mkdir(mode=DIRECTORY_MODE, parents=True)
        except FileExistsError:
            pass
        else:
            os.chmod(directory, DIRECTORY_MODE)  # the umask does not decide who may read the events
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
        while True:
            try:
                fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
            except FileExistsError:
                try:
                    return os.open(self.path, flags)
                except FileNotFoundError:
                    continue  # removed in between: create it
            os.fchmod(fd, FILE_MODE)
            fd_dir = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd_dir)  # the new name is on disk too, not only what is written to it
            finally:
                os.close(fd_dir)
            return fd

    def _follow(self) -> None:
        """Reopen when the path names another file than the open one, or none (renamed by logrotate)."""
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            named = None
        if self._fd is not None and named is not None:
            held = os.fstat(self._fd)
            if (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
                return
        self._close_fd()
        self._fd = self._create()
        size = os.fstat(self._fd).st_size
        self._new_line = size > 0 and os.pread(self._fd, 1, size - 1) != b"\n"

    def append(self, data: bytes, events: int) -> None:
        """Write ``data`` (whole lines) in one write() and fsync it; Closed when the receiver stops."""
        with self._lock:
            if self._closed:
                raise Closed
            self._follow()
            assert self._fd is not None
            if self._new_line:
                data = b"\n" + data
            size = os.fstat(self._fd).st_size
            try:
                view = memoryview(data)
                while view:  # one write() but on a full disk, which returns short before it fails
                    view = view[os.write(self._fd, view) :]
                os.fsync(self._fd)
            except OSError:
                # Not acknowledged, so sent again: what did reach the file goes, lest it stay a cut line
                # or a second copy. Should that fail too, the next append starts after the cut line.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, size)
                    os.fsync(self._fd)
                self._close_fd()
                raise
            self._new_line = False
            self.written += events

    def _close_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Wait for a write under way, then write no more."""
        with self._lock:
            self._closed = True
            self._close_fd()


def _peer(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # a restart binds the port again at once, despite connections in TIME_WAIT
    daemon_threads = True  # an idle kept connection does not hold up the exit; stop() ends them

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.receiver = receiver
        super().__init__(address, _Connection)


class _Connection(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.receiver.serve(self.request, _peer(self.client_address))


class Receiver:
    """Takes the Forward protocol on ``host``:``port`` and appends the events to ``out``.

    ``start()`` listens and serves on threads of its own; ``stop()`` stops accepting, waits for the
    write under way and closes every connection; ``run()`` does both around SIGTERM or SIGINT.
    """

    def __init__(self, host: str, port: int, out: Path = DEFAULT_OUT) -> None:
        self.host, self.port = host, port
        self.file = EventFile(out)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._stopping = False
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return _peer((self.host, self.port))

    def start(self) -> Receiver:
        try:
            self.file.open()
        except OSError as error:
            raise EnvironmentProblem(
                f"events receive: cannot write {self.file.path}: {error.strerror or error}"
            ) from None
        try:
            self._server = _Server((self.host, self.port), self)
        except OSError as error:
            self.file.close()
            reason = error.strerror or str(error)
            if error.errno == errno.EADDRINUSE:
                reason += " (by another receiver, or the collector's own Forward input)"
            raise EnvironmentProblem(f"events receive: cannot listen on {self.address}: {reason}") from None
        self.port = self._server.server_address[1]  # the port chosen when 0 was asked for
        self._thread = threading.Thread(target=self._server.serve_forever, name="events-receive", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()  # no more connections taken
        if self._thread is not None:
            self._thread.join()
        server.server_close()
        self.file.close()
        with self._lock:
            self._stopping = True  # a connection accepted just before shutdown() ends at once
            connections = dict(self._connections)
        for connection in connections:
            # Reading ends, so each connection's thread leaves; an ack of a write just done still goes out.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)
        for thread in connections.values():
            thread.join(timeout)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self) -> None:
        """Receive until SIGTERM or SIGINT, then stop; the main thread's, as a service's main loop."""
        wake_read, wake_write = os.pipe()
        # Only a write() in the handler: it may run between any two steps of the main thread, locks held.
        previous = {number: signal.signal(number, lambda *_: os.write(wake_write, b".")) for number in _STOP_SIGNALS}
        try:
            self.start()
            say(f"listening on {self.address}, writing {self.file.path}")
            os.read(wake_read, 1)
        finally:
            self.stop()
            for number, handler in previous.items():
                signal.signal(number, handler)
            os.close(wake_read)
            os.close(wake_write)
        say(f"stopped; {self.file.written} event(s) written")

    def serve(self, connection: socket.socket, peer: str) -> None:
        """One connection's messages, until it closes, sends no Forward protocol, or the receiver stops."""
        with self._lock:
            if self._stopping:
                return
            self._connections[connection] = threading.current_thread()
        try:
            unpacker = msgpack.Unpacker(raw=False)
            while data := connection.recv(1 << 16):
                try:
                    unpacker.feed(data)
                    messages = list(unpacker)
                except (ValueError, msgpack.UnpackException) as error:  # msgpack's format errors, text not UTF-8
                    say(f"{peer}: not the Forward protocol ({type(error).__name__}: {error}); connection closed")
                    return
                for message in messages:
                    if not self._take(connection, peer, message):
                        return
        except OSError:
            return  # the peer went away: what it sent whole is written, the rest it sends again
        finally:
            with self._lock:
                self._connections.pop(connection, None)

    def _take(self, connection: socket.socket, peer: str, message: Any) -> bool:
        """Write one message's events and acknowledge it; False to close the connection."""
        try:
            tag, records, option = parse_message(message)
        except NotForward as error:
            say(f"{peer}: not the Forward protocol ({error}); connection closed")
            return False
        lines: list[bytes] = []
        skipped: Counter[str] = Counter()
        for record in records:
            line, reason = event_line(tag, record)
            if line is None:
                skipped[reason or ""] += 1
            else:
                lines.append(line)
        for reason, count in skipped.items():
            say(f"{peer} tag {tag}: {count} record(s) skipped, not an event: {reason}")
        if lines:
            try:
                self.file.append(b"".join(lines), len(lines))
            except Closed:
                return False  # stopping: not acknowledged, so the sender sends it again
            except OSError as error:
                say(
                    f"cannot write {self.file.path}: {error.strerror or error}; "
                    f"{len(lines)} event(s) from {peer} not acknowledged, connection closed"
                )
                return False
        if "chunk" in option:
            connection.sendall(msgpack.packb({"ack": option["chunk"]}))
        return True


def receive(listen: str | None = None, out: Path | None = None) -> None:
    """``airgapctl events receive``: run a receiver on ``listen`` (loopback) until SIGTERM or SIGINT."""
    host, port = listen_address(listen or DEFAULT_COLLECTOR)
    Receiver(host, port, out or DEFAULT_OUT).run()
