"""Loading policy.json for the gateway: schema first, one clear line naming file and place."""

from __future__ import annotations

import copy
import json

import pytest

from airgapctl.errors import BadInputError, ExitCode
from airgapctl.gateway.policy import load_policy

FIXTURES = "tests/fixtures/policy"


def test_a_valid_policy_loads_from_a_file_or_a_dict(repo):
    path = repo / FIXTURES / "minimal.policy.json"
    policy, label = load_policy(path)
    assert label == str(path)
    assert load_policy(copy.deepcopy(policy)) == (policy, "<policy>")


def test_schema_error_names_the_file_and_the_json_path(repo):
    path = repo / FIXTURES / "bad-method.policy.json"
    with pytest.raises(BadInputError) as error:
        load_policy(path)
    assert error.value.exit_code == ExitCode.BAD_INPUT
    assert error.value.message.startswith(f"{path}: /operations/1/method: 'FETCH' is not one of")
    assert "\n" not in error.value.message


def test_invalid_json_and_missing_files_are_bad_input(repo, tmp_path):
    with pytest.raises(BadInputError, match=r"not valid JSON: Expecting value at line 2 column 11"):
        load_policy(repo / FIXTURES / "not-json.policy.json")
    with pytest.raises(BadInputError, match="cannot read the policy: No such file or directory"):
        load_policy(tmp_path / "missing.json")


def test_a_sunset_that_is_no_date_is_refused(repo):
    policy = json.loads((repo / FIXTURES / "minimal.policy.json").read_text())
    policy["operations"][0]["sunset"] = "2026-02-30"
    with pytest.raises(BadInputError, match=r"<policy>: /operations/0/sunset: '2026-02-30' is not a date"):
        load_policy(policy)
