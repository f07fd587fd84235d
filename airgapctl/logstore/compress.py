"""Closed days compressed in place: ``YYYY-MM-DD.log`` becomes ``YYYY-MM-DD.log.gz``.

A day is taken once it is old enough (``after`` days before today, UTC), has not been written
for CLOSED_AFTER seconds (rsyslog closes an idle file after ten minutes) and no process holds
it open. The order keeps every line at every moment: the gzip stream goes to
``YYYY-MM-DD.log.gz.tmp``, is fsync'd, is linked to the first free name (``.log.gz``, then
``.log.1.gz``, ...: a link never replaces a file, so a .gz the collector wrote itself stays), and
only then is the .log removed. A crash leaves the .log whole and at most a .tmp, which the next
run removes; a crash after the link leaves the .log beside a .gz holding the same lines, and the
next run, finding them equal, only removes the .log.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import itertools
import os
import re
import stat
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from airgapctl.logstore.layout import TEMPORARY_SUFFIX, DayFile, Note, Scan

# Seconds without a write before a day counts as closed by the collector.
CLOSED_AFTER = 600
CHUNK = 1 << 20
# gzip's own default: about as small as 9 on log lines, at half the time.
LEVEL = 6
# Where link(2) is refused, rename(2) after a look for the name (the look and the rename are not one step).
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


@dataclass(frozen=True)
class Compressed:
    source: str  # below the store's root: gateway/2026-03-01.log
    target: str
    bytes_in: int
    bytes_out: int | None  # None in a dry run
    # The .log's lines were in the target already (a run stopped after linking it): only the .log went.
    already: bool = False


@dataclass
class Compression:
    files: list[Compressed] = field(default_factory=list)
    # Old enough but perhaps still written: taken by a later run.
    skipped: list[Note] = field(default_factory=list)
    # Left as they were (the .log whole): the reason is the system's.
    failed: list[Note] = field(default_factory=list)
    # Temporaries of an interrupted run, removed.
    temporaries: list[str] = field(default_factory=list)


class _Changed(Exception):
    """The .log changed while it was compressed: the collector still writes it."""


def open_inodes() -> set[tuple[int, int]]:
    """(device, inode) of every file some other process holds open (those /proc lets us see)."""
    found: set[tuple[int, int]] = set()
    me = str(os.getpid())
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit() and name != me]
    except OSError:
        return found
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone, or another user's without root
            continue
        for descriptor in descriptors:
            try:
                info = os.stat(f"/proc/{pid}/fd/{descriptor}")
            except OSError:
                continue
            found.add((info.st_dev, info.st_ino))
    return found


def compress_closed(
    found: Scan,
    today: dt.date,
    after: int,
    *,
    now: float | None = None,
    dry_run: bool = False,
    exclude: frozenset[Path] = frozenset(),
    open_files: Callable[[], set[tuple[int, int]]] = open_inodes,
) -> Compression:
    """Compress every closed day of ``found`` at least ``after`` days before ``today``, but those in
    ``exclude`` (expired this run)."""
    result = Compression()
    for temporary in found.temporaries:
        if not dry_run:
            try:
                temporary.unlink(missing_ok=True)
            except OSError as error:
                result.failed.append(Note(_below(found.root, temporary), _reason(error)))
                continue
        result.temporaries.append(_below(found.root, temporary))
    clock = time.time() if now is None else now
    due = [
        item
        for item in found.days
        if item.is_open_name and (today - item.day).days >= after and item.path not in exclude
    ]
    held = open_files() if due else set()
    for item in due:
        quiet = clock - item.mtime
        if quiet < CLOSED_AFTER:
            minutes = max(int(quiet // 60), 0)
            result.skipped.append(Note(item.name, f"written {minutes} min ago: taken once quiet for 10 min"))
            continue
        try:
            info = os.lstat(item.path)
        except OSError as error:
            result.failed.append(Note(item.name, _reason(error)))
            continue
        if (info.st_dev, info.st_ino) in held:
            result.skipped.append(Note(item.name, "open in another process: taken once closed"))
            continue
        if dry_run:
            target = next(path for path in _names(item) if not os.path.lexists(path))
            result.files.append(Compressed(item.name, f"{item.stream}/{target.name}", info.st_size, None))
            continue
        try:
            result.files.append(compress_day(item))
        except _Changed:
            result.skipped.append(Note(item.name, "written while compressed: taken once quiet"))
        except OSError as error:
            result.failed.append(Note(item.name, _reason(error)))
    return result


def compress_day(item: DayFile) -> Compressed:
    """Compress one day's .log to its first free .gz name and remove it (see the module's docstring)."""
    source, directory = item.path, item.path.parent
    before = os.lstat(source)
    for archive in _archives(directory, item.day):
        if _isize(archive) == before.st_size % (1 << 32) and _same_lines(archive, source):
            _check_unchanged(source, before)
            os.unlink(source)
            _fsync_directory(directory)
            packed = archive.stat().st_size
            return Compressed(item.name, f"{item.stream}/{archive.name}", before.st_size, packed, already=True)
    temporary = directory / (source.name + TEMPORARY_SUFFIX)
    try:
        size = _write(source, temporary, before)
        _check_unchanged(source, before)
        target = _place(temporary, item)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(directory)
    os.unlink(source)
    _fsync_directory(directory)
    return Compressed(item.name, f"{item.stream}/{target.name}", before.st_size, size)


def _names(item: DayFile) -> Iterator[Path]:
    directory = item.path.parent
    yield directory / f"{item.day}.log.gz"
    for number in itertools.count(1):
        yield directory / f"{item.day}.log.{number}.gz"


def _archives(directory: Path, day: dt.date) -> list[Path]:
    pattern = re.compile(rf"^{day}\.log(?:\.\d+)?\.gz$")
    # Regular files only: a link's target may lie outside the store, and the .log is removed on its word.
    return sorted(
        path for path in directory.iterdir() if pattern.match(path.name) and stat.S_ISREG(os.lstat(path).st_mode)
    )


def _isize(archive: Path) -> int | None:
    """The length mod 2**32 of the last member's text, from the gzip trailer: a cheap first comparison."""
    try:
        with open(archive, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            return int.from_bytes(handle.read(4), "little")
    except OSError:
        return None


def _same_lines(archive: Path, source: Path) -> bool:
    try:
        with gzip.open(archive, "rb") as packed, open(source, "rb") as plain:
            while True:
                chunk = packed.read(CHUNK)
                if chunk != plain.read(len(chunk) or CHUNK):
                    return False
                if not chunk:
                    return True
    except (OSError, EOFError, zlib.error):
        return False


def _write(source: Path, temporary: Path, before: os.stat_result) -> int:
    """Write the gzip stream of ``source`` to ``temporary`` with its owner, mode and times; fsync'd."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(temporary, flags, 0o600), "wb") as raw:
        with open(os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as plain:
            if (os.fstat(plain.fileno()).st_ino, os.fstat(plain.fileno()).st_dev) != (before.st_ino, before.st_dev):
                raise _Changed
            # The header names the .log, so that gunzip -N gives the collector's name back.
            with gzip.GzipFile(source.name, "wb", LEVEL, raw, mtime=int(before.st_mtime)) as packed:
                while chunk := plain.read(CHUNK):
                    packed.write(chunk)
        mine = os.fstat(raw.fileno())
        if (mine.st_uid, mine.st_gid) != (before.st_uid, before.st_gid):
            try:
                os.fchown(raw.fileno(), before.st_uid, before.st_gid)
            except PermissionError as error:  # the readers' group must stay: not compressed rather than unreadable
                raise OSError(error.errno, f"cannot keep its owner {before.st_uid}:{before.st_gid}") from error
        os.fchmod(raw.fileno(), stat.S_IMODE(before.st_mode))
        raw.flush()
        os.fsync(raw.fileno())
        size = os.fstat(raw.fileno()).st_size
    os.utime(temporary, ns=(before.st_atime_ns, before.st_mtime_ns))
    return size


def _check_unchanged(source: Path, before: os.stat_result) -> None:
    after = os.lstat(source)
    if (after.st_ino, after.st_size, after.st_mtime_ns) != (before.st_ino, before.st_size, before.st_mtime_ns):
        raise _Changed


def _place(temporary: Path, item: DayFile) -> Path:
    """Give ``temporary`` the first free name of its day without replacing any file."""
    for target in _names(item):
        try:
            os.link(temporary, target)
        except FileExistsError:
            continue
        except OSError as error:
            if error.errno not in _NO_LINKS:
                raise
            if os.path.lexists(target):
                continue
            os.rename(temporary, target)
        return target
    raise AssertionError("unreachable: the names never end")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _below(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
