"""The self-test's record of the requests it sent, so that the audit can leave their log lines out.

``airgapctl gateway selftest --record FILE`` appends one JSON object per request the gateway answered:
``{"time", "request_id", "client", "method", "path"}`` (``client`` is "" for the request sent without a
certificate). ``airgapctl audit run --selftest-record FILE`` leaves out every access log line whose
``request_id`` is recorded. The id is NGINX's ``$request_id``, random per request and sent back in the
``X-Request-Id`` header: a client cannot choose it, so a record names the self-test's own lines and
no others. The record holds no header value and nothing of a credential.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from airgapctl.durable import fsync_directory

DEFAULT_PATH = Path("/var/lib/airgap/gateway/selftest-requests.jsonl")
# Each write drops what is older: the record stays small however often the gateway is deployed,
# and an audit reads its logs within days of their writing.
KEEP_DAYS = 30
# The audit user reads the record through the group; only the self-test (root) writes it.
MODE = 0o640
DIRECTORY_MODE = 0o750
# NGINX's $request_id: 16 random bytes in hex.
REQUEST_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Entry:
    time: str  # ISO 8601, UTC
    request_id: str
    client: str
    method: str
    path: str


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def append(path: Path, entries: Iterable[Entry], now: dt.datetime | None = None) -> int:
    """Add ``entries`` to the record at ``path`` and drop those older than KEEP_DAYS; the number added.

    The record is replaced whole (a new file, synced, renamed over the old one): a reader sees the
    old record or the new one, never a part. Writers take turns on a lock of the directory.
    """
    added = [entry for entry in entries if REQUEST_ID.fullmatch(entry.request_id)]
    if not added:
        return 0
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=KEEP_DAYS)
    directory = path.absolute().parent
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    lock = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kept, group = _recent_lines(path, cutoff)
        lines = kept + [json.dumps(asdict(entry), ensure_ascii=False) + "\n" for entry in added]
        _replace(path, "".join(lines).encode(), group)
        fsync_directory(directory)
    finally:
        os.close(lock)
    return len(added)


def _recent_lines(path: Path, cutoff: dt.datetime) -> tuple[list[str], int | None]:
    """The record's lines from ``cutoff`` on, and its file's group (None when there is no record yet)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            group = os.fstat(stream.fileno()).st_gid
            text = stream.read()
    except FileNotFoundError:
        return [], None
    kept = []
    for line in text.splitlines():
        entry = _parse(line)
        when = _time(entry.get("time")) if entry else None
        if when is not None and when >= cutoff:
            kept.append(line + "\n")
    return kept, group


def _replace(path: Path, content: bytes, group: int | None) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.absolute().parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, MODE)
        if group is not None and group != os.fstat(fd).st_gid:
            with contextlib.suppress(PermissionError):
                os.fchown(fd, -1, group)  # the group that lets the audit read it stays
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path) -> tuple[list[tuple[float, str]], int]:
    """The requests the record at ``path`` holds as (epoch seconds, request id), oldest first, and how
    many of its lines name none (no id, or no time).

    OSError when it cannot be read."""
    requests = []
    unreadable = 0
    with path.open(encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if not line.strip():
                continue
            entry = _parse(line) or {}
            request_id, when = entry.get("request_id"), _time(entry.get("time"))
            if isinstance(request_id, str) and REQUEST_ID.fullmatch(request_id) and when is not None:
                requests.append((when.timestamp(), request_id))
            else:
                unreadable += 1
    return sorted(requests), unreadable


def _parse(line: str) -> dict | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None
