"""The audit checks a policy file once: the same bytes are not validated again by a later run with the
same --state, while a changed, invalid or otherwise unknown policy is checked in full, and refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from airgapctl.errors import BadInputError
from log_analysis import known_policy
from log_analysis.pipeline import AuditOptions, run_audit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
POLICY = json.loads((FIXTURES / "policy.json").read_text())
SAMPLE = json.loads((FIXTURES / "readers" / "gateway_lines.log").read_text().splitlines()[0])
START = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _append(log: Path, first: int, count: int = 20) -> None:
    lines = [
        json.dumps(SAMPLE | {"time": (START + dt.timedelta(seconds=10 * i)).isoformat(), "request_id": f"{i:032x}"})
        for i in range(first, first + count)
    ]
    with log.open("a") as stream:
        stream.write("".join(line + "\n" for line in lines))


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """The labels of the policies checked in full."""
    seen: list[str] = []
    check = known_policy.check_policy

    def counted(policy, label):
        seen.append(label)
        check(policy, label)

    monkeypatch.setattr(known_policy, "check_policy", counted)
    return seen


@pytest.fixture
def site(tmp_path) -> tuple[Path, Path, Path]:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    return policy, tmp_path / "access.log", tmp_path / "state"


def _audit(policy: Path, log: Path, state: Path | None, **options) -> dict:
    return run_audit(AuditOptions(logs=[log], policy=policy, state_dir=state, **options)).report


def test_the_same_policy_is_checked_once_per_state(site, checks):
    policy, log, state = site
    _append(log, 0)
    _audit(policy, log, state)
    assert checks == [str(policy)]
    assert (state / known_policy.POLICY_CHECK_FILE).exists()
    _append(log, 20)
    second = _audit(policy, log, state)
    assert checks == [str(policy)]  # the second run did not check it again
    assert second["inputs"]["lines_read"] == 20


def test_a_changed_invalid_policy_is_refused_although_one_was_known_valid(site, checks):
    policy, log, state = site
    _append(log, 0)
    _audit(policy, log, state)
    broken = json.loads(policy.read_text())
    broken["operations"][0]["method"] = "FETCH"
    policy.write_text(json.dumps(broken))
    _append(log, 20)
    with pytest.raises(BadInputError, match=r"/operations/0/method: 'FETCH' is not one of"):
        _audit(policy, log, state)
    # Refused again on the next run: an invalid policy is never recorded.
    with pytest.raises(BadInputError, match="FETCH"):
        _audit(policy, log, state)
    assert checks == [str(policy)] * 3


def test_a_changed_valid_policy_is_checked_again_and_then_known(site, checks):
    policy, log, state = site
    _append(log, 0)
    _audit(policy, log, state)
    policy.write_text(json.dumps(POLICY, indent=1))  # the same policy, other bytes
    for first in (20, 40):
        _append(log, first)
        _audit(policy, log, state)
    assert checks == [str(policy)] * 2


def test_a_record_made_with_another_schema_or_version_does_not_count(site, checks):
    policy, log, state = site
    _append(log, 0)
    _audit(policy, log, state)
    record = state / known_policy.POLICY_CHECK_FILE
    kept = json.loads(record.read_text())
    record.write_text(json.dumps(kept | {"checked_with": "airgapctl 0.0.1, policy schema 0000"}))
    _append(log, 20)
    _audit(policy, log, state)
    assert checks == [str(policy)] * 2
    assert json.loads(record.read_text()) == kept


def test_a_damaged_record_only_means_checking_again(site, checks):
    policy, log, state = site
    _append(log, 0)
    _audit(policy, log, state)
    (state / known_policy.POLICY_CHECK_FILE).write_text("{not json")
    _append(log, 20)
    _audit(policy, log, state)
    assert checks == [str(policy)] * 2


def test_runs_that_leave_the_state_as_it_was_record_nothing(site, checks):
    policy, log, state = site
    _append(log, 0)
    _audit(policy, log, state, learn=False)
    _audit(policy, log, state, full=True)
    assert not (state / known_policy.POLICY_CHECK_FILE).exists()
    _audit(policy, log, None)
    assert checks == [str(policy)] * 3
