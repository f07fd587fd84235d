"""How far earlier runs read each log file, kept in the --state directory as reading.json.

A file is known by its content, not its name: the hash of its first block (of the inflated content,
for a compressed file), so that a log renamed by rotation, copied before truncation or compressed
later is still the file read before. Its inode and on-disk size are kept beside it: they tell a
rename from a copy, and whether anything was added since.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.errors import BadInputError
from log_analysis.baseline.store import write_state_file

READING_FILE = "reading.json"
READING_SCHEMA = "airgapctl/audit-reading"
READING_VERSION = 1
BLOCK = 4096  # the head that identifies a file's content
FORGET_AFTER = 62 * 86400  # a file no run has seen for two months has been rotated away for good


@dataclass
class Position:
    """What earlier runs read of one file's content."""

    head: str  # sha256 of the content's first ``head_len`` bytes
    head_len: int
    offset: int  # bytes of the (inflated) content read, up to a line's end
    whole: bool  # a compressed file read to its end: nothing can follow
    path: str  # where it was last seen
    inode: int
    size: int  # its size on disk then
    seen: float  # when a run last found it


@dataclass
class ReadingState:
    positions: list[Position] = field(default_factory=list)
    carry: dict[str, Any] | None = None  # log_analysis.incremental.carry: the aggregates of the last hour read

    def find(self, head: bytes) -> Position | None:
        """The position of the content starting with ``head``, if an earlier run read it."""
        digests: dict[int, str] = {}
        for position in self.positions:
            if not 0 < position.head_len <= len(head):
                continue
            digest = digests.get(position.head_len) or digests.setdefault(
                position.head_len, head_digest(head[: position.head_len])
            )
            if digest == position.head:
                return position
        return None

    def replace(self, old: Position | None, new: Position) -> None:
        if old is not None and old in self.positions:
            self.positions.remove(old)
        self.positions = [p for p in self.positions if not (p.head == new.head and p.head_len == new.head_len)]
        self.positions.append(new)

    def forget_old(self, now: float) -> None:
        self.positions = [p for p in self.positions if now - p.seen < FORGET_AFTER]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": READING_SCHEMA,
            "schema_version": READING_VERSION,
            "files": [asdict(p) for p in self.positions],
            "carry": self.carry,
        }


def head_digest(head: bytes) -> str:
    return hashlib.sha256(head).hexdigest()


def load_reading(state_dir: Path | None) -> ReadingState:
    """The read positions kept in ``state_dir``; none without a state directory or before the first run."""
    if state_dir is None:
        return ReadingState()
    path = state_dir / READING_FILE
    if not path.exists():
        return ReadingState()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != READING_SCHEMA or data.get("schema_version") != READING_VERSION:
            raise ValueError(f"not a version {READING_VERSION} audit reading state")
        return ReadingState([Position(**entry) for entry in data["files"]], data.get("carry"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadInputError(
            f"{path}: not a usable record of what earlier audits read ({error})",
            hint="move it away: the next run then reads every log file whole",
        ) from None


def save_reading(state_dir: Path, reading: ReadingState) -> Path:
    reading.forget_old(time.time())
    return write_state_file(state_dir / READING_FILE, reading.to_json())
