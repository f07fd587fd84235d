"""Verification fails closed: each rejection class, its exit code and message, and no state change."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airgapctl.bundle import verify_bundle, verify_ledger
from airgapctl.bundle.keys import load_private_key, sign_detached
from airgapctl.errors import AirgapError, EnvironmentProblem, ExitCode
from tests.rejection_cases import BUNDLE, CASES, ORDERS, flip_byte
from tests.unit.test_bundle_support import make_bundle, make_keys


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


@pytest.fixture
def site(tmp_path, keys):
    """A site that already accepted site-a sequence 1: its state dir and ledger."""
    state, ledger = tmp_path / "state", tmp_path / "ledger.jsonl"
    verify_bundle(make_bundle(tmp_path / "b1", keys[0]), keys[1], state_dir=state, ledger_path=ledger)
    return state, ledger


def _ledger_lines(ledger: Path) -> list[dict]:
    return [json.loads(line) for line in ledger.read_text().splitlines()]


def _resign(root: Path, private: Path, document: dict) -> None:
    data = (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()
    (root / "manifest.json").write_bytes(data)
    (root / "manifest.json.sig").write_bytes(sign_detached(load_private_key(private), data))


def _prefix(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def test_roundtrip_accepts_records_state_and_ledger(tmp_path, keys, site):
    state, ledger = site
    root = make_bundle(tmp_path / "b2", keys[0], sequence=2)
    result = verify_bundle(root, keys[1], state_dir=state, ledger_path=ledger)
    assert (result.name, result.sequence, result.previous_sequence) == ("site-a", 2, 1)
    assert result.sequence_checked and result.state_updated and not result.downgrade
    assert result.manifest_sha256 == hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
    accepted = json.loads((state / "accepted.json").read_text())["bundles"]["site-a"]
    assert accepted["sequence"] == 2 and accepted["manifest_sha256"] == result.manifest_sha256
    entries = _ledger_lines(ledger)
    assert [e["result"] for e in entries] == ["accepted", "accepted"]
    assert entries[-1]["sequence"] == 2 and entries[-1]["exit_code"] == 0
    assert verify_ledger(ledger).accepted == 2


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_rejection_has_its_code_and_message_and_changes_no_state(tmp_path, keys, site, case):
    state, ledger = site
    code, message = case.code, case.message
    root = make_bundle(tmp_path / "b2", keys[0], sequence=2)  # would be accepted if untouched
    case.mutate(root, keys[0])
    state_before, accepted_before = (state / "accepted.json").read_bytes(), _ledger_lines(ledger)
    with pytest.raises(AirgapError) as error:
        verify_bundle(root, keys[1], state_dir=state, ledger_path=ledger, expected_name=case.expect_name)
    assert error.value.exit_code == code
    assert message in error.value.message
    assert "\n" not in error.value.message
    assert (state / "accepted.json").read_bytes() == state_before
    entries = _ledger_lines(ledger)
    assert entries[:-1] == accepted_before
    assert entries[-1]["result"] == "rejected" and entries[-1]["exit_code"] == code
    assert entries[-1]["reason"] == error.value.message
    assert verify_ledger(ledger).rejected == 1


def test_altered_content_of_the_same_size_names_both_hash_prefixes(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    original = (root / ORDERS).read_bytes()
    flip_byte(BUNDLE)(root, None)
    with pytest.raises(AirgapError) as error:
        verify_bundle(root, keys[1])
    assert error.value.exit_code == ExitCode.BUNDLE_FILE_ALTERED == 13
    expected = f"{ORDERS}: sha256 expected {_prefix(original)}, found {_prefix((root / ORDERS).read_bytes())}"
    assert expected in error.value.message


def test_unknown_key_is_a_signature_failure_naming_the_claimed_key(tmp_path, keys, site):
    state, ledger = site
    other_private, _ = make_keys(tmp_path / "other", "other")
    root = make_bundle(tmp_path / "b2", other_private, sequence=2)
    with pytest.raises(AirgapError) as error:
        verify_bundle(root, keys[1], state_dir=state, ledger_path=ledger)
    assert error.value.exit_code == ExitCode.BUNDLE_SIGNATURE
    claimed = json.loads((root / "manifest.json").read_text())["key_id"][:12]
    assert f"the manifest claims key {claimed}, unverified" in error.value.message
    rejected = _ledger_lines(ledger)[-1]
    assert rejected["bundle"] is None and rejected["sequence"] is None  # nothing unsigned is recorded as fact


def test_expired_bundle_is_refused(tmp_path, keys, site):
    state, ledger = site
    root = make_bundle(tmp_path / "b2", keys[0], sequence=2, expires="2025-06-01T00:00:00Z")
    before = verify_bundle(root, keys[1], now=datetime(2025, 5, 31, tzinfo=UTC))  # no state: only checks
    assert before.expires == "2025-06-01T00:00:00Z"
    with pytest.raises(AirgapError) as error:
        verify_bundle(root, keys[1], state_dir=state, ledger_path=ledger, now=datetime(2025, 6, 1, tzinfo=UTC))
    assert error.value.exit_code == ExitCode.BUNDLE_EXPIRED == 15
    assert "expired at 2025-06-01T00:00:00Z (now 2025-06-01T00:00:00Z)" in error.value.message
    assert json.loads((state / "accepted.json").read_text())["bundles"]["site-a"]["sequence"] == 1


def test_replay_and_rollback_are_refused_without_allow_downgrade(tmp_path, keys, site):
    state, ledger = site
    verify_bundle(make_bundle(tmp_path / "b3", keys[0], sequence=3), keys[1], state_dir=state, ledger_path=ledger)
    for sequence, word in ((3, "replay"), (2, "rollback")):
        root = make_bundle(tmp_path / f"again{sequence}", keys[0], sequence=sequence)
        with pytest.raises(AirgapError) as error:
            verify_bundle(root, keys[1], state_dir=state, ledger_path=ledger)
        assert error.value.exit_code == ExitCode.BUNDLE_ROLLBACK == 14
        assert f"{word}: bundle site-a sequence {sequence} is not newer than the last accepted sequence 3" in (
            error.value.message
        )
    assert json.loads((state / "accepted.json").read_text())["bundles"]["site-a"]["sequence"] == 3
    assert [e["result"] for e in _ledger_lines(ledger)] == ["accepted", "accepted", "rejected", "rejected"]


def test_allow_downgrade_accepts_and_says_so(tmp_path, keys, site):
    state, ledger = site
    verify_bundle(make_bundle(tmp_path / "b3", keys[0], sequence=3), keys[1], state_dir=state, ledger_path=ledger)
    root = make_bundle(tmp_path / "b2", keys[0], sequence=2)
    result = verify_bundle(root, keys[1], state_dir=state, ledger_path=ledger, allow_downgrade=True)
    assert result.downgrade and result.previous_sequence == 3
    assert "deliberate rollback" in result.warnings[0]
    record = json.loads((state / "accepted.json").read_text())["bundles"]["site-a"]
    assert (record["sequence"], record["highest_sequence"]) == (2, 3)
    last = _ledger_lines(ledger)[-1]
    assert last["result"] == "accepted" and "deliberate rollback" in last["reason"]


def test_other_bundle_names_have_their_own_sequence(tmp_path, keys, site):
    state, _ = site
    result = verify_bundle(make_bundle(tmp_path / "o", keys[0], name="site-b"), keys[1], state_dir=state)
    assert result.previous_sequence is None
    assert set(json.loads((state / "accepted.json").read_text())["bundles"]) == {"site-a", "site-b"}


def test_without_state_the_sequence_is_not_checked_and_says_so(tmp_path, keys):
    result = verify_bundle(make_bundle(tmp_path / "b", keys[0]), keys[1])
    assert not result.sequence_checked and not result.state_updated
    assert result.warnings == ("sequence not checked: no state directory given",)


def test_unwritable_ledger_stops_before_anything_is_checked(tmp_path, keys, site):
    state, _ = site
    (tmp_path / "ledger-dir").mkdir()
    before = (state / "accepted.json").read_bytes()
    root = make_bundle(tmp_path / "b2", keys[0], sequence=2)
    with pytest.raises(EnvironmentProblem, match="cannot open ledger"):
        verify_bundle(root, keys[1], state_dir=state, ledger_path=tmp_path / "ledger-dir")
    assert (state / "accepted.json").read_bytes() == before


def test_corrupt_state_fails_closed(tmp_path, keys, site):
    state, ledger = site
    (state / "accepted.json").write_text("{not json")
    with pytest.raises(AirgapError, match="state file"):
        verify_bundle(make_bundle(tmp_path / "b2", keys[0], sequence=2), keys[1], state_dir=state, ledger_path=ledger)
    assert _ledger_lines(ledger)[-1]["result"] == "rejected"


def test_an_undecodable_file_name_is_an_extra_file_and_still_recorded(tmp_path, keys, site):
    state, ledger = site
    root = make_bundle(tmp_path / "b2", keys[0], sequence=2)
    (root / os.fsdecode(b"\xffbad.bin")).write_bytes(b"x")
    with pytest.raises(AirgapError) as error:
        verify_bundle(root, keys[1], state_dir=state, ledger_path=ledger)
    assert error.value.exit_code == ExitCode.BUNDLE_FILE_EXTRA
    assert _ledger_lines(ledger)[-1]["exit_code"] == ExitCode.BUNDLE_FILE_EXTRA
    assert verify_ledger(ledger).entries == 2
