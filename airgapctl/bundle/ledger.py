"""The import ledger: one hash-chained JSON line per verification attempt, accepted or rejected.

The format and the append are the trust core's (airgapctl/bundle/trust/ documents them):
each line holds entry, time, bundle, version, sequence, manifest_sha256, key_id (null when
the manifest was not trusted), source, result, reason, exit_code and prev, the SHA-256 of the
previous line's exact bytes; the head file ``<ledger>.head`` reveals a removed last line.
``result`` is ``accepted`` or ``rejected`` for a verification (of a bundle or a data
package), or ``exported`` for a data package the site signed (airgapctl.sync.package); a
ledger written before exports existed reads the same. This module checks a whole ledger
(``bundle ledger verify``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from airgapctl.bundle import trust
from airgapctl.bundle.fileio import read_regular_file
from airgapctl.errors import BadInputError, LedgerBrokenError, trust_errors

DEFAULT_LEDGER_PATH = Path("/var/lib/airgap/ledger.jsonl")
GENESIS = trust.GENESIS
LEDGER_LIMIT = 1 << 30
RESULTS = ("accepted", "rejected", "exported")


@dataclass(frozen=True)
class Attempt:
    """What is known about one verification attempt; fields stay None until the signature verified."""

    source: str
    bundle: str | None = None
    version: str | None = None
    sequence: int | None = None
    manifest_sha256: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class LedgerReport:
    path: str
    entries: int
    accepted: int
    rejected: int
    # Entries after the one the head file records: appended, but the head update did not finish.
    unconfirmed: int
    last_sha256: str
    exported: int = 0


def head_path(ledger_path: Path) -> Path:
    return Path(trust.head_path(ledger_path))


_line_hash = trust.line_hash


def _lines_of(content: bytes, path: Path) -> list[bytes]:
    with trust_errors():
        return trust.ledger_lines(content, path)


def check_appendable(path: Path) -> None:
    """Fail before a verification starts when its outcome could not be recorded."""
    with trust_errors():
        trust.check_appendable(Path(path))


def append_attempt(path: Path, attempt: Attempt, result: str, reason: str, exit_code: int, time: str) -> dict:
    """Append one entry chained to the last line; return the entry written."""
    with trust_errors():
        return trust.append_attempt(Path(path), asdict(attempt), result, reason, exit_code, time)


def _parse_line(number: int, line: bytes, path: Path) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        raise LedgerBrokenError(f"ledger {path}: line {number} is not JSON (edited)") from None
    if not isinstance(entry, dict):
        raise LedgerBrokenError(f"ledger {path}: line {number} is not a JSON object (edited)")
    for name, kind in trust.LEDGER_FIELDS.items():
        if name not in entry or not isinstance(entry[name], kind) or isinstance(entry[name], bool):
            raise LedgerBrokenError(f"ledger {path}: line {number} lacks a valid {name!r} field (edited)")
    return entry


def _line_holding(lines: list[bytes], wanted: int) -> int | None:
    """The line number whose entry number is ``wanted``, read leniently (for the message only)."""
    for number, line in enumerate(lines, start=1):
        try:
            if json.loads(line).get("entry") == wanted:
                return number
        except (ValueError, AttributeError, RecursionError):
            continue
    return None


def _check_chain(number: int, entry: dict[str, Any], lines: list[bytes], path: Path) -> None:
    previous_line = lines[number - 2] if number > 1 else None
    if entry["entry"] > number:
        moved_to = _line_holding(lines[number:], number)
        if moved_to is not None:
            raise LedgerBrokenError(
                f"ledger {path}: line {number} is entry {entry['entry']} and entry {number} is at line "
                f"{number + moved_to}: entries reordered"
            )
        missing = f"{number}" if entry["entry"] == number + 1 else f"{number} to {entry['entry'] - 1}"
        raise LedgerBrokenError(f"ledger {path}: line {number} is entry {entry['entry']}: entry {missing} removed")
    if entry["entry"] < number:
        raise LedgerBrokenError(
            f"ledger {path}: line {number} is entry {entry['entry']}: entries reordered or duplicated"
        )
    expected = GENESIS if previous_line is None else _line_hash(previous_line)
    if entry["prev"] != expected:
        if previous_line is None:
            raise LedgerBrokenError(f"ledger {path}: line 1 does not start the chain (edited)")
        raise LedgerBrokenError(
            f"ledger {path}: line {number - 1} was edited (or entries after it removed and renumbered): "
            f"line {number} records its hash as "
            f"{entry['prev'][:12]}, the line now hashes to {expected[:12]}"
        )


def _read_head(path: Path) -> dict[str, Any] | None:
    head_file = head_path(path)
    if not os.path.lexists(head_file):
        return None
    try:
        head = json.loads(read_regular_file(head_file, 4096, "ledger head"))
        if isinstance(head, dict) and type(head.get("entries")) is int and isinstance(head.get("last_sha256"), str):
            return head
    except ValueError:
        pass
    raise LedgerBrokenError(f"ledger head {head_file} is not valid (edited)")


def _check_head(lines: list[bytes], head: dict[str, Any] | None, path: Path) -> int:
    """Compare the ledger with its head file; return how many entries come after the head's."""
    if head is None:
        if lines:
            raise LedgerBrokenError(f"ledger {path}: head file {head_path(path)} is missing (removed)")
        return 0
    recorded = head["entries"]
    if recorded > len(lines):
        gone = f"{recorded}" if recorded == len(lines) + 1 else f"{len(lines) + 1} to {recorded}"
        raise LedgerBrokenError(f"ledger {path}: line {gone} removed: the head records {recorded} entries")
    if recorded and _line_hash(lines[recorded - 1]) != head["last_sha256"]:
        raise LedgerBrokenError(f"ledger {path}: line {recorded} was edited: it does not match the head file")
    return len(lines) - recorded


def verify_ledger(path: Path = DEFAULT_LEDGER_PATH) -> LedgerReport:
    """Check every line's chain link and the head; raise LedgerBrokenError naming the first bad line."""
    path = Path(path)
    if not os.path.lexists(path):
        if os.path.lexists(head_path(path)):
            raise LedgerBrokenError(f"ledger {path} is missing but its head file exists (removed)")
        raise BadInputError(f"no ledger at {path}", hint="give the ledger's path")
    lines = _lines_of(read_regular_file(path, LEDGER_LIMIT, "ledger"), path)
    results = dict.fromkeys(RESULTS, 0)
    for number, line in enumerate(lines, start=1):
        entry = _parse_line(number, line, path)
        _check_chain(number, entry, lines, path)
        if entry["result"] not in results:
            raise LedgerBrokenError(f"ledger {path}: line {number} has result {entry['result']!r} (edited)")
        results[entry["result"]] += 1
    unconfirmed = _check_head(lines, _read_head(path), path)
    last = _line_hash(lines[-1]) if lines else GENESIS
    return LedgerReport(
        str(path), len(lines), results["accepted"], results["rejected"], unconfirmed, last, results["exported"]
    )
