"""``airgapctl events receive``, the Forward receiver for an rsyslog collector, with airgapctl's own events
library as the client over real sockets: what it acknowledges is in the file, once per event, in order;
nothing is lost when it is killed or the file is rotated; records that are no event and peers that speak
no Forward protocol are turned away with a line on stderr."""

from __future__ import annotations

import errno
import gzip
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgpack
import pytest

from airgapctl import events
from airgapctl.contracts import events as contract
from airgapctl.errors import BadInputError, ExitCode
from airgapctl.events import Emitter, Settings
from airgapctl.events import receiver as receiver_module
from airgapctl.events.receiver import Receiver, listen_address
from tests.unit.test_events_delivery import _free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "collector" / "events.log"


@pytest.fixture
def receiver(out):
    with Receiver("127.0.0.1", 0, out) as running:
        yield running


def _emitter(tmp_path, address: str, spool: str = "spool", **settings) -> Emitter:
    return Emitter(Settings(enabled=True, collector=address, spool=tmp_path / spool, host="gw1", **settings))


def _lines(out: Path) -> list[str]:
    return out.read_text().splitlines(keepends=True) if out.exists() else []


def _records(out: Path) -> list[dict]:
    return [contract.parse_line(line) for line in _lines(out)]


def _numbers(records) -> list[int]:
    return [record["fields"]["n"] for record in records]


def _first_of_each_id(records) -> list[dict]:
    seen: set[str] = set()
    return [record for record in records if not (record["id"] in seen or seen.add(record["id"]))]


class ReceiverProcess:
    """``python -m airgapctl events receive`` on ``port``, its stderr collected line by line."""

    def __init__(self, port: int, out: Path) -> None:
        self.port, self.out = port, out
        self.stderr: list[str] = []
        self.process: subprocess.Popen | None = None

    def start(self) -> ReceiverProcess:
        self.stderr = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airgapctl",
                "events",
                "receive",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--out",
                str(self.out),
            ],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._collect, args=(self.process,), daemon=True).start()
        assert self.wait_for("listening on"), self.stderr
        return self

    def _collect(self, process: subprocess.Popen) -> None:
        for line in process.stderr:
            self.stderr.append(line)

    def wait_for(self, text: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.stderr):
                return True
            time.sleep(0.01)
        return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self, number: int = signal.SIGTERM) -> int:
        self.process.send_signal(number)
        return self.process.wait(timeout=10)


@pytest.fixture
def processes():
    started: list[ReceiverProcess] = []

    def start(port: int, out: Path) -> ReceiverProcess:
        started.append(ReceiverProcess(port, out).start())
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.kill()


def _connect(receiver: Receiver) -> socket.socket:
    return socket.create_connection(("127.0.0.1", receiver.port), timeout=5)


def _answer(connection: socket.socket) -> object:
    """The receiver's next msgpack answer; None when it closed the connection."""
    unpacker = msgpack.Unpacker(raw=False)
    while data := connection.recv(4096):
        unpacker.feed(data)
        for answer in unpacker:
            return answer
    return None


def test_an_emitted_event_lands_in_the_file_as_its_stored_line(tmp_path, out, receiver):
    settings = Settings(enabled=True, collector=receiver.address, spool=tmp_path / "spool", host="gw1")
    outcome = events.emit("bundle.verify", {"name": "site-a", "sequence": 4, "outcome": "accepted"}, settings=settings)
    assert (outcome.delivered, outcome.spooled) == (True, False)
    assert out.read_text() == contract.store_line(outcome.record)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o750
    events.emitter(settings).close()


def test_a_spooled_batch_is_delivered_in_forward_mode_in_order_one_write_a_packet(tmp_path, out, monkeypatch):
    port = _free_port()
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}", retry_after=0)
    records = [emitter.emit("test.event", {"n": n}).record for n in range(1200)]
    assert emitter.spool.count() == 1200
    writes = []
    append = receiver_module.EventFile.append
    monkeypatch.setattr(
        receiver_module.EventFile, "append", lambda self, data, n: writes.append(n) or append(self, data, n)
    )
    with Receiver("127.0.0.1", port, out):
        result = emitter.flush()
        assert (result.sent, result.pending, result.error) == (1200, 0, None)
    emitter.close()
    assert _lines(out) == [contract.store_line(record) for record in records]
    assert writes == [500, 500, 200]  # Forward mode: one packet, one write, one ack per batch


def _event_time(epoch: float) -> msgpack.ExtType:
    return msgpack.ExtType(0, struct.pack(">II", int(epoch), int(epoch % 1 * 1e9)))


def _packed(entries) -> bytes:
    return b"".join(msgpack.packb(entry) for entry in entries)


MODES = {
    "message, EventTime": lambda tag, recs, option: [tag, _event_time(1.5), recs[0], option],
    "message, integer time": lambda tag, recs, option: [tag, 1, recs[0], option],
    "forward": lambda tag, recs, option: [tag, [[_event_time(1.5), r] for r in recs], option],
    "packed forward": lambda tag, recs, option: [tag, _packed([[1, r] for r in recs]), option],
    "compressed packed forward": lambda tag, recs, option: [
        tag,
        gzip.compress(_packed([[_event_time(2.0), r] for r in recs])),
        {**option, "compressed": "gzip"},
    ],
}


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_of_the_forward_protocol_is_written_and_acknowledged(out, receiver, mode):
    count = 1 if mode.startswith("message") else 3
    records = [contract.new_record("test.mode", {"n": n}, "gw1") for n in range(count)]
    with _connect(receiver) as connection:
        connection.sendall(msgpack.packb(MODES[mode]("airgap.test.mode", records, {"chunk": "c1", "size": count})))
        assert _answer(connection) == {"ack": "c1"}
        assert _records(out) == records
        # No chunk asked for (fluent-logger's plain sender): written, nothing answered.
        connection.sendall(msgpack.packb(MODES[mode]("airgap.test.mode", records, {})))
        deadline = time.monotonic() + 5
        while len(_lines(out)) < 2 * count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _records(out) == records * 2


def test_the_ack_comes_only_once_the_line_is_fsynced(tmp_path, out, receiver, monkeypatch, capsys):
    emitter = _emitter(tmp_path, receiver.address, retry_after=0)
    for n in range(20):  # the line is in the file by the time the sender has its ack
        outcome = emitter.emit("test.event", {"n": n})
        assert outcome.delivered and _lines(out)[-1] == contract.store_line(outcome.record)
    real_fsync = os.fsync

    def failing_fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}") == str(out):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    unsynced = emitter.emit("test.event", {"n": 20})
    assert (unsynced.delivered, unsynced.spooled) == (False, True)  # written, not on disk: not acknowledged
    assert f"cannot write {out}: Input/output error; 1 event(s) from 127.0.0.1:" in capsys.readouterr().err
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert emitter.emit("test.event", {"n": 21}).delivered  # the spooled one first, then this
    emitter.close()
    # The unsynced write was cut back off the file, so the one sent again is stored once.
    assert _numbers(_records(out)) == list(range(22))


class FailsMidWrite:
    """A fake os.write for the events file only: the first call writes half of what it is given (a
    full disk's short write), the next fails with ENOSPC; other files are written as usual."""

    def __init__(self, out: Path) -> None:
        self.out, self.calls, self.real = str(out), 0, os.write

    def __call__(self, fd: int, data) -> int:
        if os.readlink(f"/proc/self/fd/{fd}") != self.out:
            return self.real(fd, data)
        self.calls += 1
        if self.calls == 1:
            return self.real(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_half_way_is_cut_back_and_not_acknowledged(tmp_path, out, receiver, monkeypatch, capsys):
    emitter = _emitter(tmp_path, receiver.address, retry_after=0)
    first = emitter.emit("test.event", {"n": 0})
    assert first.delivered
    fake = FailsMidWrite(out)
    monkeypatch.setattr(os, "write", fake)
    cut = emitter.emit("test.event", {"n": 1})
    assert (cut.delivered, cut.spooled, fake.calls) == (False, True, 2)
    assert "No space left on device; 1 event(s) from 127.0.0.1:" in capsys.readouterr().err
    assert out.read_bytes() == contract.store_line(first.record).encode()  # no cut line left behind
    monkeypatch.setattr(os, "write", fake.real)
    third = emitter.emit("test.event", {"n": 2})  # the spooled one first, then this
    emitter.close()
    assert third.delivered
    assert _lines(out) == [contract.store_line(outcome.record) for outcome in (first, cut, third)]


def test_a_receiver_killed_between_events_and_restarted_loses_nothing(tmp_path, out, processes):
    port = _free_port()
    receiver = processes(port, out)
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}", retry_after=0)
    outcomes = [emitter.emit("test.event", {"n": n}) for n in range(50)]
    receiver.kill()
    outcomes += [emitter.emit("test.event", {"n": n}) for n in range(50, 100)]
    assert all(o.spooled for o in outcomes[50:])
    receiver.start()
    outcomes += [emitter.emit("test.event", {"n": n}) for n in range(100, 150)]
    assert all(o.delivered for o in outcomes[100:])  # the spool went first
    emitter.close()
    emitted = [outcome.record for outcome in outcomes]
    stored = _records(out)
    assert all(record in emitted for record in stored)  # repeats, if any, are the same record
    assert _first_of_each_id(stored) == emitted


def test_a_receiver_killed_while_events_stream_in_loses_nothing_and_repeats_only_by_id(tmp_path, out, processes):
    port = _free_port()
    receiver = processes(port, out)
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}", retry_after=0)
    emitted: list[dict] = []
    sending = threading.Thread(
        target=lambda: emitted.extend(emitter.emit("test.event", {"n": n}).record for n in range(600))
    )
    sending.start()
    deadline = time.monotonic() + 30
    while len(_lines(out)) < 150 and time.monotonic() < deadline:
        time.sleep(0.001)
    receiver.kill()
    receiver.start()
    sending.join(timeout=60)
    result = emitter.flush()
    emitter.close()
    assert (result.error, result.pending) == (None, 0)
    stored = _records(out)  # every line whole: none cut by the kill
    assert all(record in emitted for record in stored)
    assert _first_of_each_id(stored) == emitted


def test_a_renamed_or_removed_file_is_created_again_for_the_next_event(tmp_path, out, receiver):
    emitter = _emitter(tmp_path, receiver.address)
    first = emitter.emit("test.event", {"n": 0}).record
    out.rename(out.with_name("events.log.1"))  # as logrotate does, sending no signal
    second = emitter.emit("test.event", {"n": 1}).record
    assert _records(out.with_name("events.log.1")) == [first]
    assert _records(out) == [second]
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    out.unlink()
    third = emitter.emit("test.event", {"n": 2}).record
    emitter.close()
    assert _records(out) == [third]


def test_a_file_ending_in_a_cut_line_gets_the_next_event_on_a_line_of_its_own(tmp_path, out):
    out.parent.mkdir()
    out.write_text('{"v":1,"id":"cut')  # a power loss in the middle of a write
    with Receiver("127.0.0.1", 0, out) as receiver:
        emitter = _emitter(tmp_path, receiver.address)
        record = emitter.emit("test.event", {"n": 0}).record
        emitter.close()
    assert _lines(out) == ['{"v":1,"id":"cut\n', contract.store_line(record)]


def test_records_that_are_no_event_are_skipped_with_a_line_and_the_others_kept(out, receiver, capsys):
    good = [contract.new_record("test.mixed", {"n": n}, "gw1") for n in range(3)]
    no_id = {key: value for key, value in good[0].items() if key != "id"}
    not_json = {**good[0], "fields": {"x": float("nan")}}
    entries = [good[0], no_id, good[1], not_json, "text", good[2]]
    with _connect(receiver) as connection:
        connection.sendall(msgpack.packb(["airgap.test.mixed", [[1, r] for r in entries], {"chunk": "c1"}]))
        assert _answer(connection) == {"ack": "c1"}  # acknowledged: sending it again would change nothing
        assert _records(out) == good
        connection.sendall(msgpack.packb(["other.tag", 1, good[0], {"chunk": "c2"}]))
        assert _answer(connection) == {"ack": "c2"}
        peer = f"127.0.0.1:{connection.getsockname()[1]}"
    assert _records(out) == good
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"events receive: {peer} tag airgap.test.mixed: 1 record(s) skipped, not an event: missing id",
        f"events receive: {peer} tag airgap.test.mixed: 1 record(s) skipped, not an event: "
        "not JSON values: Out of range float values are not JSON compliant",
        f"events receive: {peer} tag airgap.test.mixed: 1 record(s) skipped, not an event: not a JSON object",
        f"events receive: {peer} tag other.tag: 1 record(s) skipped, not an event: tag not under airgap.",
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an array [tag, ...]"),
        (msgpack.packb({"tag": "airgap.x"}), "not an array [tag, ...]"),
        (msgpack.packb(["airgap.x", "later", {}]), "the second element is no time"),
        (msgpack.packb(["airgap.x", [[1]], {}]), "an entry is not [time, record]"),
        (msgpack.packb(["airgap.x", b"\x93\x01", {}]), "the packed entries end in the middle of one"),
        (msgpack.packb(["airgap.x", b"not gzip", {"compressed": "gzip"}]), "the compressed entries are not gzip"),
        (b"\xc1", "not the Forward protocol (FormatError"),
    ],
)
def test_a_peer_speaking_no_forward_protocol_is_disconnected(tmp_path, out, receiver, capsys, data, reason):
    with _connect(receiver) as connection:
        connection.sendall(data)
        assert _answer(connection) is None
    err = capsys.readouterr().err
    assert err.startswith("events receive: 127.0.0.1:") and "connection closed" in err and reason in err
    assert len(err.splitlines()) == 1
    emitter = _emitter(tmp_path, receiver.address)
    assert emitter.emit("test.event", {"n": 0}).delivered  # the others are served still
    emitter.close()
    assert len(_lines(out)) == 1


@pytest.mark.parametrize("listen", ["10.0.0.1:24224", "0.0.0.0:24224", "[::]:24224", "localhost:24224", "unix:///x"])
def test_a_listen_address_off_loopback_is_refused_in_one_line(cli, out, listen):
    result = cli("events", "receive", "--listen", listen, "--out", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    [line] = result.stderr.splitlines()
    assert line.startswith(f"airgapctl: error: --listen {listen}") or line.startswith(
        f"airgapctl: error: --listen '{listen}'"
    )
    assert line.endswith("give a loopback address and port, such as 127.0.0.1:24224 or [::1]:24224")
    assert not out.parent.exists()


def test_loopback_addresses_are_taken():
    assert listen_address("127.0.0.1:24224") == ("127.0.0.1", 24224)
    assert listen_address("127.3.2.1:1") == ("127.3.2.1", 1)
    assert listen_address("[::1]:24224") == ("::1", 24224)
    with pytest.raises(BadInputError):
        listen_address("127.0.0.1:0")


def test_a_port_in_use_is_one_line_and_exit_3(cli, out):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("events", "receive", "--listen", f"127.0.0.1:{port}", "--out", str(out))
    assert result.exit_code == ExitCode.ENVIRONMENT == 3
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"airgapctl: error: events receive: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_or_sigint_stops_it_with_exit_0_though_a_connection_is_open(tmp_path, out, processes, number):
    port = _free_port()
    receiver = processes(port, out)
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}")
    assert emitter.emit("test.event", {"n": 0}).delivered  # the emitter keeps its connection open
    assert receiver.terminate(number) == 0
    assert receiver.wait_for("events receive: stopped; 1 event(s) written")
    emitter.close()
    assert receiver.stderr[0] == f"events receive: listening on 127.0.0.1:{port}, writing {out}\n"


def test_2000_events_from_4_threads_land_exactly_once(tmp_path, out, receiver):
    emitters = [_emitter(tmp_path, receiver.address, spool=f"spool{number}") for number in range(4)]
    outcomes: list[list[events.Outcome]] = [[] for _ in emitters]

    def send(number: int) -> None:
        outcomes[number] += [emitters[number].emit("test.event", {"t": number, "n": n}) for n in range(500)]

    threads = [threading.Thread(target=send, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for emitter in emitters:
        emitter.close()
    assert all(outcome.delivered for each in outcomes for outcome in each)  # no ack lost
    stored = _records(out)
    assert len(stored) == 2000 and len({record["id"] for record in stored}) == 2000
    for number in range(4):  # each sender's events in its order
        mine = [record for record in stored if record["fields"]["t"] == number]
        assert mine == [outcome.record for outcome in outcomes[number]]
    assert json.loads(_lines(out)[0]) == stored[0]
