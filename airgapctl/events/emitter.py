"""Emit events to the collector, acknowledged, or into the spool; deliver the spool in order.

An event goes straight to the collector only when the spool is empty, so nothing overtakes what
waits there. A collector that failed once (refused, timed out, did not ack) is taken as down for
``retry_after`` seconds: later events of the same process go to the spool without waiting again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from airgapctl.contracts import events as contract
from airgapctl.events.sender import AckingSender, NotAcknowledged
from airgapctl.events.settings import Settings
from airgapctl.events.spool import Damage, Entry, Spool

# Per Forward packet when delivering the spool: one ack each.
BATCH_RECORDS = 500
BATCH_BYTES = 1 << 20


@dataclass
class Outcome:
    """What became of one emitted event: acknowledged by the collector, or kept in the spool."""

    record: dict[str, Any]
    delivered: bool
    spooled: bool
    warnings: list[str] = field(default_factory=list)


@dataclass
class FlushResult:
    """One round of delivering the spool."""

    spool: str
    collector: str
    sent: int = 0  # events acknowledged in this round
    pending: int = 0  # lines left in the spool
    damaged: list[Damage] = field(default_factory=list)
    error: str | None = None  # why delivery stopped before the end
    busy: bool = False  # another process was delivering the spool


def damage_warnings(result: FlushResult) -> list[str]:
    return [
        f"events spool {result.spool}: {damage.length} bytes at byte {damage.offset} hold no intact event "
        f"({damage.reason}); kept in {damage.kept_in}"
        for damage in result.damaged
    ]


def _runs(entries: list[Entry]) -> list[list[Entry]]:
    """Consecutive entries of one tag (one Forward packet each), damaged lines in runs of their own."""
    runs: list[list[Entry]] = []
    for entry in entries:
        key = entry.record["tag"] if entry.record is not None else None
        last = runs[-1][0] if runs else None
        if last is not None and (last.record["tag"] if last.record is not None else None) == key:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


class Emitter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.spool = Spool(settings.spool)
        self._sender: AckingSender | None = None
        self._down_until = 0.0
        self.down_reason: str | None = None
        self._lock = threading.Lock()

    @property
    def sender(self) -> AckingSender:
        if self._sender is None:
            host, port = self.settings.address
            self._sender = AckingSender(
                host, port, connect_timeout=self.settings.connect_timeout, ack_timeout=self.settings.ack_timeout
            )
        return self._sender

    def collector_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _mark_down(self, error: BaseException | None) -> None:
        self.down_reason = f"collector {self.settings.collector}: {getattr(error, 'strerror', None) or error}"
        self._down_until = time.monotonic() + self.settings.retry_after

    def _reachable(self) -> bool:
        """Whether the collector takes a connection: checked before reading the spool to deliver it."""
        sender = self.sender
        if sender.socket is None:
            try:
                sender.connect()
            except OSError as error:
                self._mark_down(error)
                return False
        return True

    def _send(self, tag: str, entries: list[tuple[float, dict[str, Any]]]) -> bool:
        sender = self.sender
        for _attempt in range(2):
            reused = sender.socket is not None
            if len(entries) == 1:
                acked = sender.emit_with_time(tag, entries[0][0], entries[0][1])
            else:
                acked = sender.emit_batch(tag, entries)
            if acked:
                self._down_until, self.down_reason = 0.0, None
                return True
            if not reused or isinstance(sender.last_error, NotAcknowledged):
                break
            # A kept connection the collector dropped since (a restart) fails before anything is
            # sent: one try on a fresh one. A packet sent and not acknowledged waits in the spool.
        self._mark_down(sender.last_error)
        return False

    def emit(self, tag: str, fields: dict[str, Any] | None = None, *, when: float | None = None) -> Outcome:
        """Send one event, acknowledged, or keep it in the spool; raises EnvironmentProblem only when the
        collector did not take it and the spool could not keep it either."""
        record = contract.new_record(tag, fields, self.settings.host, when)
        with self._lock:
            return self._emit(record, flush_first=True)

    def _emit(self, record: dict[str, Any], flush_first: bool) -> Outcome:
        warnings: list[str] = []
        if flush_first and not self.collector_down() and self.spool.pending() and self._reachable():
            warnings += damage_warnings(self._flush(wait=False, count=False))
        direct = not self.collector_down() and not self.spool.pending()
        if direct and self._send(record["tag"], [(contract.parse_time(record["time"]), record)]):
            return Outcome(record, delivered=True, spooled=False, warnings=warnings)
        self.spool.append(record)
        return Outcome(record, delivered=False, spooled=True, warnings=warnings)

    def flush(self) -> FlushResult:
        """Deliver the spool, in order, waiting for another process delivering it; tried even when
        the collector failed earlier in this process."""
        with self._lock:
            return self._flush(wait=True, count=True)

    def _flush(self, wait: bool, count: bool) -> FlushResult:
        result = FlushResult(spool=str(self.spool.directory), collector=self.settings.collector)
        with self.spool.delivery(wait) as delivery:
            if delivery is None:
                result.busy = True
            else:
                self._deliver(delivery, result)
        if result.damaged:
            self._report_damage(result.damaged)
        if count and (result.error or result.busy):
            result.pending = self.spool.count()
        return result

    def _deliver(self, delivery, result: FlushResult) -> None:
        while entries := delivery.next_entries(BATCH_RECORDS, BATCH_BYTES):
            for run in _runs(entries):
                if run[0].record is None:
                    result.damaged += [delivery.keep_damaged(entry) for entry in run]
                else:
                    batch = [(contract.parse_time(entry.record["time"]), entry.record) for entry in run]
                    if not self._send(run[0].record["tag"], batch):  # type: ignore[index]  # an event's run
                        result.error = self.down_reason
                        return
                    result.sent += len(run)
                delivery.commit(run[-1].end)

    def _report_damage(self, damaged: list[Damage]) -> None:
        """The damage becomes an event of its own, so the store shows it beside the events."""
        fields = {
            "damaged_records": len(damaged),
            "damaged_bytes": sum(damage.length for damage in damaged),
            "reasons": sorted({damage.reason for damage in damaged}),
            "kept_in": [damage.kept_in for damage in damaged],
        }
        self._emit(contract.new_record("events.spool_damaged", fields, self.settings.host), flush_first=False)

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
