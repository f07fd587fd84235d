"""``airgapctl store maintain`` (airgapctl.logstore): compression, retention with its event, the disk
guard's pause and resume, dry runs and wrong options; the library with its free figure and unit
control given, the command through the real entry point with a fake ``systemctl`` on PATH."""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from airgapctl.errors import ExitCode
from airgapctl.events import Settings
from airgapctl.events.spool import SPOOL_NAME, decode
from airgapctl.logstore import compress, maintain, parse_options, retention
from airgapctl.logstore.guard import FLAG_NAME, DiskFree

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
LINES = b"".join(b'{"n":%d,"path":"/v1/items"}\n' % n for n in range(2000))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "store"
    (root / "gateway").mkdir(parents=True)
    (root / "events").mkdir()
    return root


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Events on, to a collector that is not there: every event lands in tmp_path/spool."""
    return Settings(enabled=True, collector=f"127.0.0.1:{_closed_port()}", spool=tmp_path / "spool", host="gw1")


class Units:
    """Stands in for systemctl: records each (action, unit) and fails those listed in ``failing``."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failing = failing

    def __call__(self, action: str, unit: str) -> str | None:
        self.calls.append((action, unit))
        return "Unit not found." if unit in self.failing else None


def _day(store: Path, name: str, content: bytes = LINES, quiet: float = 3600) -> Path:
    path = store / name
    path.write_bytes(content)
    moment = NOW.timestamp() - quiet
    os.utime(path, (moment, moment))
    return path


def _run(store: Path, tmp_path: Path, *, percent: float = 50, control=None, settings=None, held=frozenset(), **given):
    options = parse_options(store=store, state=tmp_path / "state", **given)
    return maintain(
        options,
        now=NOW,
        free=lambda _path: DiskFree(int(percent * 10), 1000),
        control=control if control is not None else Units(),
        settings=settings,
        open_files=lambda: set(held),
    )


def _spooled(settings: Settings) -> list[dict]:
    path = settings.spool / SPOOL_NAME
    if not path.exists():
        return []
    return [decode(line)[0] for line in path.read_bytes().splitlines(keepends=True)]


def _tree(root: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_mode)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# Compression


def test_closed_days_are_compressed_with_their_lines_mode_owner_and_time(store, tmp_path):
    old = _day(store, "gateway/2026-03-08.log")
    os.chmod(old, 0o640)
    os.chown(old, 1234, 5678)
    _day(store, "events/2026-03-09.log", b'{"v":1}\n')
    result = _run(store, tmp_path)
    packed = store / "gateway/2026-03-08.log.gz"
    assert gzip.decompress(packed.read_bytes()) == LINES
    assert gzip.decompress((store / "events/2026-03-09.log.gz").read_bytes()) == b'{"v":1}\n'
    assert not old.exists() and not (store / "events/2026-03-09.log").exists()
    info = packed.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 1234, 5678)
    assert info.st_mtime == NOW.timestamp() - 3600
    assert [(item.source, item.target) for item in result.compressed.files] == [
        ("events/2026-03-09.log", "events/2026-03-09.log.gz"),
        ("gateway/2026-03-08.log", "gateway/2026-03-08.log.gz"),
    ]
    assert result.compressed.files[1].bytes_out == info.st_size < len(LINES)
    assert not list(store.rglob("*.tmp"))


def test_today_recent_days_and_files_still_written_are_left(store, tmp_path):
    today = _day(store, "gateway/2026-03-10.log")
    yesterday = _day(store, "gateway/2026-03-09.log")
    busy = _day(store, "gateway/2026-03-07.log", quiet=300)  # written 5 minutes ago
    held = _day(store, "events/2026-03-06.log")
    inode = (held.stat().st_dev, held.stat().st_ino)
    result = _run(store, tmp_path, compress_after=2, held={inode})
    assert all(path.read_bytes() == LINES for path in (today, yesterday, busy, held))
    assert result.compressed.files == []
    assert {note.path: note.reason for note in result.compressed.skipped} == {
        "events/2026-03-06.log": "open in another process: taken once closed",
        "gateway/2026-03-07.log": "written 5 min ago: taken once quiet for 10 min",
    }


def test_an_existing_gz_of_the_day_is_never_overwritten(store, tmp_path):
    """Fluentd's out_file writes .log.gz itself: the .log of the same day gets the next free name."""
    theirs = gzip.compress(b'{"from":"fluentd"}\n')
    (store / "gateway/2026-03-08.log.gz").write_bytes(theirs)
    (store / "gateway/2026-03-08.log.1.gz").write_bytes(gzip.compress(b'{"older":1}\n'))
    _day(store, "gateway/2026-03-08.log")
    result = _run(store, tmp_path)
    assert (store / "gateway/2026-03-08.log.gz").read_bytes() == theirs
    assert gzip.decompress((store / "gateway/2026-03-08.log.1.gz").read_bytes()) == b'{"older":1}\n'
    assert gzip.decompress((store / "gateway/2026-03-08.log.2.gz").read_bytes()) == LINES
    assert result.compressed.files[0].target == "gateway/2026-03-08.log.2.gz"
    assert not (store / "gateway/2026-03-08.log").exists()


def test_a_link_is_never_taken_for_the_days_archive(store, tmp_path):
    """A symbolic link named like the day's .gz may point out of the store: the .log is compressed
    beside it, and the link stays as it was (an unknown name)."""
    outside = tmp_path / "elsewhere.gz"
    outside.write_bytes(gzip.compress(LINES))
    (store / "gateway/2026-03-08.log.gz").symlink_to(outside)
    _day(store, "gateway/2026-03-08.log")
    result = _run(store, tmp_path)
    assert (store / "gateway/2026-03-08.log.gz").readlink() == outside
    assert gzip.decompress((store / "gateway/2026-03-08.log.1.gz").read_bytes()) == LINES
    assert result.unknown == ["gateway/2026-03-08.log.gz"]


def test_what_an_interrupted_run_left_is_finished_without_a_copy_or_a_loss(store, tmp_path):
    # Stopped while writing: a partial .tmp beside the whole .log.
    _day(store, "gateway/2026-03-07.log")
    (store / "gateway/2026-03-07.log.gz.tmp").write_bytes(gzip.compress(LINES)[:100])
    # Stopped after linking the .gz: the .log is still there, its lines in the .gz.
    _day(store, "events/2026-03-08.log")
    (store / "events/2026-03-08.log.gz").write_bytes(gzip.compress(LINES))
    result = _run(store, tmp_path)
    assert result.compressed.temporaries == ["gateway/2026-03-07.log.gz.tmp"]
    assert gzip.decompress((store / "gateway/2026-03-07.log.gz").read_bytes()) == LINES
    assert sorted(path.name for path in (store / "events").iterdir()) == ["2026-03-08.log.gz"]
    assert [item.already for item in result.compressed.files] == [True, False]
    assert not list(store.rglob("*.tmp"))


def test_a_failed_compression_leaves_the_log_whole(store, tmp_path, monkeypatch):
    log = _day(store, "gateway/2026-03-08.log")
    real_write = compress._write

    def full_disk(source, temporary, before):
        real_write(source, temporary, before)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(compress, "_write", full_disk)
    result = _run(store, tmp_path)
    assert log.read_bytes() == LINES
    assert sorted(path.name for path in (store / "gateway").iterdir()) == ["2026-03-08.log"]
    assert [(note.path, note.reason) for note in result.compressed.failed] == [
        ("gateway/2026-03-08.log", "No space left on device")
    ]
    assert result.problems() == ["cannot compress gateway/2026-03-08.log: No space left on device"]


class Crash(BaseException):
    """A power loss at a chosen step: nothing after it runs, not even the run's own error handling."""


class PerFlushWriter:
    """A fake of a writer that opens the day's .log by path for each flush, as Fluentd's out_file does
    with append: each call appends one line to whatever file the name gives, or a new one. The time
    is set back an hour, so that only open files and the rename, not the quiet period, can tell."""

    def __init__(self, path: Path) -> None:
        self.path, self.lines = path, []

    def __call__(self) -> None:
        line = b'{"flush":%d}\n' % len(self.lines)
        with open(self.path, "ab") as handle:
            handle.write(line)
        self.lines.append(line)
        moment = NOW.timestamp() - 3600
        os.utime(self.path, (moment, moment))


def _lines_of_day(directory: Path, day: str) -> list[bytes]:
    """Every line the store holds for ``day``, in any of its files, plain or compressed."""
    lines = []
    for path in sorted(directory.glob(f"{day}.log*")):
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        lines += data.splitlines(keepends=True)
    return sorted(lines)


def _after_step(monkeypatch, step: int, then) -> None:
    """Call ``then`` right after the ``step``-th directory fsync of the run (each follows a rename,
    link or unlink); the fsync itself is done."""
    real = compress.fsync_directory
    calls = []

    def counted(directory):
        real(directory)
        calls.append(directory)
        if len(calls) == step:
            then()

    monkeypatch.setattr(compress, "fsync_directory", counted)


@pytest.mark.parametrize("step", [1, 2, 3])
def test_a_line_a_per_flush_writer_appends_at_any_step_is_kept_once(store, tmp_path, monkeypatch, step):
    log = _day(store, "gateway/2026-03-08.log")
    writer = PerFlushWriter(log)
    _after_step(monkeypatch, step, writer)
    _run(store, tmp_path)
    assert writer.lines  # the writer did write during the run
    monkeypatch.undo()
    again = _run(store, tmp_path)  # the writer's new .log is closed by now
    assert _lines_of_day(store / "gateway", "2026-03-08") == sorted(LINES.splitlines(keepends=True) + writer.lines)
    assert sorted(path.name for path in (store / "gateway").iterdir()) == ["2026-03-08.log.1.gz", "2026-03-08.log.gz"]
    assert gzip.decompress((store / "gateway/2026-03-08.log.1.gz").read_bytes()) == b"".join(writer.lines)
    assert [item.target for item in again.compressed.files] == ["gateway/2026-03-08.log.1.gz"]


def test_a_line_written_while_open_files_are_looked_at_again_is_kept(store, tmp_path):
    """The look at open files after the rename: a flush then makes a new .log, the renamed one is compressed."""
    log = _day(store, "gateway/2026-03-08.log")
    writer = PerFlushWriter(log)
    calls = []

    def open_files():
        calls.append(1)
        if len(calls) == 2:
            writer()
        return set()

    options = parse_options(store=store, state=tmp_path / "state")
    maintain(options, now=NOW, free=lambda _path: DiskFree(500, 1000), control=Units(), open_files=open_files)
    assert gzip.decompress((store / "gateway/2026-03-08.log.gz").read_bytes()) == LINES
    assert log.read_bytes() == b"".join(writer.lines)


def test_a_day_found_open_once_renamed_gets_its_name_back(store, tmp_path):
    log = _day(store, "gateway/2026-03-08.log")
    inode = (log.stat().st_dev, log.stat().st_ino)
    looks = []

    def open_files():  # opened between the first look and the rename
        looks.append(1)
        return {inode} if len(looks) > 1 else set()

    options = parse_options(store=store, state=tmp_path / "state")
    result = maintain(options, now=NOW, free=lambda _path: DiskFree(500, 1000), control=Units(), open_files=open_files)
    assert log.read_bytes() == LINES and (log.stat().st_dev, log.stat().st_ino) == inode
    assert sorted(path.name for path in (store / "gateway").iterdir()) == ["2026-03-08.log"]
    assert [(note.path, note.reason) for note in result.compressed.skipped] == [
        ("gateway/2026-03-08.log", "open in another process: taken once closed")
    ]


@pytest.mark.parametrize("writer_after", [False, True], ids=["alone", "writer-after"])
@pytest.mark.parametrize("step", [1, 2, 3])
def test_a_crash_at_any_step_loses_and_repeats_no_line(store, tmp_path, monkeypatch, step, writer_after):
    """A power loss after each rename, link and unlink; then, perhaps, a flush of the collector
    (a new .log, or the old one given back); then the runs after it."""
    log = _day(store, "gateway/2026-03-08.log")
    writer = PerFlushWriter(log)

    def crash():
        raise Crash

    _after_step(monkeypatch, step, crash)
    with pytest.raises(Crash):
        _run(store, tmp_path)
    monkeypatch.undo()
    if writer_after:
        writer()
    _run(store, tmp_path)
    _run(store, tmp_path)
    names = sorted(path.name for path in (store / "gateway").iterdir())
    assert all(name.endswith(".gz") for name in names), names
    assert _lines_of_day(store / "gateway", "2026-03-08") == sorted(LINES.splitlines(keepends=True) + writer.lines)


def test_what_a_run_left_renamed_is_finished(store, tmp_path):
    gateway, events = store / "gateway", store / "events"
    # Renamed, then stopped: no new .log, so it gets its name back and is compressed.
    _day(store, "gateway/2026-03-05.log.compressing")
    # Renamed, then a flush made a new .log: the older lines take the first free name.
    _day(store, "gateway/2026-03-06.log.compressing", b'{"older":1}\n')
    _day(store, "gateway/2026-03-06.log", b'{"newer":1}\n')
    # Stopped after the link: its lines are in the .gz.
    _day(store, "events/2026-03-07.log.compressing")
    (events / "2026-03-07.log.gz").write_bytes(gzip.compress(LINES))
    # Stopped while giving it back: the .log is the same file.
    os.link(_day(store, "events/2026-03-08.log"), events / "2026-03-08.log.compressing")
    result = _run(store, tmp_path, compress_after=3)
    assert gzip.decompress((gateway / "2026-03-05.log.gz").read_bytes()) == LINES
    assert gzip.decompress((gateway / "2026-03-06.log.gz").read_bytes()) == b'{"older":1}\n'
    assert gzip.decompress((gateway / "2026-03-06.log.1.gz").read_bytes()) == b'{"newer":1}\n'
    assert sorted(path.name for path in gateway.iterdir()) == [
        "2026-03-05.log.gz", "2026-03-06.log.1.gz", "2026-03-06.log.gz",
    ]  # fmt: skip
    assert sorted(path.name for path in events.iterdir()) == ["2026-03-07.log.gz", "2026-03-08.log"]
    assert (events / "2026-03-08.log").read_bytes() == LINES  # 2 days old: not compressed with 3
    assert result.compressed.restored == ["gateway/2026-03-05.log"]
    assert result.compressed.temporaries == ["events/2026-03-08.log.compressing"]
    assert [(item.source, item.target, item.already) for item in result.compressed.files] == [
        ("events/2026-03-07.log.compressing", "events/2026-03-07.log.gz", True),
        ("gateway/2026-03-06.log.compressing", "gateway/2026-03-06.log.gz", False),
        ("gateway/2026-03-05.log", "gateway/2026-03-05.log.gz", False),
        ("gateway/2026-03-06.log", "gateway/2026-03-06.log.1.gz", False),
    ]
    assert result.unknown == []


def test_a_renamed_day_still_written_is_left_for_a_later_run(store, tmp_path):
    """Never removed unread: written a minute ago beside a new .log, it waits, and so does the .log."""
    left = _day(store, "gateway/2026-03-06.log.compressing", quiet=60)
    _day(store, "gateway/2026-03-06.log")
    result = _run(store, tmp_path)
    assert left.read_bytes() == LINES
    assert sorted(path.name for path in (store / "gateway").iterdir()) == [
        "2026-03-06.log", "2026-03-06.log.compressing",
    ]  # fmt: skip
    assert [(note.path, note.reason) for note in result.compressed.skipped] == [
        ("gateway/2026-03-06.log.compressing", "written 1 min ago: finished once quiet for 10 min"),
        ("gateway/2026-03-06.log", "2026-03-06.log.compressing is not finished yet: taken once it is"),
    ]


# Retention


def test_only_days_past_the_retention_are_deleted_and_one_event_says_so(store, tmp_path, settings):
    expired = [
        _day(store, "gateway/2025-12-09.log.gz", b"x" * 10),  # 91 days before 2026-03-10
        _day(store, "gateway/2025-11-01.log.1.gz", b"x" * 20),
        _day(store, "events/2025-10-02.log", b"x" * 30),
    ]
    kept = [
        _day(store, "gateway/2025-12-10.log.gz"),  # 90 days: kept
        _day(store, "gateway/2026-03-10.log"),
        _day(store, "gateway/notes.txt", quiet=400 * 86400),
        _day(store, "gateway/2025-13-01.log", quiet=400 * 86400),  # no such day
        _day(store, "README", quiet=400 * 86400),
    ]
    (store / "events/archive").mkdir()
    result = _run(store, tmp_path, settings=settings)
    assert not any(path.exists() for path in expired)
    assert all(path.exists() for path in kept)
    assert [item.path for item in result.expired.files] == [
        "events/2025-10-02.log",
        "gateway/2025-11-01.log.1.gz",
        "gateway/2025-12-09.log.gz",
    ]
    assert result.unknown == ["README", "events/archive/", "gateway/2025-13-01.log", "gateway/notes.txt"]
    [event] = _spooled(settings)
    assert event["tag"] == "airgap.store.expired"
    assert event["fields"] == {
        "files": 3,
        "bytes": 60,
        "oldest": "2025-10-02",
        "newest": "2025-12-09",
        "streams": ["events", "gateway"],
        "retention_days": 90,
    }
    # Nothing more to delete: no more events.
    _run(store, tmp_path, settings=settings)
    assert len(_spooled(settings)) == 1


def test_retention_zero_keeps_every_day(store, tmp_path, settings):
    old = _day(store, "gateway/2016-01-01.log.gz")
    result = _run(store, tmp_path, retention_days="0", settings=settings)
    assert old.exists() and result.expired.files == []
    assert _spooled(settings) == []


def test_an_expiring_day_is_deleted_not_compressed_first(store, tmp_path):
    _day(store, "gateway/2025-01-01.log")
    result = _run(store, tmp_path)
    assert list((store / "gateway").iterdir()) == []
    assert result.compressed.files == []


def test_the_expired_event_is_spooled_before_any_day_is_deleted(store, tmp_path, settings, monkeypatch):
    expired = [_day(store, "gateway/2025-12-01.log.gz"), _day(store, "events/2025-12-02.log.gz")]
    seen = []
    real_emit = retention.emit

    def watched(tag, fields, **given):
        seen.append([path.exists() for path in expired])
        return real_emit(tag, fields, **given)

    monkeypatch.setattr(retention, "emit", watched)
    result = _run(store, tmp_path, settings=settings)
    assert seen == [[True, True]]
    assert not any(path.exists() for path in expired)
    assert [event["fields"]["files"] for event in _spooled(settings)] == [2]
    assert result.problems() == []


def test_no_day_is_deleted_when_its_event_cannot_be_recorded(store, tmp_path):
    expired = _day(store, "gateway/2025-12-01.log.gz")
    (tmp_path / "not-a-directory").write_text("")
    unspoolable = Settings(
        enabled=True, collector=f"127.0.0.1:{_closed_port()}", spool=tmp_path / "not-a-directory/spool", host="gw1"
    )
    result = _run(store, tmp_path, settings=unspoolable)
    assert expired.read_bytes() == LINES
    assert result.expired.files == []
    [line] = result.problems()
    assert line.startswith("not deleting 1 file(s) past the retention: the store.expired event was neither")
    assert line.endswith("cannot create it: Not a directory); the next run tries again")


def test_with_events_off_days_are_deleted_and_listed(store, tmp_path, settings):
    expired = _day(store, "gateway/2025-12-01.log.gz", b"x")
    off = Settings(enabled=False, collector=settings.collector, spool=settings.spool, host="gw1")
    result = _run(store, tmp_path, settings=off)
    assert not expired.exists()
    assert [item.path for item in result.expired.files] == ["gateway/2025-12-01.log.gz"]
    assert not settings.spool.exists() and result.problems() == []


# The disk guard


def test_the_guard_pauses_holds_and_resumes_the_collector(store, tmp_path, settings):
    units = Units()
    kept = _day(store, "gateway/2026-03-09.log.gz")
    paused = _run(store, tmp_path, percent=5, control=units, settings=settings, units=["fluentd.service"])
    assert (paused.guard.state, paused.guard.changed) == ("paused", True)
    assert units.calls == [("stop", "fluentd.service")]
    flag = json.loads((tmp_path / "state" / FLAG_NAME).read_text())
    assert flag["when"] == "2026-03-10T12:00:00Z"
    assert (flag["free_percent"], flag["free_bytes"], flag["units"]) == (5.0, 50, ["fluentd.service"])
    assert kept.exists()  # nothing stored is deleted to make room
    [event] = _spooled(settings)
    assert event["tag"] == "airgap.store.guard"
    assert event["fields"] == {
        "state": "paused",
        "free_percent": 5.0,
        "free_bytes": 50,
        "units": ["fluentd.service"],
        "min_free": 10.0,
    }

    # Between --min-free and --resume-free: still paused, the unit held stopped, no new event.
    held = _run(store, tmp_path, percent=12, control=units, settings=settings, units=["fluentd.service"])
    assert (held.guard.state, held.guard.changed, held.guard.since) == ("paused", False, "2026-03-10T12:00:00Z")
    assert units.calls[-1] == ("stop", "fluentd.service")
    assert len(_spooled(settings)) == 1

    resumed = _run(store, tmp_path, percent=15, control=units, settings=settings, units=["fluentd.service"])
    assert (resumed.guard.state, resumed.guard.changed) == ("resumed", True)
    assert units.calls[-1] == ("start", "fluentd.service")
    assert not (tmp_path / "state" / FLAG_NAME).exists()
    event = _spooled(settings)[-1]
    assert event["tag"] == "airgap.store.guard"
    assert event["fields"]["state"] == "resumed"
    assert event["fields"]["paused_since"] == "2026-03-10T12:00:00Z"


def test_a_unit_that_does_not_start_keeps_the_pause(store, tmp_path):
    _run(store, tmp_path, percent=5, units=["rsyslog.service"])
    units = Units(failing=("rsyslog.service",))
    result = _run(store, tmp_path, percent=40, control=units, units=["rsyslog.service"])
    assert result.guard.state == "paused"
    assert (tmp_path / "state" / FLAG_NAME).exists()
    assert result.problems() == ["systemctl start rsyslog.service: Unit not found."]


def test_enough_free_space_does_nothing_to_the_units(store, tmp_path, settings):
    units = Units()
    result = _run(store, tmp_path, percent=10, control=units, settings=settings, units=["rsyslog.service"])
    assert (result.guard.state, units.calls, _spooled(settings)) == ("ok", [], [])


def test_resume_starts_only_the_units_given_now_in_their_order(store, tmp_path):
    units = Units()
    now_given = ["airgap-rsyslog.service", "airgap-events-receiver.service"]
    _run(store, tmp_path, percent=5, control=units, units=["fluentd.service"])  # a previous configuration
    held = _run(store, tmp_path, percent=12, control=units, units=now_given)
    # While paused: the flag's units and today's, the store's writer last.
    assert units.calls == [
        ("stop", "fluentd.service"),
        ("stop", "fluentd.service"),
        ("stop", "airgap-events-receiver.service"),
        ("stop", "airgap-rsyslog.service"),
    ]
    assert held.guard.units == [*now_given, "fluentd.service"]
    assert json.loads((tmp_path / "state" / FLAG_NAME).read_text())["units"] == [*now_given, "fluentd.service"]
    units.calls.clear()
    resumed = _run(store, tmp_path, percent=40, control=units, units=now_given)
    assert units.calls == [("start", "airgap-rsyslog.service"), ("start", "airgap-events-receiver.service")]
    assert (resumed.guard.state, resumed.guard.units) == ("resumed", now_given)
    assert not (tmp_path / "state" / FLAG_NAME).exists()


def test_no_unit_is_stopped_when_the_flag_cannot_be_written(store, tmp_path, settings):
    (tmp_path / "state" / (FLAG_NAME + ".tmp")).mkdir(parents=True)  # where the flag is written first
    units = Units()
    for _ in range(2):  # every run, until the flag can be written
        result = _run(store, tmp_path, percent=5, control=units, settings=settings, units=["rsyslog.service"])
        assert units.calls == [] and _spooled(settings) == []
        assert (result.guard.state, result.guard.changed) == ("ok", False)
        [line] = result.problems()
        assert line.startswith(f"cannot write {tmp_path / 'state' / FLAG_NAME}: ")
        assert line.endswith("; the collector was not stopped")
    assert not (tmp_path / "state" / FLAG_NAME).exists()
    (tmp_path / "state" / (FLAG_NAME + ".tmp")).rmdir()
    paused = _run(store, tmp_path, percent=5, control=units, settings=settings, units=["rsyslog.service"])
    assert (paused.guard.state, paused.guard.error, units.calls) == ("paused", None, [("stop", "rsyslog.service")])


def test_a_flag_that_cannot_be_written_again_while_paused_is_a_problem_each_run(store, tmp_path):
    units = Units()
    _run(store, tmp_path, percent=5, control=units, units=["rsyslog.service"])
    (tmp_path / "state" / (FLAG_NAME + ".tmp")).mkdir()
    for _ in range(2):  # a unit added while paused: the flag must name it too
        result = _run(store, tmp_path, percent=5, control=units, units=["rsyslog.service", "receiver.service"])
        assert result.guard.state == "paused"
        assert result.guard.error is not None and result.guard.error.startswith("cannot write ")
        assert units.calls[-2:] == [("stop", "receiver.service"), ("stop", "rsyslog.service")]
    (tmp_path / "state" / (FLAG_NAME + ".tmp")).rmdir()
    written = _run(store, tmp_path, percent=5, control=units, units=["rsyslog.service", "receiver.service"])
    assert written.guard.error is None
    flag = json.loads((tmp_path / "state" / FLAG_NAME).read_text())
    assert (flag["units"], flag["when"]) == (["rsyslog.service", "receiver.service"], "2026-03-10T12:00:00Z")


# Dry run


def test_a_dry_run_changes_nothing_and_emits_nothing(store, tmp_path, settings):
    _day(store, "gateway/2026-03-08.log")
    _day(store, "gateway/2025-01-01.log.gz")
    _day(store, "events/2026-03-01.log.gz.tmp")
    _day(store, "events/2026-03-02.log.compressing")
    before = _tree(store)
    units = Units()
    result = _run(store, tmp_path, percent=1, control=units, settings=settings, dry_run=True, units=["x.service"])
    assert _tree(store) == before
    assert not (tmp_path / "state").exists()
    assert units.calls == [] and _spooled(settings) == [] and not settings.spool.exists()
    assert [(item.source, item.target, item.bytes_out) for item in result.compressed.files] == [
        ("events/2026-03-02.log", "events/2026-03-02.log.gz", None),
        ("gateway/2026-03-08.log", "gateway/2026-03-08.log.gz", None),
    ]
    assert result.compressed.restored == ["events/2026-03-02.log"]
    assert [item.path for item in result.expired.files] == ["gateway/2025-01-01.log.gz"]
    assert result.compressed.temporaries == ["events/2026-03-01.log.gz.tmp"]
    assert (result.guard.state, result.guard.changed) == ("paused", True)


# The command


FAKE_SYSTEMCTL = """#!/bin/sh
# A fake systemctl for tests (systemd does not run here): records its arguments, fails on request.
echo "$@" >> "$FAKE_SYSTEMCTL_LOG"
[ -z "$FAKE_SYSTEMCTL_FAIL" ] || { echo "Failed to $1 $2: Unit $2 not loaded." >&2; exit 5; }
"""


@pytest.fixture
def fake_systemctl(tmp_path, monkeypatch) -> Path:
    """A fake ``systemctl`` first on PATH; returns the file it records its calls in."""
    directory = tmp_path / "fake-bin"
    directory.mkdir()
    script = directory / "systemctl"
    script.write_text(FAKE_SYSTEMCTL)
    script.chmod(0o755)
    log = tmp_path / "systemctl.log"
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SYSTEMCTL_LOG", str(log))
    return log


def _maintain(cli, store: Path, tmp_path: Path, *args: str):
    return cli("store", "maintain", "--store", str(store), "--state", str(tmp_path / "state"), *args)


def test_the_command_pauses_with_its_own_exit_code_and_resumes(cli, store, tmp_path, fake_systemctl, monkeypatch):
    spool = tmp_path / "spool"
    monkeypatch.setenv("AIRGAPCTL_EVENTS", "on")
    monkeypatch.setenv("AIRGAPCTL_EVENTS_COLLECTOR", f"127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AIRGAPCTL_EVENTS_SPOOL", str(spool))
    unit = ("--collector-unit", "fluentd.service")
    # No file system here is 100 % free: the guard pauses.
    paused = _maintain(cli, store, tmp_path, "--min-free", "100", "--resume-free", "100", *unit)
    assert paused.exit_code == ExitCode.COLLECTOR_PAUSED == 30
    [line] = paused.stderr.splitlines()
    assert line.startswith("airgapctl: error: collector paused since ")
    assert "(fluentd.service stopped)" in line and "below --min-free 100%" in line
    assert "free space on its file system to 100% (--resume-free) and the next run starts it again" in line
    assert fake_systemctl.read_text() == "stop fluentd.service\n"
    assert (tmp_path / "state" / FLAG_NAME).exists()

    again = _maintain(cli, store, tmp_path, "--min-free", "100", "--resume-free", "100", *unit, "--json")
    assert again.exit_code == 30
    document = json.loads(again.stdout)
    assert document["status"] == "error" and document["errors"][0]["exit_code"] == 30
    assert set(document["data"]) >= {"compressed", "expired", "guard", "unknown"}
    assert (document["data"]["guard"]["state"], document["data"]["guard"]["changed"]) == ("paused", False)

    resumed = _maintain(cli, store, tmp_path, "--min-free", "0", "--resume-free", "0", *unit)
    assert resumed.exit_code == 0, resumed.stderr
    assert "resumed:" in resumed.stdout
    assert fake_systemctl.read_text().splitlines() == ["stop fluentd.service"] * 2 + ["start fluentd.service"]
    assert not (tmp_path / "state" / FLAG_NAME).exists()
    records = [decode(line)[0] for line in (spool / SPOOL_NAME).read_bytes().splitlines(keepends=True)]
    assert [(record["tag"], record["fields"]["state"]) for record in records] == [
        ("airgap.store.guard", "paused"),
        ("airgap.store.guard", "resumed"),
    ]


def test_a_unit_systemctl_cannot_stop_is_an_environment_failure(cli, store, tmp_path, fake_systemctl, monkeypatch):
    monkeypatch.setenv("FAKE_SYSTEMCTL_FAIL", "1")
    result = _maintain(cli, store, tmp_path, "--min-free", "100", "--resume-free", "100", "--collector-unit", "x")
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "x not stopped (Failed to stop x: Unit x not loaded.)" in result.stderr


def test_the_command_prints_what_it_compressed_and_deleted(cli, store, tmp_path):
    (store / "gateway/2020-01-01.log.gz").write_bytes(b"x")
    result = _maintain(cli, store, tmp_path, "--min-free", "0", "--resume-free", "0")
    assert result.exit_code == 0, result.stderr
    assert "expired  gateway/2020-01-01.log.gz  (1 B, older than 90 days)" in result.stdout
    assert "0 compressed, 1 expired (1 B)" in result.stdout


def test_several_units_are_stopped_last_to_first_and_started_in_their_order(cli, store, tmp_path, fake_systemctl):
    units = ["--collector-unit", "airgap-rsyslog.service", "--collector-unit", "airgap-events-receiver.service"]
    paused = _maintain(cli, store, tmp_path, "--min-free", "100", "--resume-free", "100", *units)
    assert paused.exit_code == ExitCode.COLLECTOR_PAUSED
    assert "(airgap-rsyslog.service, airgap-events-receiver.service stopped)" in paused.stderr
    resumed = _maintain(cli, store, tmp_path, "--min-free", "0", "--resume-free", "0", *units)
    assert resumed.exit_code == 0, resumed.stderr
    assert fake_systemctl.read_text().splitlines() == [
        "stop airgap-events-receiver.service",
        "stop airgap-rsyslog.service",
        "start airgap-rsyslog.service",
        "start airgap-events-receiver.service",
    ]


def test_a_flag_that_cannot_be_written_exits_3_and_stops_nothing(cli, store, tmp_path, fake_systemctl):
    (tmp_path / "state" / (FLAG_NAME + ".tmp")).mkdir(parents=True)
    result = _maintain(cli, store, tmp_path, "--min-free", "100", "--resume-free", "100", "--collector-unit", "x")
    assert result.exit_code == ExitCode.ENVIRONMENT
    [error] = [line for line in result.stderr.splitlines() if line.startswith("airgapctl: error: ")]
    assert error.startswith(f"airgapctl: error: store guard: cannot write {tmp_path / 'state' / FLAG_NAME}: ")
    assert error.endswith("; the collector was not stopped")
    assert not fake_systemctl.exists()


def test_an_expired_event_that_cannot_be_recorded_exits_3_and_deletes_nothing(cli, store, tmp_path, monkeypatch):
    expired = _day(store, "gateway/2020-01-01.log.gz", b"x")
    (tmp_path / "not-a-directory").write_text("")
    monkeypatch.setenv("AIRGAPCTL_EVENTS", "on")
    monkeypatch.setenv("AIRGAPCTL_EVENTS_COLLECTOR", f"127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AIRGAPCTL_EVENTS_SPOOL", str(tmp_path / "not-a-directory/spool"))
    result = _maintain(cli, store, tmp_path, "--min-free", "0", "--resume-free", "0")
    assert result.exit_code == ExitCode.ENVIRONMENT
    [error] = [line for line in result.stderr.splitlines() if line.startswith("airgapctl: error: ")]
    assert "not deleting 1 file(s) past the retention: the store.expired event was neither" in error
    assert expired.exists() and "0 compressed, 0 expired" in result.stdout


def test_with_events_off_the_command_still_lists_what_it_deleted(cli, store, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRGAPCTL_EVENTS", "off")
    _day(store, "gateway/2020-01-01.log.gz", b"x")
    result = _maintain(cli, store, tmp_path, "--min-free", "0", "--resume-free", "0", "--json")
    assert result.exit_code == 0, result.stderr
    assert [item["path"] for item in json.loads(result.stdout)["data"]["expired"]["files"]] == [
        "gateway/2020-01-01.log.gz"
    ]
    assert not (store / "gateway/2020-01-01.log.gz").exists()


def test_compress_after_0_names_the_fix(cli, store, tmp_path):
    result = _maintain(cli, store, tmp_path, "--compress-after", "0")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.splitlines() == [
        "airgapctl: error: --compress-after 0: the collector still writes today's file; give 1 or more"
        " (in the logging role, logging_compress_after_days: 1 or more)"
    ]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--store", "/nonexistent/store"], "--store"),
        (["--compress-after", "soon"], "--compress-after"),
        (["--compress-after", "0"], "--compress-after"),
        (["--retention-days", "-1"], "--retention-days"),
        (["--min-free", "101"], "--min-free"),
        (["--min-free", "ten"], "--min-free"),
        (["--min-free", "20", "--resume-free", "15"], "--resume-free"),
        (["--collector-unit=-rsyslog"], "--collector-unit"),
    ],
)
def test_a_wrong_option_is_one_line_naming_it(cli, store, tmp_path, args, option):
    result = cli("store", "maintain", "--store", str(store), "--state", str(tmp_path / "state"), *args)
    assert result.exit_code == ExitCode.BAD_INPUT
    [line] = result.stderr.splitlines()
    assert line.startswith(f"airgapctl: error: {option} ")
    assert not (tmp_path / "state").exists()


def test_a_file_as_state_directory_is_bad_input(cli, store, tmp_path):
    (tmp_path / "state").write_text("")
    result = _maintain(cli, store, tmp_path)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.splitlines() == [
        f"airgapctl: error: --state {tmp_path / 'state'}: not a directory; give the directory for the guard's flag"
    ]
