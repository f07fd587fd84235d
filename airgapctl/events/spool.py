"""The on-disk spool: events the collector has not acknowledged, kept in order until it does.

In the spool directory:

events.spool    append-only, fsync'd after every event; one line per event: the CRC-32 of the
                record's JSON as 8 hex digits, a space, the record as compact JSON, a newline.
                A line cut by a power loss, or garbled, fails its checksum and is found as such.
events.sent     how far events.spool has been delivered: its inode and a byte offset, fixed width,
                rewritten in place after each acknowledged batch. Once all is delivered both
                files are removed (events.sent first: a crash in between only sends again).
damaged-INODE-OFFSET.bin
                the bytes of a damaged line, kept as evidence; they are never delivered.
append.lock, flush.lock
                flock(2) locks: one writer appends at a time, one process delivers at a time.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgapctl.contracts import events as contract
from airgapctl.durable import fsync_directory
from airgapctl.errors import EnvironmentProblem

SPOOL_NAME = "events.spool"
SENT_NAME = "events.sent"
_SENT_WIDTH = 64


@dataclass(frozen=True)
class Damage:
    """A spool line that holds no intact event."""

    offset: int
    length: int
    reason: str
    kept_in: str  # the file holding its bytes


@dataclass(frozen=True)
class Entry:
    """One spool line from ``offset`` to ``end``: its record, or what is wrong with it."""

    offset: int
    end: int
    record: dict[str, Any] | None
    problem: str | None = None
    raw: bytes = b""


def encode(record: dict[str, Any]) -> bytes:
    payload = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def decode(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None) for an intact line, (None, why) for a damaged one."""
    if not line.endswith(b"\n"):
        return None, "cut record at the end of the spool"
    head, _, payload = line[:-1].partition(b" ")
    try:
        checksum = int(head, 16) if len(head) == 8 else None
    except ValueError:
        checksum = None
    if checksum is None or zlib.crc32(payload) != checksum:
        return None, "cut or corrupt record (checksum mismatch)"
    try:
        record = json.loads(payload)
    except ValueError:
        return None, "record is not JSON"
    reason = contract.problem(record)
    return (record, None) if reason is None else (None, f"not an event: {reason}")


def _problem(directory: Path, action: str, error: OSError) -> EnvironmentProblem:
    reason = error.strerror or str(error)
    hint = "free space on that file system" if error.errno == errno.ENOSPC else "check the directory and its rights"
    return EnvironmentProblem(f"events spool {directory}: {action}: {reason}", hint=f"{hint} (AIRGAPCTL_EVENTS_SPOOL)")


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.file = self.directory / SPOOL_NAME
        self.sent_file = self.directory / SENT_NAME

    def pending(self) -> bool:
        """Whether anything may wait in the spool (one stat: cheap enough for every emit)."""
        try:
            return self.file.stat().st_size > 0
        except OSError:
            return False

    def _acquire(self, name: str, wait: bool = True) -> int | None:
        """A descriptor holding the lock ``name``; None without ``wait`` when another holds it."""
        fd = os.open(self.directory / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        fd = self._acquire(name)
        try:
            yield
        finally:
            os.close(fd)  # type: ignore[arg-type]  # waited, so never None; closing releases the lock

    def _prepare(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise _problem(self.directory, "cannot create it", error) from None

    def append(self, record: dict[str, Any]) -> None:
        """Add one event at the end, on disk before returning; on failure the spool is as it was."""
        line = encode(record)
        self._prepare()
        try:
            with self._lock("append.lock"):
                fd = os.open(self.file, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    self._append(fd, line)
                finally:
                    os.close(fd)
        except OSError as error:
            action = f"event {record['id']} ({record['tag']}) not recorded; the events spooled before it are kept"
            raise _problem(self.directory, action, error) from None

    def _append(self, fd: int, line: bytes) -> None:
        status = os.fstat(fd)
        size = status.st_size
        if size == 0:
            self._write_sent(status.st_ino, 0)
            fsync_directory(self.directory)
        elif os.pread(fd, 1, size - 1) != b"\n":
            # The last append was cut (a power loss): end that line, so this one stays whole.
            line = b"\n" + line
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        except OSError:
            # A full disk may take part of the line: take it back, so no cut line is left behind.
            try:
                os.ftruncate(fd, size)
                os.fsync(fd)
            except OSError:
                pass
            raise

    def _read_sent(self, inode: int) -> int:
        try:
            text = self.sent_file.read_bytes()[:_SENT_WIDTH].decode("ascii").split()
            kept_inode, offset, checksum = int(text[0]), int(text[1]), int(text[2], 16)
        except (OSError, ValueError, IndexError, UnicodeDecodeError):
            return 0  # no mark or a garbled one: deliver from the start again (repeats are dropped by id)
        if kept_inode != inode or checksum != zlib.crc32(b"%d %d" % (kept_inode, offset)):
            return 0
        return offset

    def _write_sent(self, inode: int, offset: int) -> None:
        body = b"%020d %020d %08x" % (inode, offset, zlib.crc32(b"%d %d" % (inode, offset)))
        fd = os.open(self.sent_file, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, body.ljust(_SENT_WIDTH - 1) + b"\n", 0)  # the same length each time: rewritten in place
            os.fsync(fd)
        finally:
            os.close(fd)

    def count(self) -> int:
        """How many lines wait in the spool (damaged ones included)."""
        try:
            with open(self.file, "rb") as handle:
                offset = self._read_sent(os.fstat(handle.fileno()).st_ino)
                handle.seek(offset)
                lines, last = 0, b"\n"
                while block := handle.read(1 << 20):
                    lines += block.count(b"\n")
                    last = block[-1:]
                return lines + (last != b"\n")
        except FileNotFoundError:
            return 0
        except OSError as error:
            raise _problem(self.directory, "cannot read it", error) from None

    @contextmanager
    def delivery(self, wait: bool = True) -> Iterator[Delivery | None]:
        """The right to deliver, for one process at a time; None without ``wait`` when another has it."""
        if not self.directory.is_dir():
            yield Delivery(self, None)
            return
        try:
            lock = self._acquire("flush.lock", wait)
            if lock is None:
                handle = None
            else:
                try:
                    handle = open(self.file, "rb")  # noqa: SIM115  # closed below, after the caller's block
                except FileNotFoundError:
                    handle = None
                except OSError:
                    os.close(lock)
                    raise
        except OSError as error:
            raise _problem(self.directory, "cannot read it", error) from None
        if lock is None:
            yield None
            return
        try:
            yield Delivery(self, handle)
        finally:
            if handle is not None:
                handle.close()
            os.close(lock)


class Delivery:
    """Read the spool from where delivery stopped, and move that mark on as batches are acknowledged."""

    def __init__(self, spool: Spool, handle) -> None:
        self.spool = spool
        self.handle = handle
        self.inode = os.fstat(handle.fileno()).st_ino if handle else 0
        self.offset = spool._read_sent(self.inode) if handle else 0

    def _end(self) -> int:
        """The spool's size with no append half done (an append holds the lock while it writes)."""
        with self.spool._lock("append.lock"):
            return os.fstat(self.handle.fileno()).st_size

    def next_entries(self, max_records: int = 500, max_bytes: int = 1 << 20) -> list[Entry]:
        """The entries after the mark; none when everything is delivered (the spool is then removed)."""
        if self.handle is None:
            return []
        end = self._end()
        if self.offset >= end:
            self._finish()
            return []
        entries: list[Entry] = []
        position = self.offset
        self.handle.seek(position)
        while position < end and len(entries) < max_records and position - self.offset < max_bytes:
            line = self.handle.readline(end - position)
            record, problem = decode(line)
            entries.append(Entry(position, position + len(line), record, problem, line if problem else b""))
            position += len(line)
        return entries

    def keep_damaged(self, entry: Entry) -> Damage:
        """Keep a damaged line's bytes beside the spool (the same file however often it is met)."""
        kept = self.spool.directory / f"damaged-{self.inode}-{entry.offset}.bin"
        try:
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, entry.raw)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            action = f"cannot keep the damaged record at byte {entry.offset}"
            raise _problem(self.spool.directory, action, error) from None
        return Damage(entry.offset, entry.end - entry.offset, entry.problem or "", str(kept))

    def commit(self, end: int) -> None:
        """Everything before ``end`` is delivered (or kept aside as damaged)."""
        try:
            self.spool._write_sent(self.inode, end)
        except OSError as error:
            raise _problem(self.spool.directory, "cannot record how far it was delivered", error) from None
        self.offset = end

    def _finish(self) -> None:
        with self.spool._lock("append.lock"):
            try:
                status = self.spool.file.stat()
            except FileNotFoundError:
                return
            if status.st_ino != self.inode or status.st_size != self.offset:
                return  # appended to since: the next round delivers that
            try:
                self.spool.sent_file.unlink(missing_ok=True)
                self.spool.file.unlink()
                fsync_directory(self.spool.directory)
            except OSError as error:
                raise _problem(self.spool.directory, "cannot remove the delivered spool", error) from None
