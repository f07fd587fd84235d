"""Closed days compressed in place: ``YYYY-MM-DD.log`` becomes ``YYYY-MM-DD.log.gz``.

A day is taken once it is old enough (``after`` days before today, UTC), has not been written
for CLOSED_AFTER seconds (rsyslog closes an idle file after ten minutes) and no process holds
it open. The order keeps every line at every moment, whatever the writer does:

1. the .log is renamed to ``YYYY-MM-DD.log.compressing`` (and the directory fsync'd): a writer
   that opens the .log by path for each flush (Fluentd's out_file) now makes a new .log, which a
   later run compresses to the next free name;
2. open files and the time of the last write are looked at again: one written to, or held open,
   since is given its name back (or, if the writer made a new .log meanwhile, left for a later
   run);
3. the gzip stream goes to ``YYYY-MM-DD.log.gz.tmp``, is fsync'd, and the renamed file is checked
   to be unchanged;
4. the stream is linked to the first free name (``.log.gz``, then ``.log.1.gz``, ...: a link
   never replaces a file, so a .gz the collector wrote itself stays), the directory fsync'd, and
   only then the renamed file removed.

A crash leaves at most a .tmp, removed by the next run, and a ``.compressing``, which the next
run finishes: removed if a .gz holds exactly its lines (the link was made), else given back its
.log name when no new .log took it, else compressed to the next free name itself.
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
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from airgapctl.durable import fsync_directory
from airgapctl.logstore.layout import COMPRESSING_SUFFIX, TEMPORARY_SUFFIX, DayFile, Note, Scan

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
    # Days an interrupted run had renamed to .compressing, given their .log name back.
    restored: list[str] = field(default_factory=list)


class _Changed(Exception):
    """The day was written, or held open, while it was compressed: the collector still writes it."""


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
    ``exclude`` (expired this run); first finish what an interrupted run left."""
    run = _Run(found.root, time.time() if now is None else now, dry_run, open_files)
    for temporary in found.temporaries:
        if not dry_run:
            try:
                temporary.unlink(missing_ok=True)
            except OSError as error:
                run.result.failed.append(Note(_below(found.root, temporary), _reason(error)))
                continue
        run.result.temporaries.append(_below(found.root, temporary))
    restored = [day for item in found.compressing if (day := run.finish(item)) is not None]
    due = [
        item
        for item in [*found.days, *restored]
        if item.is_open_name and (today - item.day).days >= after and item.path not in exclude
    ]
    held = open_files() if due else set()
    for item in sorted(due, key=lambda item: item.path):
        run.take(item, held)
    return run.result


class _Run:
    """One run's compression: its clock, its view of open files and, in a dry run, the names it gave."""

    def __init__(self, root: Path, clock: float, dry_run: bool, open_files: Callable[[], set[tuple[int, int]]]) -> None:
        self.root, self.clock, self.dry_run, self.open_files = root, clock, dry_run, open_files
        self.result = Compression()
        self.claimed: set[Path] = set()
        # A dry run's .compressing files that a real run would give back their .log name first.
        self.unrenamed: dict[Path, os.stat_result] = {}

    def _busy(self, info: os.stat_result, held: set[tuple[int, int]], ending: str) -> str | None:
        """Why a file must wait (held open, or written lately), else None."""
        if (info.st_dev, info.st_ino) in held:
            return f"open in another process: {ending} once closed"
        quiet = self.clock - info.st_mtime
        if quiet < CLOSED_AFTER:
            return f"written {max(int(quiet // 60), 0)} min ago: {ending} once quiet for 10 min"
        return None

    def _free_name(self, item: DayFile) -> Path:
        target = next(path for path in _names(item) if not os.path.lexists(path) and path not in self.claimed)
        self.claimed.add(target)
        return target

    def take(self, item: DayFile, held: set[tuple[int, int]]) -> None:
        """Compress one day's .log (steps 1 to 4 of the module's docstring)."""
        result, renamed = self.result, _renamed(item.path)
        try:
            info = self.unrenamed.get(item.path) or os.lstat(item.path)
        except FileNotFoundError:  # a restored .log given back to a writer's new one meanwhile
            return
        except OSError as error:
            result.failed.append(Note(item.name, _reason(error)))
            return
        if (reason := self._busy(info, held, "taken")) is not None:
            result.skipped.append(Note(item.name, reason))
            return
        if item.path not in self.unrenamed and os.path.lexists(renamed):
            result.skipped.append(Note(item.name, f"{renamed.name} is not finished yet: taken once it is"))
            return
        if self.dry_run:
            target = self._free_name(item)
            result.files.append(Compressed(item.name, _below(self.root, target), info.st_size, None))
            return
        try:
            os.rename(item.path, renamed)
            fsync_directory(renamed.parent)
        except OSError as error:
            result.failed.append(Note(item.name, _reason(error)))
            return
        try:
            # Looked at after the rename: a write from now on goes to a new .log, one before it shows here.
            before = os.lstat(renamed)
            if (reason := self._busy(before, self.open_files(), "taken")) is not None:
                raise _Changed(reason)
            archive = _copy_of(renamed, item.day, before)
            if archive is not None:  # a .gz of the day holds these lines already
                result.files.append(self._drop(renamed, item, before, archive))
            else:
                result.files.append(_compress(renamed, item, before))
        except _Changed as changed:
            back = _give_back(renamed, item.path)
            why = str(changed) or "written while compressed: taken once quiet"
            result.skipped.append(Note(item.name, why if back else f"{why}; left as {renamed.name}, a new .log exists"))
        except OSError as error:
            with suppress(OSError):
                _give_back(renamed, item.path)
            result.failed.append(Note(item.name, _reason(error)))

    def finish(self, item: DayFile) -> DayFile | None:
        """Finish a ``.compressing`` an interrupted run left; the day's .log when it was given back."""
        result, log = self.result, item.path.with_name(item.path.name.removesuffix(COMPRESSING_SUFFIX))
        try:
            info = os.lstat(item.path)
            beside = os.lstat(log) if os.path.lexists(log) else None
            if beside is not None and (beside.st_dev, beside.st_ino) == (info.st_dev, info.st_ino):
                # Stopped while giving it back: the .log is the same file.
                if not self.dry_run:
                    os.unlink(item.path)
                    fsync_directory(log.parent)
                result.temporaries.append(item.name)
                return None
            busy = self._busy(info, self.open_files(), "finished")
            if busy is None and (archive := _copy_of(item.path, item.day, info)) is not None:
                # Stopped after the link: its lines are in the .gz.
                result.files.append(self._drop(item.path, item, info, archive))
                return None
            if beside is None:
                if self.dry_run:
                    self.unrenamed[log] = info
                elif not _give_back(item.path, log):
                    raise FileExistsError(errno.EEXIST, "a new .log took its name meanwhile")
                result.restored.append(_below(self.root, log))
                return DayFile(item.stream, log, item.day, info.st_size, info.st_mtime)
            if busy is not None:
                result.skipped.append(Note(item.name, busy))
                return None
            # The collector made a new .log meanwhile: these older lines take the next free name first.
            if self.dry_run:
                target = self._free_name(item)
                result.files.append(Compressed(item.name, _below(self.root, target), info.st_size, None))
                return None
            result.files.append(_compress(item.path, item, info))
        except _Changed:
            result.skipped.append(Note(item.name, "written while compressed: finished once quiet"))
        except OSError as error:
            result.failed.append(Note(item.name, _reason(error)))
        return None

    def _drop(self, renamed: Path, item: DayFile, before: os.stat_result, archive: Path) -> Compressed:
        """Remove ``renamed``, whose lines ``archive`` holds already."""
        if not self.dry_run:
            _check_unchanged(renamed, before)
            os.unlink(renamed)
            fsync_directory(renamed.parent)
        packed = archive.stat().st_size
        return Compressed(item.name, _below(self.root, archive), before.st_size, packed, already=True)


def _renamed(log: Path) -> Path:
    return log.with_name(log.name + COMPRESSING_SUFFIX)


def _give_back(renamed: Path, log: Path) -> bool:
    """Rename ``renamed`` back to ``log`` unless a new .log took that name; True when given back."""
    try:
        os.link(renamed, log)  # refuses to replace a .log the writer made meanwhile, as rename would not
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
        if os.path.lexists(log):
            return False
        os.rename(renamed, log)
    else:
        os.unlink(renamed)
    fsync_directory(log.parent)
    return True


def _copy_of(source: Path, day: dt.date, info: os.stat_result) -> Path | None:
    """A .gz of the day holding exactly the lines of ``source``, if there is one."""
    for archive in _archives(source.parent, day):
        if _isize(archive) == info.st_size % (1 << 32) and _same_lines(archive, source):
            return archive
    return None


def _compress(renamed: Path, item: DayFile, before: os.stat_result) -> Compressed:
    """Compress the renamed day to its first free .gz name and remove it; _Changed if it was written."""
    directory = renamed.parent
    temporary = directory / (renamed.name.removesuffix(COMPRESSING_SUFFIX) + TEMPORARY_SUFFIX)
    try:
        size = _write(renamed, temporary, before)
        _check_unchanged(renamed, before)
        target = _place(temporary, item)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(directory)
    os.unlink(renamed)
    fsync_directory(directory)
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
            name = source.name.removesuffix(COMPRESSING_SUFFIX)
            with gzip.GzipFile(name, "wb", LEVEL, raw, mtime=int(before.st_mtime)) as packed:
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


def _below(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
