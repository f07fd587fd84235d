"""``audit run --selftest-record``: the gateway self-test's own requests are left out, and said so.

After a deploy the self-test sends unknown neighbour paths and a deprecated operation as a real
policy client (here frontdesk); the same log judged without its record shows the probing and
zombie_route findings those lines would raise, so the tests below cannot pass vacuously.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from airgapctl.contracts import selftest_record
from airgapctl.errors import BadInputError
from airgapctl.schemas import load_schema
from log_analysis import selftest
from log_analysis.baseline import load_baseline
from log_analysis.engine import _selftest_in_span
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.readers import ReadOptions, discover_inputs
from log_analysis.readers.gateway_json import json_source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
LOCAL = dt.timezone(dt.timedelta(hours=1))
START = dt.datetime(2026, 3, 5, 9, 0, tzinfo=LOCAL)
SELFTEST_AT = dt.datetime(2026, 3, 5, 11, 0, tzinfo=LOCAL)
SELFTEST_LINES = 40


@pytest.fixture
def policy(tmp_path) -> tuple[Path, dict]:
    document = json.loads((FIXTURES / "policy.json").read_text())
    subject = "CN=frontdesk,OU=ops,O=Example"
    document["clients"].append({"name": "frontdesk", "subject": subject, "roles": ["reader"], "rate_limit": None})
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    return path, document


def _line(policy: dict, number: int, when: dt.datetime, client: str, uri: str, operation: str, reason: str) -> dict:
    served = reason in ("ok", "deprecated")
    status = {"ok": 200, "deprecated": 200, "unknown_path": 404, "method_not_allowed": 405}[reason]
    return {
        "v": 1, "time": when.isoformat(), "request_id": f"{number:032x}",
        "remote_addr": "127.0.0.1" if client == "frontdesk" else "10.0.0.1", "client": client,
        "subject": f"CN={client},OU=ops,O=Example", "roles": "reader", "method": "GET", "uri": uri,
        "operation": operation, "decision": "allow" if served else "deny", "reason": reason, "status": status,
        "bytes_in": 300, "bytes_out": 1000 if served else 80, "request_time": 0.02,
        "upstream_status": str(status) if served else "", "upstream_time": "0.010" if served else "",
        "tls_version": "TLSv1.3", "policy_id": policy["policy_id"],
    }  # fmt: skip


def _traffic(policy: dict, start: dt.datetime, minutes: int, first: int) -> list[dict]:
    """alice and bob listing pets, one call a minute."""
    when = [start + dt.timedelta(minutes=i) for i in range(minutes)]
    client = ["alice" if i % 2 else "bob" for i in range(minutes)]
    return [
        _line(policy, first + i, when[i], client[i], "/api/pets", "petstore.listPets", "ok") for i in range(minutes)
    ]


def _selftest_lines(policy: dict, at: dt.datetime, first: int) -> list[dict]:
    """What the self-test sends as frontdesk: unknown neighbour paths, and the deprecated operation twice."""
    lines = []
    for i in range(SELFTEST_LINES):
        when = at + dt.timedelta(seconds=i)
        if i < SELFTEST_LINES - 2:
            lines.append(_line(policy, first + i, when, "frontdesk", f"/api/pets/{i}/selftest-unknown", "",
                               "unknown_path"))  # fmt: skip
        else:
            lines.append(_line(policy, first + i, when, "frontdesk", "/api/pets/legacy", "petstore.listPetsLegacy",
                               "deprecated"))  # fmt: skip
    return lines


def _write(path: Path, lines: list[dict], mode: str = "w") -> Path:
    ordered = sorted(lines, key=lambda line: line["time"])
    with path.open(mode) as stream:
        stream.write("".join(json.dumps(line) + "\n" for line in ordered))
    return path


def _record(path: Path, lines: list[dict]) -> Path:
    """The self-test's record of ``lines``, written as the self-test writes it, a second after each."""
    entries = []
    for line in lines:
        answered = (dt.datetime.fromisoformat(line["time"]) + dt.timedelta(seconds=1)).astimezone(dt.UTC)
        entries.append(
            selftest_record.Entry(answered.isoformat(), line["request_id"], line["client"], "GET", line["uri"])
        )
    selftest_record.append(path, entries, now=dt.datetime(2026, 3, 6, tzinfo=dt.UTC))
    return path


def _audit(policy: Path, logs: list[Path], record: Path | None, tmp_path: Path, **options) -> dict:
    reports = tmp_path / "reports"
    formats = ("json", "md", "html")
    result = run_audit(
        AuditOptions(logs=logs, policy=policy, selftest_record=record, report_dir=reports, formats=formats, **options)
    )
    errors = list(Draft202012Validator(load_schema("report")).iter_errors(result.report))
    assert errors == [], [error.message for error in errors]
    return result.report


def _detected(report: dict) -> set[str]:
    return {finding["detector"] for finding in report["findings"]}


@pytest.fixture
def deployed(tmp_path, policy) -> tuple[Path, Path, Path]:
    """A morning of traffic with a self-test at 11:00, and the record the self-test wrote."""
    path, document = policy
    probes = _selftest_lines(document, SELFTEST_AT, 50_000)
    log = _write(tmp_path / "access.log", _traffic(document, START, 240, 0) + probes)
    return path, log, _record(tmp_path / "selftest" / "selftest-requests.jsonl", probes)


def test_the_self_tests_lines_raise_no_finding_and_are_counted_as_left_out(tmp_path, deployed):
    policy, log, record = deployed
    report = _audit(policy, [log], record, tmp_path)
    inputs = report["inputs"]
    assert not {"probing", "zombie_route", "input_quality"} & _detected(report), report["findings"]
    assert (inputs["lines_read"], inputs["lines_used"], inputs["lines_selftest"]) == (280, 240, SELFTEST_LINES)
    assert inputs["lines_skipped"] == 0 and inputs["skipped_by_reason"] == {}
    assert inputs["files"][0]["selftest"] == SELFTEST_LINES and inputs["selftest_record"] == str(record)
    markdown = next((tmp_path / "reports").glob("*.md")).read_text()
    html = next((tmp_path / "reports").glob("*.html")).read_text()
    assert f"{SELFTEST_LINES} self-test requests left out" in markdown
    assert f"{SELFTEST_LINES} self-test requests left out" in html


def test_without_the_record_the_same_lines_are_reported(tmp_path, deployed):
    policy, log, _ = deployed
    report = _audit(policy, [log], None, tmp_path)
    assert {"probing", "zombie_route"} <= _detected(report)
    probing = next(f for f in report["findings"] if f["detector"] == "probing")
    assert probing["subject"]["client"] == "frontdesk"
    assert report["inputs"]["lines_selftest"] == 0 and report["inputs"]["selftest_record"] is None
    markdown = next((tmp_path / "reports").glob("*.md")).read_text()
    assert "self-test" not in markdown


def test_the_record_is_read_from_its_default_place_when_it_exists(tmp_path, deployed, monkeypatch):
    policy, log, record = deployed
    monkeypatch.setattr(selftest, "DEFAULT_RECORD", record)
    report = _audit(policy, [log], None, tmp_path)
    assert report["inputs"]["lines_selftest"] == SELFTEST_LINES and "probing" not in _detected(report)
    monkeypatch.setattr(selftest, "DEFAULT_RECORD", tmp_path / "absent.jsonl")
    assert "probing" in _detected(_audit(policy, [log], None, tmp_path))


def test_a_record_named_that_cannot_be_read_is_an_error(tmp_path, deployed):
    policy, log, _ = deployed
    with pytest.raises(BadInputError, match=r"--selftest-record .*absent.jsonl: cannot read"):
        _audit(policy, [log], tmp_path / "absent.jsonl", tmp_path)


def test_a_default_record_that_cannot_be_read_is_a_note(tmp_path, deployed, monkeypatch):
    policy, log, _ = deployed
    monkeypatch.setattr(selftest, "DEFAULT_RECORD", tmp_path)  # a directory: it exists, and cannot be read
    report = _audit(policy, [log], None, tmp_path)
    assert any("could not be read" in note for note in report["notes"]) and "probing" in _detected(report)


def test_incremental_runs_leave_out_the_self_test_in_each_part_and_learn_none_of_it(tmp_path, policy):
    path, document = policy
    state = tmp_path / "state"
    record = tmp_path / "selftest-requests.jsonl"
    first_probes = _selftest_lines(document, SELFTEST_AT, 50_000)
    log = _write(tmp_path / "access.log", _traffic(document, START, 150, 0) + first_probes)
    _record(record, first_probes)
    first = _audit(path, [log], record, tmp_path, state_dir=state)
    assert first["inputs"]["lines_selftest"] == SELFTEST_LINES
    # The next deploy, 40 minutes into the hour the first run stopped in: judged with its carried aggregates.
    later = START + dt.timedelta(minutes=150)
    second_probes = _selftest_lines(document, later + dt.timedelta(minutes=40), 60_000)
    _write(log, _traffic(document, later, 90, 1_000) + second_probes, mode="a")
    _record(record, second_probes)
    second = _audit(path, [log], record, tmp_path, state_dir=state)
    assert second["inputs"]["incremental"] and second["inputs"]["carried_from"] is not None
    assert (second["inputs"]["lines_read"], second["inputs"]["lines_selftest"]) == (130, SELFTEST_LINES)
    assert not {"probing", "zombie_route", "input_quality"} & _detected(second), second["findings"]
    baseline = load_baseline(state)
    assert baseline is not None and "frontdesk" not in baseline.clients
    assert baseline.learned_lines == 240


def test_a_run_that_read_only_self_test_lines_stops_and_reads_them_again_next_time(tmp_path, policy):
    path, document = policy
    state = tmp_path / "state"
    record = tmp_path / "selftest-requests.jsonl"
    log = _write(tmp_path / "access.log", _traffic(document, START, 60, 0))
    _audit(path, [log], None, tmp_path, state_dir=state)
    probes = _selftest_lines(document, START + dt.timedelta(hours=2), 50_000)
    _write(log, probes, mode="a")
    _record(record, probes)
    with pytest.raises(BadInputError, match=f"every line read \\({SELFTEST_LINES}\\) is a request of the gateway"):
        _audit(path, [log], record, tmp_path, state_dir=state)
    _write(log, _traffic(document, START + dt.timedelta(hours=3), 10, 1_000), mode="a")
    report = _audit(path, [log], record, tmp_path, state_dir=state)
    assert (report["inputs"]["lines_read"], report["inputs"]["lines_selftest"]) == (SELFTEST_LINES + 10, SELFTEST_LINES)


def test_the_request_id_is_read_only_when_the_record_holds_requests_the_logs_can_hold(tmp_path, deployed):
    _, log, record = deployed
    (inputs,) = discover_inputs([log])
    assert "'request_id'" not in json_source(0, inputs, ReadOptions())
    requests, _ = selftest_record.load(record)
    assert "'request_id'" in json_source(0, inputs, ReadOptions(selftest=tuple(requests)))
    # A self-test of a deploy long before the lines read: nothing to leave out, the id is not read.
    long_before = tuple((when - 86_400 * 10, request_id) for when, request_id in requests)
    assert _selftest_in_span(ReadOptions(selftest=long_before), [inputs]).selftest == ()
    assert _selftest_in_span(ReadOptions(selftest=tuple(requests)), [inputs]).selftest == tuple(requests)
    until = SELFTEST_AT.timestamp() - 2 * 3600
    assert _selftest_in_span(ReadOptions(until=until, selftest=tuple(requests)), [inputs]).selftest == ()


def test_combined_logs_carry_no_request_id_and_lose_no_line(tmp_path, deployed):
    policy, _, record = deployed
    log = tmp_path / "combined.log"
    log.write_text(
        "".join(
            f'10.0.0.1 - - [05/Mar/2026:10:{minute:02d}:00 +0100] "GET /api/pets HTTP/1.1" 200 1000 "-" "client/1.0"\n'
            for minute in range(30)
        )
    )
    report = _audit(policy, [log], record, tmp_path)
    assert (report["inputs"]["lines_used"], report["inputs"]["lines_selftest"]) == (30, 0)
