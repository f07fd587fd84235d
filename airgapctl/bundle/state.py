"""The accepted state: the last accepted sequence per bundle name, in ``<state_dir>/accepted.json``.

The format and the locking are the trust core's (airgapctl/bundle/trust/, which documents
them); this module gives them airgapctl's types and errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle import trust
from airgapctl.errors import trust_errors

STATE_FILE = trust.STATE_FILE
LOCK_FILE = trust.LOCK_FILE
STATE_SCHEMA = trust.STATE_SCHEMA


@dataclass(frozen=True)
class AcceptedRecord:
    sequence: int
    highest_sequence: int
    version: str
    manifest_sha256: str
    key_id: str
    accepted: str


def read_accepted(state_dir: Path) -> dict[str, AcceptedRecord]:
    """Every bundle name's accepted record; an unreadable state file fails closed."""
    with trust_errors():
        records = trust.read_accepted(state_dir)
    return {name: AcceptedRecord(**record) for name, record in records.items()}


def write_accepted(state_dir: Path, records: dict[str, AcceptedRecord]) -> None:
    with trust_errors():
        trust.write_accepted(state_dir, {name: vars(record) for name, record in records.items()})


@contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's exclusive lock (created 0750 if missing)."""
    with trust_errors(), trust.state_lock(state_dir):
        yield
