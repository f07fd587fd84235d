"""The accepted state: the last accepted sequence per bundle name, in ``<state_dir>/accepted.json``.

Format: {"schema": "airgapctl/bundle-accepted", "schema_version": 1, "bundles": {NAME:
{"sequence", "highest_sequence", "version", "manifest_sha256", "key_id", "accepted"}}}.
``sequence`` is the last accepted one (a deliberate downgrade lowers it); ``highest_sequence``
keeps the highest ever accepted, for the record. The file is replaced atomically, and the
check-then-update runs under an exclusive lock so two imports cannot both pass the check.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgapctl.bundle.fileio import read_regular_file, write_atomic
from airgapctl.bundle.manifest import Manifest, load_json_strict
from airgapctl.errors import BadInputError, EnvironmentProblem

STATE_FILE = "accepted.json"
LOCK_FILE = "accepted.lock"
STATE_SCHEMA = "airgapctl/bundle-accepted"
STATE_LIMIT = 16 << 20


@dataclass(frozen=True)
class AcceptedRecord:
    sequence: int
    highest_sequence: int
    version: str
    manifest_sha256: str
    key_id: str
    accepted: str


def _check_record(name: str, record: Any, path: Path) -> AcceptedRecord:
    try:
        accepted = AcceptedRecord(**record)
    except TypeError:
        raise BadInputError(f"state file {path}: entry {name!r} has unexpected fields") from None
    if not all(type(v) is int and v >= 0 for v in (accepted.sequence, accepted.highest_sequence)):
        raise BadInputError(f"state file {path}: entry {name!r} has no valid sequence")
    return accepted


def read_accepted(state_dir: Path) -> dict[str, AcceptedRecord]:
    """Every bundle name's accepted record; an unreadable state file fails closed."""
    path = Path(state_dir) / STATE_FILE
    if not os.path.lexists(path):
        return {}
    document = load_json_strict(read_regular_file(path, STATE_LIMIT, "state file"), f"state file {path}", BadInputError)
    if not isinstance(document, dict) or document.get("schema") != STATE_SCHEMA:
        raise BadInputError(f"state file {path} is not an airgapctl accepted-bundles file", hint="restore it")
    bundles = document.get("bundles")
    if not isinstance(bundles, dict):
        raise BadInputError(f"state file {path} has no 'bundles' object", hint="restore it from a backup")
    return {name: _check_record(name, record, path) for name, record in bundles.items()}


def write_accepted(state_dir: Path, records: dict[str, AcceptedRecord]) -> None:
    document = {
        "schema": STATE_SCHEMA,
        "schema_version": 1,
        "bundles": {name: vars(records[name]) for name in sorted(records)},
    }
    data = (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()
    write_atomic(Path(state_dir) / STATE_FILE, data, mode=0o640)


def record_accepted(state_dir: Path, manifest: Manifest, manifest_sha256: str, accepted_at: str) -> AcceptedRecord:
    """Store ``manifest`` as the last accepted bundle of its name (call under ``state_lock``)."""
    records = read_accepted(state_dir)
    previous = records.get(manifest.name)
    highest = max(manifest.sequence, previous.highest_sequence if previous else 0)
    record = AcceptedRecord(manifest.sequence, highest, manifest.version, manifest_sha256, manifest.key_id, accepted_at)
    records[manifest.name] = record
    write_accepted(state_dir, records)
    return record


@contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's exclusive lock (created 0750 if missing)."""
    state_dir = Path(state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
    except OSError as error:
        raise EnvironmentProblem(f"cannot use state directory {state_dir}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
