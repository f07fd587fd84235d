"""Logging on the appliance, measured on loopback and local files. Each part is a function; main() runs those asked for.

events: events/s emitted through airgapctl.events with the collector up (each event acknowledged
before the next) and down (each event appended to the spool and fsync'd), then the rate at which
that spool is delivered once the collector is back (batches of 500, one acknowledgement each),
side by side with fluent-logger's plain FluentSender, which waits for no acknowledgement, sending
to the same receiver. The receiver is the project's own Forward receiver (tests/forward_receiver.py,
a stand-in for Fluentd's in_forward) in a process of its own, storing JSON lines as the store does;
the spool is on /var/tmp, a real disk.

rsyslog: whether the store's collector keeps up with the gateway. The logging role's
rsyslog-airgap.conf.j2 is rendered with the role's defaults and vars, only the paths (and the store's
group) moved into a directory on /var/tmp, included from a main file that sets rsyslog's work
directory as Debian's /etc/rsyslog.conf includes /etc/rsyslog.d, and run by its own rsyslogd
(``rsyslogd -n -f``, stopped by its pid; a system rsyslog is left alone). A writer appends simulated
access-log lines (log_analysis.simulate, each given its own request_id) to the gateway log as NGINX's
buffered access log does (64 KiB writes, a partial buffer after a second): paced at --rate lines/s
for --rsyslog-seconds, then --rsyslog-burst lines as fast as it can. Halfway through each, the log is
renamed to access.log.1 and, 0.1 s later (logrotate's postrotate signalling NGINX), a new one is
started. Printed per mode: the rate offered; the rate stored (lines in the store, from the first
write until the last line is in); the lag from a line's write until the store's size passes it (every
100th line); and whether the store holds every line written, once, byte for byte and in order (count,
distinct lines, a digest of the line set, a digest of the bytes). The reference is the same writer
with no collector, unpaced.

    .venv/bin/python -m benchmarks.logging [--parts events,rsyslog] [--events 5000]
        [--rate 30000] [--rsyslog-seconds 15] [--rsyslog-burst 2000000]
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from fluent.sender import FluentSender

from airgapctl.errors import BadInputError
from airgapctl.events import Emitter, Settings
from airgapctl.events.store import read_store
from log_analysis.simulate import SimulationOptions, simulate
from tests.integration.gateway import policy_builder as pb

FIELDS = {"name": "site-a", "sequence": 7, "outcome": "accepted", "files": 412, "bytes": 734003200}


@dataclass
class Row:
    part: str
    mode: str
    events: int
    seconds: float
    note: str = ""
    reference: bool = False  # the figure this part's other rows are compared with

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
    return Row("events", "plain FluentSender, no ack", count, seconds, f"{stored} stored", reference=True)


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


# --- rsyslog: the role's rendered configuration tailing a paced access log into the store

ROLE = Path(__file__).resolve().parents[1] / "roles" / "logging"
# NGINX's buffered access log as the gateway role deploys it (buffer=64k flush=1s).
NGINX_BUFFER = 64 * 1024
NGINX_FLUSH = 1.0
# Between logrotate's rename and NGINX reopening on USR1, workers still write into the renamed file.
REOPEN_AFTER = 0.1
# The unpaced mode's lines (about 1.1 GB): about 10 s of rsyslog's work on 2 CPUs.
UNPACED_LINES = 2_000_000
SAMPLE_EVERY = 100  # lines between lag samples
POLL = 0.002  # seconds between looks at the store's size
STALL = 10.0  # seconds without the store growing before the missing lines are given up on
# Requests/s benchmarks/gateway_overhead.py measured for served GETs on a 2-CPU machine (first GET at 200
# operations about 28,000, the bare NGINX proxy about 30,000): the most the gateway logs, rounded up.
# Its 404s reached 60,000, but no real stream is made only of refusals.
GATEWAY_RATE = 30_000
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
RSYSLOG_HINT = "rsyslogd is not installed: apt-get install rsyslog"


def _comment(text: str) -> str:
    """Ansible's ``comment`` filter, plain style."""
    return "#\n" + "\n".join(f"# {line}" if line else "#" for line in text.splitlines()) + "\n#"


def render_store_conf(work: Path) -> Path:
    """The role's rsyslog file with its own defaults and vars, the paths moved into ``work``."""
    variables: dict[str, Any] = {}
    for part in ("defaults", "vars"):
        variables |= yaml.safe_load((ROLE / part / "main.yml").read_text())
    variables |= {
        "logging_store_dir": str(work / "store"),
        "logging_gateway_log": str(work / "gateway" / "access.log"),
        "logging_events_inbox": str(work / "events" / "events.log"),
        "logging_state_dir": str(work / "state"),
        "logging_store_group": grp.getgrgid(os.getgid()).gr_name,
        "ansible_managed": "Ansible managed",
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,  # as Ansible's template module renders
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - an rsyslog configuration, not HTML
    )
    environment.filters["comment"] = _comment
    # The store's own rsyslog instance runs this file alone, its work directory below the state.
    (work / "state" / "rsyslog").mkdir(parents=True, exist_ok=True)
    main = work / "rsyslog.conf"
    main.write_text(environment.get_template("rsyslog-airgap.conf.j2").render(variables))
    return main


def line_pool(work: Path) -> list[tuple[bytes, bytes]]:
    """Simulated access-log lines, cut around the request_id, which the writer numbers so each line is unique."""
    options = SimulationOptions(work / "simulated", days=1, train_days=0, requests_per_day=50_000)
    simulated = simulate(pb.large_policy(200), options)
    marker = b'"request_id":"'
    pool = []
    for line in Path(simulated.audit_files[0]).read_bytes().splitlines(keepends=True):
        cut = line.index(marker) + len(marker)
        pool.append((line[:cut], line[cut + 32 :]))
    shutil.rmtree(work / "simulated")
    return pool


@dataclass
class Written:
    lines: int
    started: float
    seconds: float  # first write to last
    after_rename: int = 0  # lines NGINX would still write into the renamed file


class GatewayLog:
    """The gateway's access log as NGINX writes it: lines gathered up to 64 KiB, written in one call,
    a partial buffer once its first line is a second old; reopened after logrotate renames it."""

    def __init__(self, path: Path, pool: list[tuple[bytes, bytes]], tag: int) -> None:
        self.path, self.pool, self.tag = path, pool, tag
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.offset = 0  # bytes written, over every file
        self.samples: list[tuple[int, float]] = []  # (offset after a sampled line, when it was written)

    def line(self, number: int) -> bytes:
        head, tail = self.pool[number % len(self.pool)]
        return b"%s%08x%024x%s" % (head, self.tag, number, tail)

    def close(self) -> None:
        os.close(self.fd)

    def reopen(self) -> None:
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def write(self, first: int, count: int, rate: float | None, rotate_at: int = -1) -> Written:
        """Lines ``first``.. at ``rate`` lines/s (None: as fast as it can); renamed to .1 before line ``rotate_at``."""
        parts: list[bytes] = []
        pending: list[int] = []
        buffered, since, renamed, after_rename = 0, 0.0, 0.0, 0
        number, end = first, first + count
        started = time.monotonic()

        def flush() -> None:
            nonlocal parts, pending, buffered, renamed
            now = time.monotonic()
            self.samples += [(offset, now) for offset in pending]
            data = memoryview(b"".join(parts))
            while data:
                data = data[os.write(self.fd, data) :]
            self.offset += buffered
            parts, pending, buffered = [], [], 0

        def reopen_when_due() -> None:
            # NGINX on USR1: what is buffered goes to the renamed file, then the new one is opened.
            nonlocal renamed
            if renamed and time.monotonic() - renamed >= REOPEN_AFTER:
                if parts:
                    flush()
                self.reopen()
                renamed = 0.0

        while number < end:
            now = time.monotonic()
            due = end if rate is None else min(end, first + int((now - started) * rate) + 1)
            while number < due:
                if number == rotate_at:
                    os.rename(self.path, self.path.with_name(self.path.name + ".1"))
                    renamed = time.monotonic()
                line = self.line(number)
                if buffered + len(line) > NGINX_BUFFER:
                    flush()
                    reopen_when_due()
                if not parts:
                    since = now
                parts.append(line)
                buffered += len(line)
                if renamed:
                    after_rename += 1
                if (number - first) % SAMPLE_EVERY == 0:
                    pending.append(self.offset + buffered)
                number += 1
            if parts and (number >= end or time.monotonic() - since >= NGINX_FLUSH):
                flush()
            reopen_when_due()
            if number < end:
                time.sleep(0.001)
        ended = time.monotonic()
        if renamed:  # done before NGINX would have reopened
            time.sleep(max(0.0, renamed + REOPEN_AFTER - ended))
            self.reopen()
        return Written(count, started, ended - started, after_rename)


class StoreWatch(threading.Thread):
    """Polls the size of a stream's store files; a sampled line is stored once the size passes its offset
    (rsyslog writes one input's lines in order, each as written)."""

    def __init__(self, directory: Path, log: GatewayLog) -> None:
        super().__init__(daemon=True)
        self.directory, self.log = directory, log
        self.lags: list[float] = []
        self.size, self.grown = 0, time.monotonic()
        self.done = threading.Event()

    def stored_bytes(self) -> int:
        try:
            return sum(entry.stat().st_size for entry in os.scandir(self.directory))
        except FileNotFoundError:  # the directory appears with the first line
            return 0

    def run(self) -> None:
        while not self.done.is_set():
            size, now = self.stored_bytes(), time.monotonic()
            if size != self.size:
                self.size, self.grown = size, now
            samples = self.log.samples
            while len(self.lags) < len(samples) and samples[len(self.lags)][0] <= size:
                self.lags.append(now - samples[len(self.lags)][1])
            time.sleep(POLL)

    def wait_for(self, size: int) -> float:
        """When the store held ``size`` bytes (or last grew, when it stalls short of them)."""
        while self.size < size and time.monotonic() - self.grown < STALL:
            time.sleep(POLL)
        return self.grown


@dataclass
class LineSet:
    lines: int
    distinct: int
    digest: str  # sum of each line's BLAKE2b, so equal for the same lines in any order
    data_sha256: str  # of the bytes in order


def line_set(paths: list[Path]) -> LineSet:
    lines, total, seen, whole = 0, 0, set(), hashlib.sha256()
    for path in paths:
        with path.open("rb") as stream:
            for line in stream:
                whole.update(line)
                digest = hashlib.blake2b(line, digest_size=16).digest()
                seen.add(digest)
                total += int.from_bytes(digest)
                lines += 1
    return LineSet(lines, len(seen), f"{total % (1 << 128):032x}", whole.hexdigest())


@contextmanager
def rsyslogd(work: Path, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """rsyslogd in the foreground on ``config``; stopped by its own pid."""
    checked = subprocess.run([RSYSLOGD, "-N1", "-f", str(config)], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        sys.exit(f"rsyslogd -N1 refused {config}: {checked.stderr.strip() or checked.stdout.strip()}")
    output = (work / "rsyslogd.out").open("wb")
    pid_file = work / "rsyslogd.pid"
    process = subprocess.Popen(
        [RSYSLOGD, "-n", "-f", str(config), "-i", str(pid_file)], stdout=output, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while not pid_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if process.poll() is not None or not pid_file.exists():
            sys.exit(f"rsyslogd did not start: {(work / 'rsyslogd.out').read_text()[-2000:]}")
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        output.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def rsyslog_mode(
    work: Path, pool: list[tuple[bytes, bytes]], mode: str, count: int, rate: float | None, tag: int
) -> list[Row]:
    """One run: rsyslogd on the rendered configuration, the writer at ``rate``, a rotation halfway."""
    os.sync()  # the runs before leave no dirty pages for this one to write back
    work.mkdir()
    for directory in ("gateway", "events", "state", "store/gateway", "store/events"):
        (work / directory).mkdir(parents=True)
    for stream in ("store", "store/gateway", "store/events"):
        (work / stream).chmod(0o2750)  # as the role creates the store, before rsyslog runs
    config = render_store_conf(work)
    (work / "events" / "events.log").touch()  # as the role creates the inbox
    log = GatewayLog(work / "gateway" / "access.log", pool, tag)
    with rsyslogd(work, config) as process:
        watch = StoreWatch(work / "store" / "gateway", log)
        # One line first, so the timed lines find imfile watching and the store's files open.
        log.write(0, 1, None)
        log.samples.clear()
        watch.start()
        watch.wait_for(log.offset)
        if watch.size < log.offset:
            sys.exit(f"rsyslog stored no line: {(work / 'rsyslogd.out').read_text()[-2000:]}")
        cpu_before = cpu_seconds(process.pid)
        written = log.write(1, count, rate, rotate_at=1 + count // 2)
        stored_at = watch.wait_for(log.offset)
        cpu = cpu_seconds(process.pid) - cpu_before
        watch.done.set()
        watch.join()
    log.close()
    raw = line_set([work / "gateway" / "access.log.1", work / "gateway" / "access.log"])
    store = line_set(sorted((work / "store" / "gateway").glob("*.log")))
    stored_lines = store.lines - 1  # the warm-up line
    seconds = stored_at - written.started
    lost, sampled = len(log.samples) - len(watch.lags), watch.lags
    same = (raw.lines, raw.digest) == (store.lines, store.digest) and store.distinct == store.lines
    verdict = "every line once, byte-identical, in order" if same else f"NOT the lines written: {raw} vs {store}"
    if same and raw.data_sha256 != store.data_sha256:
        verdict = "every line once, byte-identical, NOT in order"
    lag = f"lag p50 {_ms(sampled, 0.5):.0f} p99 {_ms(sampled, 0.99):.0f} max {_ms(sampled, 1.0):.0f} ms"
    if lost:
        lag += f" ({lost} samples never stored)"
    events = sum(path.stat().st_size for path in (work / "store").glob("events/*.log"))
    shutil.rmtree(work)
    return [
        Row("rsyslog", f"{mode}: offered", written.lines, written.seconds,
            f"rotated at line {1 + count // 2}, {written.after_rename} lines into the renamed file"),
        Row("rsyslog", f"{mode}: stored", stored_lines, seconds,
            f"{stored_lines / written.lines * written.seconds / seconds:.2f}x offered; {lag}; {verdict}; "
            f"rsyslogd {cpu / seconds:.0%} CPU" + (f"; {events} bytes in events/" if events else "")),
    ]  # fmt: skip


def raw_writer(work: Path, pool: list[tuple[bytes, bytes]], count: int) -> Row:
    """The same writer, no collector: the rate it can offer."""
    os.sync()
    (work / "gateway").mkdir(parents=True)
    log = GatewayLog(work / "gateway" / "access.log", pool, tag=0)
    written = log.write(0, count, None, rotate_at=count // 2)
    log.close()
    shutil.rmtree(work)
    note = f"unpaced, 64 KiB writes, rotated at line {count // 2}"
    return Row("rsyslog", "raw writer, no collector", written.lines, written.seconds, note, reference=True)


def run_rsyslog(args: argparse.Namespace) -> list[Row]:
    if not Path(RSYSLOGD).exists():
        sys.exit(RSYSLOG_HINT)
    work = Path(tempfile.mkdtemp(prefix="airgap-bench-rsyslog-", dir="/var/tmp"))
    try:
        pool = line_pool(work)
        paced = int(args.rate * args.rsyslog_seconds)
        burst = args.rsyslog_burst
        return [
            raw_writer(work / "raw", pool, max(paced, burst)),
            *rsyslog_mode(work / "paced", pool, f"paced {args.rate:,.0f}/s", paced, args.rate, tag=1),
            *rsyslog_mode(work / "unpaced", pool, "unpaced", burst, None, tag=2),
        ]
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


# Each part's unit and what its reference row is called in the ratio column.
UNITS = {"events": ("events", "plain"), "rsyslog": ("lines", "raw")}


def print_rows(rows: list[Row]) -> None:
    """One table per part, each row's rate against the part's reference row."""
    for part in dict.fromkeys(row.part for row in rows):
        own = [row for row in rows if row.part == part]
        unit, against = UNITS[part]
        reference = next((row.rate for row in own if row.reference), None)
        width = max(len(row.mode) for row in own)
        print(f"{'part':<8} {'mode':<{width}} {unit:>9} {'seconds':>8} {unit + '/s':>10} {'vs ' + against:>8}  note")
        for row in own:
            ratio = f"{row.rate / reference:.2f}x" if reference else "-"
            figures = f"{row.events:>9} {row.seconds:>8.2f} {row.rate:>10,.0f} {ratio:>8}"
            print(f"{row.part:<8} {row.mode:<{width}} {figures}  {row.note}")
        print()


PARTS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "events": lambda args: run_events(args.events),
    "rsyslog": run_rsyslog,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--events", type=int, default=5000, help="events per mode (events part)")
    parser.add_argument(
        "--rate", type=float, default=GATEWAY_RATE, help="access-log lines/s offered in the paced mode (rsyslog part)"
    )
    parser.add_argument("--rsyslog-seconds", type=float, default=15.0, help="length of the paced mode (rsyslog part)")
    parser.add_argument(
        "--rsyslog-burst", type=int, default=UNPACED_LINES, help="lines the unpaced mode writes (rsyslog part)"
    )
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for part in args.parts.split(","):
        rows += PARTS[part.strip()](args)
    print_rows(rows)


if __name__ == "__main__":
    main()
