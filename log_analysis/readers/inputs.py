"""Which files to read, in which format, in time order (rotated logs are read oldest first)."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from airgapctl.errors import BadInputError

JSON = "json"
COMBINED = "combined"
FORMATS = ("auto", JSON, COMBINED)
# NGINX/Apache "combined": addr - user [time] "request" status bytes "referer" "agent"
COMBINED_LINE = re.compile(r'^\S+ \S+ \S+ \[([^\]]+)\] "')
_ISO_TIME = re.compile(rb'"time"\s*:\s*"([^"]+)"')
_PEEK_BYTES = 65536


@dataclass(frozen=True)
class LogInput:
    path: Path
    format: str
    compressed: bool
    first_time: float | None  # epoch of the first line, for ordering; None when unreadable
    utc_offset_hours: int | None = None  # the first line's local offset
    salvaged_copy: Path | None = None  # the plain copy of a damaged gzip file's readable part
    read_from: int = 0  # bytes of the (uncompressed) content an earlier run read already
    tail_copy: Path | None = None  # the plain copy of the content after ``read_from``

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def source(self) -> Path:
        """The file the readers open (the salvaged copy of a damaged gzip file, the unread tail of one
        read before)."""
        return self.salvaged_copy or self.tail_copy or self.path


def discover_inputs(paths: list[Path], log_format: str = "auto") -> list[LogInput]:
    """Expand directories (their *.log, *.log.N, *.gz files), sniff each format, order by first timestamp."""
    if log_format not in FORMATS:
        raise BadInputError(f"--log-format {log_format!r} is not one of {', '.join(FORMATS)}")
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and _looks_like_log(p.name))
            if not found:
                raise BadInputError(
                    f"{path}: no log files in this directory", hint="give files, or a directory of *.log/*.gz"
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise BadInputError(f"{path}: no such log file", hint="check the --logs paths")
    inputs = [_sniff(p, log_format) for p in dict.fromkeys(files)]
    return sorted(inputs, key=lambda i: (i.first_time is None, i.first_time or 0.0, i.label))


def _looks_like_log(name: str) -> bool:
    return bool(re.search(r"\.log(\.\d+)?(\.gz)?$|\.gz$|\.jsonl?$", name))


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def _head(path: Path, compressed: bool, size: int = _PEEK_BYTES) -> bytes:
    try:
        if compressed:
            # A truncated stream still yields its beginning through a raw decompressor.
            with path.open("rb") as stream:
                return zlib.decompressobj(wbits=31).decompress(stream.read(_PEEK_BYTES), size)
        with path.open("rb") as stream:
            return stream.read(size)
    except (OSError, zlib.error, EOFError, gzip.BadGzipFile):
        return b""


def head_bytes(path: Path, compressed: bool, size: int = _PEEK_BYTES) -> bytes:
    """The first ``size`` bytes of a file's content (inflated when compressed); b"" when unreadable."""
    return _head(path, compressed, size)


def with_tail(log: LogInput, copy: Path, read_from: int, head: bytes | None = None) -> LogInput:
    """``log`` read from ``copy``, the plain copy of its content after the ``read_from`` bytes read before
    (``head``: the copy's first bytes, when it is still being made)."""
    head = _head(copy, False) if head is None else head[:_PEEK_BYTES]
    first = next((line.strip() for line in head.split(b"\n") if line.strip()), b"")
    when = _first_time(first, log.format)
    return replace(
        log,
        compressed=False,
        read_from=read_from,
        tail_copy=copy,
        first_time=when.timestamp() if when else log.first_time,
        utc_offset_hours=_offset_hours(when) if when else log.utc_offset_hours,
    )


def describe_content(path: Path, compressed: bool) -> str:
    """What a file's first lines look like, in words, for a message about a file no line of which could be read."""
    head = _head(path, compressed)
    if not head.strip():
        return "an empty file"
    if b"\0" in head or sum(byte < 9 or 13 < byte < 32 for byte in head[:4096]) > 8:
        return "binary data, not log lines"
    lines = [line.strip() for line in head.split(b"\n")[:20] if line.strip()]
    if sum(1 for line in lines if COMBINED_LINE.match(line.decode("utf-8", "replace"))) * 2 >= len(lines):
        return "combined (NGINX/Apache) log lines"
    if all(line.startswith(b"{") for line in lines):
        return "gateway JSON lines" if _ISO_TIME.search(lines[0]) else "JSON lines of another format"
    return "text in neither format the audit reads (JSON lines or combined)"


def _sniff(path: Path, log_format: str) -> LogInput:
    try:
        compressed = _is_gzip(path)
    except OSError as error:
        raise BadInputError(
            f"{path}: cannot read: {error.strerror or error}", hint="check the file's permissions"
        ) from None
    head = _head(path, compressed)
    first = next((line.strip() for line in head.split(b"\n") if line.strip()), b"")
    detected = COMBINED if COMBINED_LINE.match(first.decode("utf-8", "replace")) else JSON
    chosen = detected if log_format == "auto" else log_format
    when = _first_time(first, chosen)
    return LogInput(path, chosen, compressed, when.timestamp() if when else None, _offset_hours(when))


def _first_time(line: bytes, log_format: str) -> datetime | None:
    try:
        if log_format == JSON:
            match = _ISO_TIME.search(line)
            return datetime.fromisoformat(match.group(1).decode().replace("Z", "+00:00")) if match else None
        match = COMBINED_LINE.match(line.decode("utf-8", "replace"))
        return datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z") if match else None
    except ValueError:
        return None


def _offset_hours(when: datetime | None) -> int | None:
    offset = when.utcoffset() if when is not None else None
    return round(offset.total_seconds() / 3600) if offset is not None else None


def salvage_gzip(log: LogInput, directory: Path) -> LogInput | None:
    """A damaged gzip file's readable beginning as a plain file in ``directory``; None if it is intact.

    Rotation can leave a compressed log cut short; its complete lines are still worth reading (the
    cut line counts as truncated like any other).
    """
    if not log.compressed:
        return None
    target = directory / f"{len(list(directory.iterdir()))}-{log.path.name}.salvaged"
    with target.open("wb") as sink:
        intact = inflate(log.path, sink.write)
    if intact:
        target.unlink()
        return None
    return replace(log, compressed=False, salvaged_copy=target)


def gzip_intact(path: Path) -> bool:
    """Whether a gzip file inflates to its proper end. It inflates the whole file in this process
    (about 250 MB/s of log), so it is asked only where DuckDB's reading cannot tell."""
    return inflate(path, lambda data: None)


def inflate(path: Path, write: Callable[[bytes], object]) -> bool:
    """Inflate ``path`` into ``write`` up to its end (True) or its damage (False).

    When a piece fails, it is fed again byte by byte from the state before it, so that every byte
    before the damage is still written.
    """
    decompressor = zlib.decompressobj(wbits=31)
    try:
        with path.open("rb") as source:
            while chunk := source.read(1 << 16):
                before = decompressor.copy()
                try:
                    write(decompressor.decompress(chunk))
                except zlib.error:
                    for offset in range(len(chunk)):
                        try:
                            write(before.decompress(chunk[offset : offset + 1]))
                        except zlib.error:
                            break
                    return False
    except OSError as error:
        raise BadInputError(f"{path}: cannot read: {error.strerror}", hint="check the files named in --logs") from None
    return decompressor.eof
