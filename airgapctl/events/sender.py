"""fluent-logger's FluentSender, made to count a packet as sent only once the collector acknowledged it.

Plain FluentSender writes to the socket and reports success: a collector that restarts loses
what it had not stored, and the sender never knows. The Forward protocol's answer is the
``chunk`` option: the receiver answers ``{"ack": <chunk>}`` once it has taken the packet in.
This subclass asks for that ack on every packet and waits for it, no longer than ``ack_timeout``;
it keeps no buffer of its own (the spool does that, on disk).
"""

from __future__ import annotations

import base64
import os
import threading
import time
from typing import Any

import msgpack
from fluent.sender import EventTime, FluentSender


class NotAcknowledged(OSError):
    """The collector took the connection but did not acknowledge the packet."""


def new_chunk() -> str:
    """A chunk id: unique per packet, as the Forward protocol asks (Fluentd sends base64 of 16 bytes)."""
    return base64.b64encode(os.urandom(16)).decode()


def _event_time(timestamp: Any) -> Any:
    return timestamp if isinstance(timestamp, EventTime) else EventTime(timestamp)


class AckingSender(FluentSender):
    """A FluentSender whose packets carry a chunk id, each sent only when acknowledged.

    ``emit_with_time(tag, time, record)`` sends one event in the Forward protocol's Message mode;
    ``emit_batch(tag, [(time, record), ...])`` sends several of one tag in Forward mode, with
    one ack for all. Both return True only when the collector acknowledged the packet; otherwise
    ``last_error`` says why and the connection is closed, so the next packet starts afresh.
    """

    def __init__(self, host: str, port: int, *, connect_timeout: float = 0.2, ack_timeout: float = 1.0) -> None:
        # No tag prefix: airgapctl's tags are whole (airgap.bundle.verify).
        super().__init__(
            "",
            host=host,
            port=port,
            timeout=ack_timeout,
            nanosecond_precision=True,
            # A record that cannot be packed is a bug to raise, not a stand-in record to send.
            forward_packet_error=False,
        )
        self.connect_timeout = connect_timeout
        self.ack_timeout = ack_timeout
        self._chunk = threading.local()  # the chunk of the packet this thread is sending

    def emit_batch(self, tag: str, entries: list[tuple[float, dict[str, Any]]]) -> bool:
        chunk = new_chunk()
        timed = [(_event_time(when), record) for when, record in entries]
        packet = (tag, timed, {"chunk": chunk, "size": len(entries)})
        self._chunk.value = chunk
        return self._send(msgpack.packb(packet, **self.msgpack_kwargs))

    def connect(self) -> None:
        """Open the connection now, sending nothing (OSError when the collector is not there)."""
        self._reconnect()

    def _make_packet(self, label, timestamp, data):
        tag = f"{self.tag}.{label}" if self.tag and label else (label or self.tag)
        chunk = new_chunk()
        self._chunk.value = chunk
        return msgpack.packb((tag, _event_time(timestamp), data, {"chunk": chunk}), **self.msgpack_kwargs)

    def _send_internal(self, bytes_):
        try:
            self._send_data(bytes_)
            self._await_ack(self._chunk.value)
            return True
        except OSError as error:  # socket errors and timeouts are OSErrors, and so is NotAcknowledged
            self.last_error = error
            self._close()
            return False

    def _send_data(self, bytes_):
        self._reconnect()
        # A connection the collector closed since the last packet shows up here, before sending.
        self._check_recv_side()
        self.socket.sendall(bytes_)
        # Unlike FluentSender, nothing is read after sending but the ack itself.

    def _reconnect(self):
        if self.socket:
            return
        self.timeout = self.connect_timeout
        try:
            super()._reconnect()
        finally:
            self.timeout = self.ack_timeout
        self.socket.settimeout(self.ack_timeout)

    def _await_ack(self, chunk: str) -> None:
        unpacker = msgpack.Unpacker(raw=False)
        deadline = time.monotonic() + self.ack_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotAcknowledged(f"no ack within {self.ack_timeout:g} s")
            self.socket.settimeout(remaining)
            try:
                data = self.socket.recv(4096)
            except TimeoutError:
                raise NotAcknowledged(f"no ack within {self.ack_timeout:g} s") from None
            finally:
                if self.socket is not None:
                    self.socket.settimeout(self.ack_timeout)
            if not data:
                raise NotAcknowledged("the collector closed the connection before acknowledging")
            unpacker.feed(data)
            try:
                answer = next(unpacker)
            except StopIteration:
                continue
            except ValueError as error:  # msgpack's format errors
                raise NotAcknowledged(f"the collector's answer is not msgpack: {error}") from None
            if not isinstance(answer, dict) or answer.get("ack") != chunk:
                raise NotAcknowledged(f"the collector answered {answer!r}, not the ack of chunk {chunk}")
            return
