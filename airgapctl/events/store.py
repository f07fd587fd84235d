"""Reading stored events back: every file of the events stream, repeats dropped by id, in time order.

The collector writes ``<store>/events/`` as JSON lines (contracts/events); rotation leaves
``*.log.N`` and gzip-compressed files beside the live ``*.log``. Delivery is at least once, so
the same event may be stored twice: the first line of each id counts, the others are repeats.
"""

from __future__ import annotations

import fnmatch
import gzip
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.contracts import events as contract
from airgapctl.errors import BadInputError, EnvironmentProblem

_ROTATED = re.compile(r"\.log\.\d+$")


@dataclass
class StoreReading:
    directory: str
    events: list[dict[str, Any]] = field(default_factory=list)  # in time order, each id once
    files: int = 0
    lines: int = 0
    repeats: int = 0  # lines whose id was read before
    skipped: dict[str, int] = field(default_factory=dict)  # lines that are no event, by reason


def stream_files(directory: Path) -> list[Path]:
    """The stream's files, below ``directory`` at any depth: ``*.log``, ``*.log.N``, ``*.gz``."""
    found = [
        path
        for path in directory.rglob("*")
        if path.is_file() and (path.name.endswith((".log", ".gz")) or _ROTATED.search(path.name))
    ]
    return sorted(found)


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    with opener(path, "rb") as handle:
        yield from handle


def tag_matches(tag: str, pattern: str) -> bool:
    """``bundle`` or ``airgap.bundle`` take airgap.bundle and everything below it; * and ? as in a shell."""
    wanted = pattern if pattern.startswith(contract.TAG_PREFIX) else f"{contract.TAG_PREFIX}.{pattern}"
    return tag == wanted or tag.startswith(wanted + ".") or fnmatch.fnmatchcase(tag, wanted)


def read_store(store: Path, *, tag: str | None = None, since: float | None = None) -> StoreReading:
    """The events stored under ``store``/events (``store``: the store's root), filtered by tag and time."""
    directory = Path(store) / contract.STREAM
    if not directory.is_dir():
        raise BadInputError(
            f"events store {directory}: no such directory",
            hint=f"give the store's root with --store (the logging role keeps {contract.STORE_ROOT})",
        )
    reading = StoreReading(str(directory))
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    kept: list[dict[str, Any]] = []
    for path in stream_files(directory):
        reading.files += 1
        try:
            for line in _lines(path):
                reading.lines += 1
                try:
                    record = contract.parse_line(line)
                except ValueError as error:
                    skipped[str(error)] += 1
                    continue
                if record["id"] in seen:
                    reading.repeats += 1
                    continue
                seen.add(record["id"])
                kept.append(record)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            skipped["unreadable compressed tail"] += 1  # a file still being compressed, or cut
        except OSError as error:
            raise EnvironmentProblem(f"events store: cannot read {path}: {error.strerror or error}") from None
    kept.sort(key=lambda record: record["time"])  # one fixed format in UTC: the text sorts as the time
    reading.events = [
        record
        for record in kept
        if (tag is None or tag_matches(record["tag"], tag))
        and (since is None or contract.parse_time(record["time"]) >= since)
    ]
    reading.skipped = dict(sorted(skipped.items()))
    return reading
