"""The store's names: ``<store>/<stream>/`` holds one file per UTC day, named for it.

A day's file is ``YYYY-MM-DD.log`` while the collector writes it; compressed, ``YYYY-MM-DD.log.gz``
(``.log.N.gz`` when that name was taken, as when Fluentd's out_file wrote the .gz itself). Rotated
(``.log.N``) and Fluentd's indexed (``YYYY-MM-DD_N.log``) names are days too. Compression's own
names in passing are ``YYYY-MM-DD.log.gz.tmp`` (its output before it is complete: removed when
found) and ``YYYY-MM-DD.log.compressing`` (the day's lines, moved away from the collector's name
while they are compressed: finished, never removed unread). Anything else, at any place in the
store, is unknown: reported, never touched.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

# A day of a stream, whatever became of it (written, rotated, compressed).
DAY_NAME = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})(?:_\d+)?\.log(?:\.\d+)?(?:\.gz)?$")
# A day the collector wrote as plain text: what compression takes.
OPEN_NAME = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})\.log$")
# Compression's output before it is complete; left only by an interrupted run.
TEMPORARY_SUFFIX = ".gz.tmp"
TEMPORARY_NAME = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})\.log\.gz\.tmp$")
# A day's .log renamed while it is compressed, so that a writer opening the .log by path makes a new
# one: holds lines of the store, so only ever finished (see compress), never removed unread.
COMPRESSING_SUFFIX = ".compressing"
COMPRESSING_NAME = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})\.log\.compressing$")


@dataclass(frozen=True)
class DayFile:
    """A regular file of a stream named for its day."""

    stream: str
    path: Path
    day: dt.date
    size: int
    mtime: float

    @property
    def name(self) -> str:
        """The path below the store's root, as reported: ``gateway/2026-03-01.log``."""
        return f"{self.stream}/{self.path.name}"

    @property
    def is_open_name(self) -> bool:
        return OPEN_NAME.match(self.path.name) is not None


@dataclass(frozen=True)
class Note:
    """A file left as it was, and why."""

    path: str  # below the store's root
    reason: str


@dataclass
class Scan:
    root: Path
    days: list[DayFile] = field(default_factory=list)
    # Below the root, sorted; a directory where a file was expected ends in "/".
    unknown: list[str] = field(default_factory=list)
    temporaries: list[Path] = field(default_factory=list)
    # Days being compressed when a run stopped (``YYYY-MM-DD.log.compressing``), to be finished.
    compressing: list[DayFile] = field(default_factory=list)
    # Directories that could not be read, "." for the root: nothing in them was touched.
    unreadable: list[Note] = field(default_factory=list)


def day_of(name: str) -> dt.date | None:
    match = DAY_NAME.match(name)
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match["day"])
    except ValueError:  # 2026-02-30: shaped like a day, but none
        return None


def scan(root: Path) -> Scan:
    """Every file of the store, sorted into days, our interrupted temporaries and unknown names.

    Symbolic links are unknown wherever they are, so that nothing outside the store is followed."""
    found = Scan(root)
    for top in _entries(found, root, "."):
        if not top.is_dir(follow_symlinks=False):
            found.unknown.append(top.name)
            continue
        for entry in _entries(found, Path(top.path), top.name):
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed meanwhile
                continue
            name = f"{top.name}/{entry.name}"
            if not stat.S_ISREG(info.st_mode):
                found.unknown.append(name + "/" if stat.S_ISDIR(info.st_mode) else name)
            elif TEMPORARY_NAME.match(entry.name):
                found.temporaries.append(Path(entry.path))
            elif match := COMPRESSING_NAME.match(entry.name):
                if (day := day_of(f"{match['day']}.log")) is None:
                    found.unknown.append(name)
                else:
                    found.compressing.append(DayFile(top.name, Path(entry.path), day, info.st_size, info.st_mtime))
            elif (day := day_of(entry.name)) is not None:
                found.days.append(DayFile(top.name, Path(entry.path), day, info.st_size, info.st_mtime))
            else:
                found.unknown.append(name)
    return found


def _entries(found: Scan, directory: Path, name: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as error:
        found.unreadable.append(Note(name, error.strerror or str(error)))
        return []
