"""Event delivery against the project's own Forward receiver (tests/forward_receiver.py): acknowledged
or spooled, delivered in order, nothing lost through a collector that is down, dies mid-batch, a spool
cut by a power loss or a full disk; and no event seen twice by a reader of the store."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time

import pytest

from airgapctl.errors import EnvironmentProblem
from airgapctl.events import Emitter, Settings
from airgapctl.events.spool import SPOOL_NAME, Spool, decode
from airgapctl.events.store import read_store
from tests.forward_receiver import ForwardReceiver


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def receiver(tmp_path):
    with ForwardReceiver(tmp_path / "store") as running:
        yield running


def _emitter(tmp_path, address: str, **settings) -> Emitter:
    return Emitter(Settings(collector=address, spool=tmp_path / "spool", host="gw1", **settings))


def _numbers(records) -> list[int]:
    return [record["fields"]["n"] for record in records]


def _stored(tmp_path) -> list[int]:
    return _numbers(read_store(tmp_path / "store").events)


def test_an_acknowledged_event_is_stored_and_nothing_is_spooled(tmp_path, receiver):
    emitter = _emitter(tmp_path, receiver.address)
    outcome = emitter.emit("test.event", {"n": 0})
    assert (outcome.delivered, outcome.spooled) == (True, False)
    assert receiver.records == [outcome.record]
    assert not (tmp_path / "spool" / SPOOL_NAME).exists()


def test_a_collector_restarted_between_events_takes_the_next_one_on_a_new_connection(tmp_path, receiver):
    emitter = _emitter(tmp_path, receiver.address)
    assert emitter.emit("test.event", {"n": 0}).delivered
    receiver.restart()
    assert emitter.emit("test.event", {"n": 1}).delivered
    assert _numbers(receiver.records) == [0, 1]


def test_collector_down_spools_and_is_found_down_once(tmp_path, monkeypatch):
    emitter = _emitter(tmp_path, f"127.0.0.1:{_free_port()}")
    attempts = []
    monkeypatch.setattr(type(emitter.sender), "_reconnect", lambda self: attempts.append(1) or _refuse())
    started = time.monotonic()
    outcomes = [emitter.emit("test.event", {"n": n}) for n in range(20)]
    assert time.monotonic() - started < 1.0
    assert all(o.spooled and not o.delivered for o in outcomes)
    assert len(attempts) == 1  # the first event found it down; the others went to the spool at once
    assert emitter.spool.count() == 20
    assert "Connection refused" in emitter.down_reason


def _refuse():
    raise ConnectionRefusedError(111, "Connection refused")


def test_a_collector_that_never_acks_times_out_and_the_event_is_spooled(tmp_path, receiver):
    receiver.ack = False
    emitter = _emitter(tmp_path, receiver.address, ack_timeout=0.2)
    started = time.monotonic()
    outcome = emitter.emit("test.event", {"n": 0})
    assert 0.2 <= time.monotonic() - started < 1.0
    assert outcome.spooled and "no ack within 0.2 s" in emitter.down_reason


def test_collector_back_delivers_each_once_in_order(tmp_path):
    port = _free_port()
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}", retry_after=0)
    assert all(emitter.emit("test.event", {"n": n}).spooled for n in range(1200))
    with ForwardReceiver(tmp_path / "store", port=port) as receiver:
        result = emitter.flush()
        assert (result.sent, result.pending, result.error, result.damaged) == (1200, 0, None, [])
        assert _numbers(receiver.records) == list(range(1200))
        assert receiver.packets == 3  # Forward mode, 500 a packet, one ack each
        assert emitter.emit("test.event", {"n": 1200}).delivered
    assert _stored(tmp_path) == list(range(1201))
    assert sorted(os.listdir(tmp_path / "spool")) == ["append.lock", "flush.lock"]


def test_the_next_emit_delivers_the_spool_first(tmp_path):
    port = _free_port()
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}", retry_after=0)
    for n in range(3):
        emitter.emit("test.event", {"n": n})
    with ForwardReceiver(tmp_path / "store", port=port) as receiver:
        assert emitter.emit("test.other", {"n": 3}).delivered
        assert _numbers(receiver.records) == [0, 1, 2, 3]
    assert emitter.spool.count() == 0


@pytest.mark.parametrize("stored_before_dying", [True, False])
def test_a_receiver_dying_mid_batch_loses_nothing_and_the_reader_sees_each_once(tmp_path, stored_before_dying):
    port = _free_port()
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}", retry_after=0)
    for n in range(1500):
        emitter.emit("test.event", {"n": n})
    receiver = ForwardReceiver(tmp_path / "store", port=port).start()
    receiver.store_before_dying = stored_before_dying
    receiver.die_after(2)  # reads the second batch, then dies before its ack
    first = emitter.flush()
    assert first.sent == 500 and first.pending == 1000 and first.error.startswith(f"collector {receiver.address}: ")
    receiver.start()
    second = emitter.flush()
    receiver.stop()
    assert (second.sent, second.pending, second.error) == (1000, 0, None)
    held = _numbers(receiver.records)
    assert len(held) == (2000 if stored_before_dying else 1500)  # the batch without its ack, stored twice
    reading = read_store(tmp_path / "store")
    assert _numbers(reading.events) == list(range(1500))
    assert reading.repeats == (500 if stored_before_dying else 0)


def test_a_spool_cut_at_its_tail_delivers_the_intact_prefix_and_reports_the_damage(tmp_path, receiver):
    emitter = _emitter(tmp_path, f"127.0.0.1:{_free_port()}", retry_after=0)
    for n in range(5):
        emitter.emit("test.event", {"n": n})
    spool = tmp_path / "spool" / SPOOL_NAME
    size = spool.stat().st_size
    with open(spool, "r+b") as handle:  # a power loss in the middle of the last record
        handle.truncate(size - 17)
    result = _emitter(tmp_path, receiver.address).flush()
    assert (result.sent, result.pending, result.error) == (4, 0, None)
    [damage] = result.damaged
    assert damage.reason == "cut record at the end of the spool"
    assert damage.offset == size - (size // 5) and os.path.getsize(damage.kept_in) == damage.length
    # The damage is an event of its own, delivered after the intact ones.
    assert _numbers(receiver.records[:4]) == [0, 1, 2, 3]
    assert receiver.records[4]["tag"] == "airgap.events.spool_damaged"
    assert receiver.records[4]["fields"]["damaged_records"] == 1


def test_an_event_appended_after_a_cut_tail_stays_whole(tmp_path, receiver):
    emitter = _emitter(tmp_path, f"127.0.0.1:{_free_port()}", retry_after=60)
    for n in range(3):
        emitter.emit("test.event", {"n": n})
    spool = tmp_path / "spool" / SPOOL_NAME
    with open(spool, "r+b") as handle:
        handle.truncate(spool.stat().st_size - 5)
    emitter.emit("test.event", {"n": 3})  # the collector is still taken as down: appended after the cut
    result = _emitter(tmp_path, receiver.address).flush()
    assert result.sent == 3 and [d.reason for d in result.damaged] == ["cut or corrupt record (checksum mismatch)"]
    assert _numbers(receiver.records[:3]) == [0, 1, 3]


def test_a_garbled_line_inside_the_spool_is_kept_aside_and_the_rest_delivered(tmp_path, receiver):
    emitter = _emitter(tmp_path, f"127.0.0.1:{_free_port()}")
    for n in range(4):
        emitter.emit("test.event", {"n": n})
    spool = tmp_path / "spool" / SPOOL_NAME
    lines = spool.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"n":1', b'"n":7')
    spool.write_bytes(b"".join(lines))
    result = _emitter(tmp_path, receiver.address).flush()
    assert result.sent == 3 and len(result.damaged) == 1
    assert _numbers(receiver.records[:3]) == [0, 2, 3]
    with open(result.damaged[0].kept_in, "rb") as handle:
        kept = handle.read()
    assert kept == lines[1] and decode(kept)[1] == "cut or corrupt record (checksum mismatch)"


def test_delivery_goes_on_from_where_it_stopped(tmp_path):
    """The delivered mark is on disk: a new process does not send again what was acknowledged."""
    port = _free_port()
    emitter = _emitter(tmp_path, f"127.0.0.1:{port}", retry_after=0)
    for n in range(1000):
        emitter.emit("test.event", {"n": n})
    receiver = ForwardReceiver(tmp_path / "store", port=port).start()
    receiver.die_after(2)
    receiver.store_before_dying = False
    assert emitter.flush().sent == 500
    receiver.start()
    assert _emitter(tmp_path, receiver.address).flush().sent == 500
    receiver.stop()
    assert _numbers(receiver.records) == list(range(1000))


def _tmpfs(directory, size: str):
    directory.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=True,
                       capture_output=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"a small tmpfs cannot be mounted here (needs root): {error}")


def test_a_full_disk_is_a_clear_error_and_what_was_spooled_is_kept(tmp_path, receiver):
    spool_dir = tmp_path / "spool"
    _tmpfs(spool_dir, "64k")
    try:
        emitter = _emitter(tmp_path, f"127.0.0.1:{_free_port()}", retry_after=60)
        spooled = []
        with pytest.raises(EnvironmentProblem) as failure:
            for n in range(10_000):
                spooled.append(emitter.emit("test.event", {"n": n, "pad": "x" * 200}).record["id"])
        message = failure.value.message
        assert message.startswith(f"events spool {spool_dir}: event ")
        assert message.endswith("not recorded; the events spooled before it are kept: No space left on device")
        assert len(spooled) > 100
        assert all(decode(line)[1] is None for line in (spool_dir / SPOOL_NAME).read_bytes().splitlines(True))
        assert Spool(spool_dir).count() == len(spooled)
        result = _emitter(tmp_path, receiver.address).flush()
        assert (result.sent, result.pending, result.damaged) == (len(spooled), 0, [])
        assert [r["id"] for r in receiver.records] == spooled
    finally:
        subprocess.run(["umount", str(spool_dir)], check=False)


def test_ten_thousand_events_through_random_restarts_none_lost_none_seen_twice(tmp_path):
    """Receiver restarts and deaths mid-packet at random points while events are emitted and the
    spool delivered: every event is in the store, and the reader gives each exactly once, in order."""
    rng = random.Random(13)
    receiver = ForwardReceiver(tmp_path / "store").start()
    emitter = _emitter(tmp_path, receiver.address, retry_after=0.0, ack_timeout=0.5)
    total, down_for, stops, deaths = 10_000, 0, 0, 0
    for n in range(total):
        emitter.emit("test.event", {"n": n})
        if down_for:
            down_for -= 1
            if not down_for:
                receiver.start()
        elif rng.random() < 0.004:
            receiver.stop()
            down_for, stops = rng.randint(1, 300), stops + 1
        elif rng.random() < 0.003:
            receiver.store_before_dying = rng.random() < 0.5
            receiver.die_after(rng.randint(1, 3))
            deaths += 1
    if down_for:
        receiver.start()
    for _ in range(10):
        if emitter.flush().pending == 0 and not emitter.spool.pending():
            break
        receiver.restart()  # it died on the last packet
    receiver.stop()
    reading = read_store(tmp_path / "store")
    assert _numbers(reading.events) == list(range(total))
    assert reading.repeats == len(receiver.records) - total
    assert stops >= 20 and deaths >= 10 and reading.repeats > 0
    print(f"\n{total} events, {stops} stops, {deaths} deaths mid-packet: {len(receiver.records)} stored, "
          f"{reading.repeats} repeats dropped by the reader")  # fmt: skip


_EMIT_MANY = """
import sys
from pathlib import Path
from airgapctl.events import Emitter, Settings
emitter = Emitter(Settings(collector=sys.argv[1], spool=Path(sys.argv[2]), host=sys.argv[3]))
for n in range(int(sys.argv[4])):
    emitter.emit("test.event", {"n": n})
"""


def test_processes_spooling_at_once_leave_every_line_whole(tmp_path, receiver):
    down = f"127.0.0.1:{_free_port()}"
    writers = [
        subprocess.Popen([sys.executable, "-c", _EMIT_MANY, down, str(tmp_path / "spool"), f"p{k}", "150"])
        for k in range(4)
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0] * 4
    lines = (tmp_path / "spool" / SPOOL_NAME).read_bytes().splitlines(keepends=True)
    assert len(lines) == 600 and all(decode(line)[1] is None for line in lines)
    assert _emitter(tmp_path, receiver.address).flush().sent == 600
    for k in range(4):  # each process's events in its own order
        assert [r["fields"]["n"] for r in receiver.records if r["host"] == f"p{k}"] == list(range(150))
