"""Which part of each log file a run reads, and where it got to afterwards.

A file an earlier run read is read from where that run stopped: its unread part is copied into the
run's work directory (DuckDB reads files from their start), a compressed copy inflated past that
point. Within one run, two files with the same content (a log and its compressed copy during
rotation) are read once. Plain files are read up to the last complete line they hold when the run
plans; one that grew while it was scanned is measured again afterwards.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from airgapctl.errors import BadInputError
from log_analysis.incremental.positions import BLOCK, Position, ReadingState, head_digest
from log_analysis.model import FileStats
from log_analysis.readers.inputs import LogInput, head_bytes, inflate, with_tail

_CHUNK = 1 << 20
_PEEK = 65536  # what with_tail reads of a copy's beginning


@dataclass
class Planned:
    """One file the run reads: how (``log``), and what identifies it for the next run."""

    log: LogInput
    head: bytes  # the content's first block
    earlier: Position | None  # what an earlier run read of it
    end: int | None  # a plain file is read up to here (a line's end); None: a compressed file, to its end
    size: int  # on disk, when planned
    inode: int


@dataclass
class Unchanged:
    """A file with nothing new to read."""

    path: str
    why: str
    known: Position | None = field(default=None, compare=False)  # what an earlier run read of it

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "why": self.why}


@dataclass
class ReadingPlan:
    planned: list[Planned] = field(default_factory=list)
    unchanged: list[Unchanged] = field(default_factory=list)
    # The plain files' new parts still to copy (source, start, end, copy): copy_tails() makes them.
    tails: list[tuple[Path, int, int, Path]] = field(default_factory=list)

    @property
    def inputs(self) -> list[LogInput]:
        return [p.log for p in self.planned]

    @property
    def size(self) -> int:
        """About how many bytes the run reads: a plain file's new part, or its size on disk."""
        return sum(p.size if p.end is None else p.end - p.log.read_from for p in self.planned)

    def copy_tails(self) -> None:
        """Make the copies the plan's inputs are read from. Copying runs in the kernel, without
        holding Python's lock, so a run may load DuckDB meanwhile."""
        while self.tails:
            _copy_range(*self.tails.pop())


def plan_reading(inputs: list[LogInput], reading: ReadingState, work_dir: Path, copy_tails: bool = True) -> ReadingPlan:
    """What to read of each input, given what earlier runs read (``reading``; empty: read everything).
    ``copy_tails``: copy the plain files' new parts now; otherwise ``copy_tails()`` does, later."""
    plan = ReadingPlan()
    read_here: dict[str, str] = {}  # content key -> the file that reads it in this run
    # Plain files first: of a log and its compressed copy, the plain one is the cheaper to read.
    for log in sorted(inputs, key=lambda i: i.compressed):
        try:
            stat = log.path.stat()
        except OSError as error:
            raise BadInputError(f"{log.path}: cannot read: {error.strerror or error}") from None
        head = head_bytes(log.path, log.compressed, BLOCK)
        earlier = reading.find(head) if head else None
        key = f"{earlier.head}:{earlier.head_len}" if earlier else head_digest(head) if head else f"empty:{log.path}"
        if key in read_here:
            plan.unchanged.append(Unchanged(str(log.path), f"the same content as {read_here[key]}, read in this run"))
            continue
        planned = _plan_one(log, head, earlier, stat, work_dir, len(plan.planned), plan.tails)
        if isinstance(planned, Unchanged):
            plan.unchanged.append(planned)
            continue
        read_here[key] = str(log.path)
        plan.planned.append(planned)
    plan.planned.sort(key=lambda p: (p.log.first_time is None, p.log.first_time or 0.0, p.log.label))
    if copy_tails:
        plan.copy_tails()
    return plan


def _plan_one(
    log: LogInput,
    head: bytes,
    earlier: Position | None,
    stat: os.stat_result,
    work_dir: Path,
    number: int,
    tails: list[tuple[Path, int, int, Path]],
) -> Planned | Unchanged:
    if earlier is not None and earlier.whole:
        return Unchanged(str(log.path), _known(earlier, stat, "read to its end by an earlier run"), earlier)
    start = earlier.offset if earlier is not None else 0
    copy = work_dir / f"tail-{number}-{log.path.name.removesuffix('.gz')}"
    if log.compressed:
        if start and _gzip_size(log.path) == start % 2**32:
            return Unchanged(
                str(log.path), _known(earlier, stat, "compressed after an earlier run read all of it"), earlier
            )
        if start:
            if not _inflate_after(log.path, start, copy):
                return Unchanged(
                    str(log.path), _known(earlier, stat, "compressed after an earlier run read all of it"), earlier
                )
            log = with_tail(log, copy, start)
        return Planned(log, head, earlier, None, stat.st_size, stat.st_ino)
    end = _last_line_end(log.path, start, stat.st_size)
    if stat.st_size and end <= start:
        what = "nothing added since an earlier run read it" if earlier else "no complete line yet"
        return Unchanged(str(log.path), _known(earlier, stat, what), earlier)
    if start:
        tails.append((log.path, start, end, copy))
        log = with_tail(log, copy, start, _read_range(log.path, start, min(end, start + _PEEK)))
    return Planned(log, head, earlier, end, stat.st_size, stat.st_ino)


def _known(earlier: Position | None, stat: os.stat_result, what: str) -> str:
    if earlier is None or earlier.inode == stat.st_ino:
        return what
    return f"{what} as {earlier.path}"


def record_reading(plan: ReadingPlan, files: list[FileStats], reading: ReadingState) -> None:
    """Move ``reading`` on past what this run read (``files``: the scan's counts, in ``plan.inputs``' order)."""
    now = time.time()
    for planned, stats in zip(plan.planned, files, strict=True):
        log = planned.log
        if planned.end is None or stats.damaged_gzip:
            offset, whole = -1, True
        elif log.tail_copy is not None:
            offset, whole = planned.end, False
        else:
            offset, whole = _offset_reached(log.path, planned, stats.lines), False
        head_len = len(planned.head) if whole else min(len(planned.head), offset)
        if head_len <= 0:
            continue  # an empty file: nothing identifies it yet
        reading.replace(
            planned.earlier,
            Position(
                head_digest(planned.head[:head_len]),
                head_len,
                offset,
                whole,
                str(log.path),
                planned.inode,
                planned.size,
                now,
            ),
        )
    # A file still there is remembered, under its latest name, however long ago it was read.
    for unchanged in plan.unchanged:
        if unchanged.known is not None:
            unchanged.known.seen, unchanged.known.path = now, unchanged.path


def _offset_reached(path: Path, planned: Planned, lines: int) -> int:
    """Where the scan stopped in a plain file it read from the start: the planned end, unless the file
    grew during the scan, when it is found by counting the lines the scan saw."""
    try:
        grown = path.stat().st_size != planned.size
    except OSError:  # rotated away meanwhile: what was planned is what the scan could see
        return planned.end or 0
    if not grown:
        return planned.end or 0
    seen, offset = 0, 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            count = chunk.count(b"\n")
            if seen + count < lines:
                seen, offset = seen + count, offset + len(chunk)
                continue
            position = -1
            for _ in range(lines - seen):
                position = chunk.index(b"\n", position + 1)
            return offset + position + 1
    return offset


def _last_line_end(path: Path, start: int, size: int) -> int:
    """The end of the last complete line between ``start`` and ``size`` (``start`` when there is none)."""
    end = size
    with path.open("rb") as stream:
        while end > start:
            begin = max(start, end - _CHUNK)
            stream.seek(begin)
            newline = stream.read(end - begin).rfind(b"\n")
            if newline >= 0:
                return begin + newline + 1
            end = begin
    return start


def _read_range(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek(start)
        return stream.read(end - start)


def _copy_range(path: Path, start: int, end: int, target: Path) -> None:
    with path.open("rb") as source, target.open("wb") as sink:
        offset = start
        while offset < end:
            copied = os.copy_file_range(source.fileno(), sink.fileno(), end - offset, offset)
            if copied <= 0:
                break
            offset += copied


def _inflate_after(path: Path, start: int, target: Path) -> bool:
    """Inflate ``path`` into ``target``, leaving out its first ``start`` bytes; False when nothing is left."""
    skipped = 0

    with target.open("wb") as sink:

        def write(data: bytes) -> None:
            nonlocal skipped
            if skipped < start:
                keep = max(0, len(data) - (start - skipped))
                skipped += len(data) - keep
                data = data[len(data) - keep :]
            if data:
                sink.write(data)

        inflate(path, write)
    if target.stat().st_size == 0:
        target.unlink()
        return False
    return True


def _gzip_size(path: Path) -> int | None:
    """The inflated size a gzip file records at its end (modulo 2**32), or None when it cannot be read."""
    try:
        with path.open("rb") as stream:
            stream.seek(-4, os.SEEK_END)
            return int.from_bytes(stream.read(4), "little")
    except OSError:
        return None
