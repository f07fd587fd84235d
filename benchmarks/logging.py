"""Logging on the appliance, measured on loopback. Each part is a function; main() runs those asked for.

events: events/s emitted through airgapctl.events with the collector up (each event acknowledged
before the next) and down (each event appended to the spool and fsync'd), then the rate at which
that spool is delivered once the collector is back (batches of 500, one acknowledgement each),
side by side with fluent-logger's plain FluentSender, which waits for no acknowledgement, sending
to the same receiver. The receiver is the project's own Forward receiver (tests/forward_receiver.py,
a stand-in for Fluentd's in_forward) in a process of its own, storing JSON lines as the store does;
the spool is on /var/tmp, a real disk.

    .venv/bin/python -m benchmarks.logging [--parts events] [--events 5000]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fluent.sender import FluentSender

from airgapctl.errors import BadInputError
from airgapctl.events import Emitter, Settings
from airgapctl.events.store import read_store

FIELDS = {"name": "site-a", "sequence": 7, "outcome": "accepted", "files": 412, "bytes": 734003200}


@dataclass
class Row:
    part: str
    mode: str
    events: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


@contextmanager
def receiver(store: Path) -> Iterator[str]:
    """The Forward receiver in its own process (not competing with the sender for one interpreter)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.forward_receiver", "--store", str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def _free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _wait_stored(store: Path, count: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stored = read_store(store)
        except BadInputError:  # the directory appears with the first line
            stored = None
        if stored is not None and len(stored.events) >= count:
            return len(stored.events)
        time.sleep(0.05)
    return len(read_store(store).events)


def events_plain_fluentsender(count: int, work: Path) -> Row:
    """fluent-logger's own sender: written to the socket, no acknowledgement awaited."""
    store = work / "plain-store"
    with receiver(store) as address:
        host, port = address.rsplit(":", 1)
        sender = FluentSender("airgap", host=host, port=int(port), nanosecond_precision=True)

        def send() -> None:
            for number in range(count):
                sender.emit("bench.plain", {"n": number, **FIELDS})

        seconds = _timed(send)
        sender.close()
        stored = _wait_stored_raw(store, count)
    return Row("events", "plain FluentSender, no ack", count, seconds, f"{stored} stored")


def _wait_stored_raw(store: Path, count: int, timeout: float = 30.0) -> int:
    """Lines in the store (plain FluentSender's records are not airgapctl events)."""
    log = store / "events" / "events.log"
    deadline = time.monotonic() + timeout
    lines = 0
    while time.monotonic() < deadline:
        lines = log.read_bytes().count(b"\n") if log.exists() else 0
        if lines >= count:
            break
        time.sleep(0.05)
    return lines


def events_acked(count: int, work: Path) -> Row:
    store = work / "acked-store"
    with receiver(store) as address:
        emitter = Emitter(Settings(collector=address, spool=work / "acked-spool"))

        def send() -> None:
            for number in range(count):
                assert emitter.emit("bench.acked", {"n": number, **FIELDS}).delivered

        seconds = _timed(send)
        emitter.close()
        stored = _wait_stored(store, count)
    return Row("events", "airgapctl, collector up (acked)", count, seconds, f"{stored} stored")


def events_spooled_then_flushed(count: int, work: Path) -> list[Row]:
    spool = work / "down-spool"
    emitter = Emitter(Settings(collector=_free_address(), spool=spool))

    def send() -> None:
        for number in range(count):
            assert emitter.emit("bench.down", {"n": number, **FIELDS}).spooled

    seconds = _timed(send)
    spooled = Row(
        "events",
        "airgapctl, collector down (spooled, fsync'd)",
        count,
        seconds,
        f"{emitter.spool.count()} in the spool",
    )
    store = work / "flush-store"
    with receiver(store) as address:
        later = Emitter(Settings(collector=address, spool=spool))
        result = None

        def deliver() -> None:
            nonlocal result
            result = later.flush()

        flush_seconds = _timed(deliver)
        stored = _wait_stored(store, count)
    assert result is not None and result.sent == count, result
    flushed = Row("events", "airgapctl, spool delivered (flush)", count, flush_seconds, f"{stored} stored")
    return [spooled, flushed]


def run_events(count: int) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="airgap-bench-events-", dir="/var/tmp"))
    try:
        return [
            events_plain_fluentsender(count, work),
            events_acked(count, work),
            *events_spooled_then_flushed(count, work),
        ]
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


def print_rows(rows: list[Row]) -> None:
    reference = next((row.rate for row in rows if row.mode.startswith("plain")), None)
    width = max(len(row.mode) for row in rows)
    print(f"{'part':<8} {'mode':<{width}} {'events':>7} {'seconds':>8} {'events/s':>9} {'vs plain':>8}  note")
    for row in rows:
        ratio = f"{row.rate / reference:.2f}x" if reference else "-"
        figures = f"{row.events:>7} {row.seconds:>8.2f} {row.rate:>9,.0f} {ratio:>8}"
        print(f"{row.part:<8} {row.mode:<{width}} {figures}  {row.note}")


PARTS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "events": lambda args: run_events(args.events),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--events", type=int, default=5000, help="events per mode (events part)")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for part in args.parts.split(","):
        rows += PARTS[part.strip()](args)
    print_rows(rows)


if __name__ == "__main__":
    main()
