"""The audit reads and the simulator writes the access log by its contract (airgapctl/contracts/access_log.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from airgapctl.contracts import access_log
from log_analysis.readers.gateway_json import _COLUMNS, _READ
from log_analysis.readers.problems import REASONS as PROBLEMS
from log_analysis.readers.records import read_records
from log_analysis.readers.sql import EVENT_COLUMNS, VIOLATION_COLUMNS
from log_analysis.simulate import INJECTORS, SimulationOptions, simulate

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
POLICY = json.loads((FIXTURES / "policy.json").read_text())
SCHEMAS = Path(access_log.__file__).parents[1] / "schemas"
VALIDATOR = Draft202012Validator(json.loads((SCHEMAS / "access_log.schema.json").read_text()))
_VALUES = {
    "v": 1, "time": "2026-03-02T09:00:00+01:00", "request_id": "0" * 32, "remote_addr": "10.0.0.5",
    "client": "alice", "subject": "CN=alice,OU=ops,O=Example", "roles": "reader,writer", "method": "GET",
    "uri": "/api/pets/7", "operation": "petstore.getPet", "decision": "allow", "reason": "ok", "status": 200,
    "bytes_in": 300, "bytes_out": 1200, "request_time": 0.012, "upstream_status": "200", "upstream_time": "0.011",
    "tls_version": "TLSv1.3", "policy_id": POLICY["policy_id"], "violation": "", "violation_pointer": "",
    "violation_keyword": "",
}  # fmt: skip
SERVED = {field.name: _VALUES[field.name] for field in access_log.FIELDS}  # in the order NGINX writes them


def _read(tmp_path: Path, *lines: dict) -> tuple[list[dict], dict[str, int], int]:
    log = tmp_path / "access.log"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    records, files = read_records([log], POLICY)
    return records, files[0].skipped, files[0].lines


def test_the_served_sample_is_a_contract_line():
    VALIDATOR.validate(SERVED)
    assert list(SERVED) == [field.name for field in access_log.FIELDS]


def test_the_reader_reads_contract_fields_with_their_types():
    assert set(_READ) <= set(access_log.FIELD)
    for name in _READ:
        assert f"'{name}': " in _COLUMNS
    assert "'request_time': 'DOUBLE'" in _COLUMNS and "'bytes_out': 'BIGINT'" in _COLUMNS


def test_the_spec_checks_fields_are_optional_strings_every_reader_yields():
    for name in VIOLATION_COLUMNS:
        field = access_log.FIELD[name]
        assert (field.type, field.required) == ("string", False)
        assert name in _READ and name in EVENT_COLUMNS
    assert access_log.FIELD["violation"].values == ("", *access_log.VIOLATIONS)


def test_a_line_without_the_spec_checks_fields_is_read_with_none(tmp_path):
    """Lines written before the gateway checked requests against their specs."""
    old = {name: value for name, value in SERVED.items() if name not in VIOLATION_COLUMNS}
    VALIDATOR.validate(old)
    flagged = {**SERVED, "violation": "invalid_query", "violation_pointer": "/limit", "violation_keyword": "maximum"}
    VALIDATOR.validate(flagged)
    records, skipped, _ = _read(tmp_path, old, flagged)
    assert skipped == {}
    assert sorted(tuple(r[name] for name in VIOLATION_COLUMNS) for r in records) == [
        ("", "", ""),
        ("invalid_query", "/limit", "maximum"),
    ]


def test_a_refusal_for_the_spec_is_a_denial_its_reason_implies(tmp_path):
    refused = {
        **SERVED, "decision": "deny", "reason": "invalid_body", "status": 400, "upstream_status": "",
        "upstream_time": "", "violation": "invalid_body", "violation_pointer": "", "violation_keyword": "json",
    }  # fmt: skip
    VALIDATOR.validate(refused)
    records, skipped, _ = _read(tmp_path, refused, {**refused, "decision": "allow"})
    assert skipped == {"contradictory_decision": 1}
    assert [(r["decision"], r["reason"], r["violation_keyword"]) for r in records] == [("deny", "invalid_body", "json")]


@pytest.mark.parametrize("version", [2, 0, 99])
def test_a_line_of_an_unknown_version_is_skipped_with_its_own_reason(tmp_path, version):
    records, skipped, lines = _read(tmp_path, SERVED, {**SERVED, "v": version})
    assert (len(records), skipped, lines) == (1, {"unknown_version": 1}, 2)


def test_a_line_without_a_version_is_missing_a_field(tmp_path):
    line = {name: value for name, value in SERVED.items() if name != "v"}
    records, skipped, _ = _read(tmp_path, SERVED, line)
    assert (len(records), skipped) == (1, {"missing_field": 1})


@pytest.mark.parametrize(
    ("decision", "reason"), [("deny", "ok"), ("allow", "forbidden_role"), ("allow", "bad_request"), ("maybe", "ok")]
)
def test_a_decision_its_reason_contradicts_is_skipped_not_served(tmp_path, decision, reason):
    records, skipped, _ = _read(tmp_path, SERVED, {**SERVED, "decision": decision, "reason": reason})
    assert (len(records), skipped) == (1, {"contradictory_decision": 1})


def test_the_logged_decision_is_the_one_read(tmp_path):
    denied = {**SERVED, "decision": "deny", "reason": "bad_request", "status": 400, "operation": ""}
    records, skipped, _ = _read(tmp_path, SERVED, denied)
    assert skipped == {}
    assert sorted((r["decision"], r["reason"]) for r in records) == [("allow", "ok"), ("deny", "bad_request")]


def test_problem_reasons_are_those_the_report_schema_names():
    report = json.loads((SCHEMAS / "report.schema.json").read_text())
    named = set(report["$defs"]["skipped"]["propertyNames"]["enum"])
    assert named == (set(PROBLEMS) - {"outside_window"}) | {"unparsable"}


def test_every_simulated_line_is_a_contract_line(tmp_path):
    sim = simulate(
        POLICY,
        # input_quality's incident writes damaged lines on purpose: every other line keeps to the contract.
        SimulationOptions(
            tmp_path,
            days=2,
            train_days=1,
            requests_per_day=3000,
            incidents=tuple(k for k in INJECTORS if k != "input_quality"),
        ),
    )
    reasons, count = set(), 0
    for name in [*sim.train_files, *sim.audit_files]:
        for text in Path(name).read_text().splitlines():
            line = json.loads(text)
            VALIDATOR.validate(line)
            assert list(line) == [field.name for field in access_log.FIELDS]
            assert line["decision"] == access_log.decision(line["reason"])
            reasons.add(line["reason"])
            count += 1
    assert count > 3000
    assert {"ok", "deprecated", "upstream_error", "no_client_cert", "unknown_path"} <= reasons
