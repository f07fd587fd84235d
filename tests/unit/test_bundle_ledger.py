"""The import ledger: hash chain, head file, and naming the first bad line."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from airgapctl.bundle.ledger import GENESIS, Attempt, append_attempt, head_path, verify_ledger
from airgapctl.errors import BadInputError, ExitCode, LedgerBrokenError


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "var" / "ledger.jsonl"
    for number in range(1, 6):
        attempt = Attempt(source=f"/media/b{number}", bundle="site-a", version="1", sequence=number)
        result, code = ("accepted", 0) if number % 2 else ("rejected", 13)
        append_attempt(path, attempt, result, f"reason {number}", code, f"2025-01-0{number}T00:00:00Z")
    return path


def _lines(path):
    return path.read_bytes().splitlines(keepends=True)


def _broken(path) -> str:
    with pytest.raises(LedgerBrokenError) as error:
        verify_ledger(path)
    assert error.value.exit_code == ExitCode.LEDGER_BROKEN == 18
    return error.value.message


def test_entries_chain_and_files_are_0640(ledger):
    lines = _lines(ledger)
    entries = [json.loads(line) for line in lines]
    assert entries[0]["prev"] == GENESIS
    for previous, entry in zip(lines, entries[1:], strict=False):
        assert entry["prev"] == hashlib.sha256(previous).hexdigest()
    assert [e["entry"] for e in entries] == [1, 2, 3, 4, 5]
    assert set(entries[0]) >= {"time", "bundle", "version", "sequence", "manifest_sha256", "key_id", "result"}
    assert stat.S_IMODE(os.stat(ledger).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(head_path(ledger)).st_mode) == 0o640
    report = verify_ledger(ledger)
    assert (report.entries, report.accepted, report.rejected, report.unconfirmed) == (5, 3, 2, 0)


def test_an_edited_line_is_named(ledger):
    lines = _lines(ledger)
    lines[1] = lines[1].replace(b'"rejected"', b'"accepted"')
    ledger.write_bytes(b"".join(lines))
    assert "line 2 was edited" in _broken(ledger)


def test_an_edited_last_line_is_named_by_the_head(ledger):
    lines = _lines(ledger)
    lines[-1] = lines[-1].replace(b"reason 5", b"reason X")
    ledger.write_bytes(b"".join(lines))
    assert "line 5 was edited" in _broken(ledger)


def test_a_removed_line_is_named(ledger):
    lines = _lines(ledger)
    del lines[2]
    ledger.write_bytes(b"".join(lines))
    assert "line 3 is entry 4: entry 3 removed" in _broken(ledger)


def test_a_removed_last_line_is_named_by_the_head(ledger):
    ledger.write_bytes(b"".join(_lines(ledger)[:-1]))
    assert "line 5 removed" in _broken(ledger)


def test_reordered_lines_are_named(ledger):
    lines = _lines(ledger)
    lines[1], lines[2] = lines[2], lines[1]
    ledger.write_bytes(b"".join(lines))
    assert "line 2 is entry 3 and entry 2 is at line 3: entries reordered" in _broken(ledger)


def test_a_removed_first_line_is_named(ledger):
    ledger.write_bytes(b"".join(_lines(ledger)[1:]))
    assert "line 1 is entry 2: entry 1 removed" in _broken(ledger)


def test_renumbered_after_removal_is_still_caught(ledger):
    entries = [json.loads(line) for line in _lines(ledger)]
    del entries[1]
    for number, entry in enumerate(entries, start=1):
        entry["entry"] = number
    ledger.write_bytes(
        b"".join((json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n").encode() for e in entries)
    )
    assert "line 1 was edited (or entries after it removed and renumbered): line 2 records" in _broken(ledger)


def test_missing_head_incomplete_line_and_garbage_are_broken(ledger):
    content = ledger.read_bytes()
    ledger.write_bytes(content + b'{"half')
    assert "line 6 is incomplete" in _broken(ledger)
    ledger.write_bytes(content.replace(b"{", b"[", 1))
    assert "line 1 is not JSON" in _broken(ledger)
    ledger.write_bytes(content)
    head_path(ledger).unlink()
    assert "head file" in _broken(ledger)


def test_append_after_an_unfinished_head_update_is_reported_not_broken(ledger):
    head = head_path(ledger).read_bytes()
    append_attempt(ledger, Attempt(source="x"), "rejected", "r", 10, "2025-02-01T00:00:00Z")
    head_path(ledger).write_bytes(head)  # as if the process died between the append and the head update
    assert verify_ledger(ledger).unconfirmed == 1


def test_no_ledger_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="no ledger"):
        verify_ledger(tmp_path / "absent.jsonl")
