"""schema_violation through the real pipeline, without a baseline: gateway lines written field by
field from the access-log contract (served with the spec check's finding in report mode, refused
in enforce mode), lines written before the gateway checked specs, and the simulator's incidents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from jsonschema import Draft202012Validator

from airgapctl.contracts import access_log
from airgapctl.contracts.access_log import Reason
from log_analysis.detectors import DETECTORS
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.readers.records import read_records
from log_analysis.simulate import SimulationOptions, simulate
from tests.audit_lines import CLIENTS, OPERATIONS, POLICY, POLICY_FILE, gateway_line

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
ADDRESSES = {"alice": "10.0.0.1", "bob": "10.0.0.2", "carol": "10.0.0.3"}
START = dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
CANARY = "c4n4ry-7f3e"  # a request value: it must never reach a report
SPEC_FIELDS = ("violation", "violation_pointer", "violation_keyword")
SCHEMA = Path(access_log.__file__).parents[1] / "schemas" / "access_log.schema.json"
VALIDATOR = Draft202012Validator(json.loads(SCHEMA.read_text()))


def _line(
    seconds: float,
    client: str,
    operation: str = "petstore.listPets",
    violation: str = "",
    refused: bool = False,
    pointer: str = "/limit",
    keyword: str = "maximum",
    query: str = "",
) -> dict:
    """One line as the gateway writes it, every field of the contract in its order: served (report mode,
    or no violation) or refused for its violation (enforce mode)."""
    reason = Reason(violation) if refused else Reason.OK
    served = reason in access_log.ALLOWED
    status = (201 if OPERATIONS[operation]["method"] == "POST" else 200) if served else 400
    when = START + dt.timedelta(seconds=seconds)
    return gateway_line(when, client, operation, reason, status, ADDRESSES[client], query, violation, pointer, keyword)


def _calls(client: str, start: float, end: float, every: float, **fields) -> list[dict]:
    count = int((end - start) / every)
    return [_line(start + i * every, client, **fields) for i in range(count)]


def _write(path: Path, lines: list[dict]) -> Path:
    ordered = sorted(lines, key=lambda line: line["time"])
    path.write_text("".join(json.dumps(line) + "\n" for line in ordered))
    return path


def _run(tmp_path: Path, lines: list[dict], **options):
    return run_audit(AuditOptions(logs=[_write(tmp_path / "access.log", lines)], policy=POLICY_FILE, **options))


def _audit(tmp_path: Path, lines: list[dict], **options) -> list:
    result = _run(tmp_path, lines, **options)
    assert "schema_violation" in {run["id"] for run in result.report["detectors"] if run["ran"]}
    return [f for f in result.findings if f.detector == "schema_violation"]


MINUTE = 60.0
HOUR = 3600.0


def test_a_clients_jump_in_violations_is_flagged_with_where_and_which_check(tmp_path):
    clean = _calls("bob", 0, HOUR, 20, operation="petstore.getPet")  # an hour keeping to the spec
    broken = _calls("bob", HOUR, HOUR + 10 * MINUTE, 10, violation="invalid_query")  # then 60 in ten minutes
    (finding,) = _audit(tmp_path, clean + broken)
    assert finding.subject.client == "bob" and finding.severity.label == "medium"
    evidence = finding.evidence
    assert (evidence["kind"], evidence["violations"], evidence["refused"]) == ("client", 60, 0)
    assert evidence["earlier_share"] == 0.0 and evidence["earlier_requests"] == 180
    assert evidence["share"] >= 0.6
    assert evidence["top_place"] == {
        "violation": "invalid_query",
        "pointer": "/limit",
        "keyword": "maximum",
        "count": 60,
    }
    assert evidence["operations"] == {"petstore.listPets": 60}
    assert evidence["first"] == "2026-03-05T09:00:00Z" and evidence["last"] == "2026-03-05T09:09:50Z"
    assert finding.start == (START + dt.timedelta(hours=1)).timestamp() and finding.end - finding.start == 600
    assert "bob" in finding.message and "/limit" in finding.message and "maximum" in finding.message


def test_a_slower_clients_jump_is_judged_per_hour(tmp_path):
    clean = _calls("bob", 0, HOUR, 30)
    broken = _calls("bob", HOUR, 2 * HOUR, 60, violation="invalid_body", operation="petstore.createPet", pointer="")
    (finding,) = _audit(tmp_path, clean + broken)
    assert finding.evidence["violations"] == 60 and finding.evidence["peak_per_5min"] == 5
    assert finding.evidence["top_place"]["pointer"] == "" and "the whole body" in finding.message


def test_a_steady_low_share_is_not_flagged(tmp_path):
    clean = _calls("bob", 0, 2 * HOUR, 5)
    odd = _calls("bob", 2.5, 2 * HOUR, 100, violation="invalid_query")  # one call in twenty, all along
    assert _audit(tmp_path, clean + odd) == []


def test_a_client_that_breaks_its_spec_from_the_start_is_flagged_once_it_reaches_the_minimum(tmp_path):
    """No earlier traffic in the span: the burst is judged alone, on its count and share."""
    (finding,) = _audit(tmp_path, _calls("carol", 0, 10 * MINUTE, 10, violation="invalid_header", pointer="/x-tenant"))
    assert finding.subject.client == "carol"
    assert finding.evidence["earlier_requests"] == 0 and finding.evidence["earlier_share"] is None
    assert "no earlier requests" in finding.message
    few = _calls("carol", 0, MINUTE, 10, violation="invalid_header")  # six: below min_violations
    assert _audit(tmp_path, few) == []


def test_a_client_whose_share_was_high_before_is_no_jump(tmp_path):
    """Half its calls broke the spec for an hour (too few per window, and too small a share per hour to
    fire), then a burst: its share before was never low."""
    before = _calls("bob", 0, HOUR, 60) + _calls("bob", 30, HOUR, 60, violation="invalid_query")
    burst = _calls("bob", HOUR, HOUR + 10 * MINUTE, 10, violation="invalid_query")
    assert _audit(tmp_path, before + burst, parameters={"schema_violation": {"min_share": 0.6}}) == []
    lenient = {"schema_violation": {"min_share": 0.6, "max_earlier_share": 1.0}}
    (finding,) = _audit(tmp_path, before + burst, parameters=lenient)
    assert finding.evidence["earlier_share"] == 0.5


def test_every_client_of_an_operation_refused_at_once_is_one_finding_about_the_operation(tmp_path):
    clean = [line for client in CLIENTS for line in _calls(client, 0, HOUR, 30)]
    refused = [
        line
        for client in CLIENTS
        for line in _calls(
            client, HOUR, 2 * HOUR, 30, violation="invalid_query", refused=True, pointer="/page", keyword="required"
        )
    ]
    (finding,) = _audit(tmp_path, clean + refused)
    assert finding.subject.as_dict() == {"operation": "petstore.listPets"}
    assert finding.severity.label == "high"  # every client turned away
    evidence = finding.evidence
    assert (evidence["kind"], evidence["violations"], evidence["refused"]) == ("operation", 360, 360)
    assert evidence["clients"] == ["alice", "bob", "carol"] and evidence["distinct_clients"] == 3
    assert evidence["earlier_share"] == 0.0 and evidence["hours"] == 1
    assert evidence["top_place"] == {
        "violation": "invalid_query",
        "pointer": "/page",
        "keyword": "required",
        "count": 360,
    }
    assert "every client calling it" in finding.message


def test_one_client_of_two_failing_is_about_the_client_not_the_operation(tmp_path):
    clean = _calls("alice", 0, 2 * HOUR, 30) + _calls("bob", 0, HOUR, 30)
    broken = _calls("bob", HOUR, 2 * HOUR, 30, violation="invalid_query", refused=True)
    findings = _audit(tmp_path, clean + broken)
    assert [f.subject.as_dict() for f in findings] == [{"client": "bob", "remote_addr": "10.0.0.2"}]
    assert findings[0].evidence["refused"] == 120


def test_an_operation_already_failing_before_is_no_change(tmp_path):
    """Both clients broke the spec in one call of five for an hour, then in all: the operation's share
    before was not low."""
    lines = []
    for client in ("alice", "bob"):
        lines += _calls(client, 0, HOUR, 30)
        lines += _calls(client, 15, HOUR, 120, violation="invalid_query")
        lines += _calls(client, HOUR, 2 * HOUR, 30, violation="invalid_query")
    findings = _audit(tmp_path, lines, parameters={"schema_violation": {"max_earlier_share": 0.05}})
    assert [f for f in findings if f.subject.operation] == []
    findings = _audit(tmp_path, lines, parameters={"schema_violation": {"max_earlier_share": 0.5}})
    assert [f.subject.operation for f in findings if f.subject.operation] == ["petstore.listPets"]


def test_thresholds_are_parameters(tmp_path):
    broken = _calls("carol", 0, 10 * MINUTE, 10, violation="invalid_query")
    assert len(_audit(tmp_path, broken)) == 1
    assert _audit(tmp_path, broken, parameters={"schema_violation": {"min_violations": 100.0}}) == []
    assert set(DETECTORS["schema_violation"].parameters) == {
        "min_violations",
        "min_share",
        "max_earlier_share",
        "gap_windows",
        "min_clients",
        "min_client_share",
    }


def test_lines_written_before_spec_checks_are_read_and_judged(tmp_path):
    """Lines without the spec check's fields: read with '' for them, never skipped; judged with the new
    lines beside them."""
    old = [{k: v for k, v in line.items() if k not in SPEC_FIELDS} for line in _calls("bob", 0, HOUR, 20)]
    new = _calls("bob", HOUR, HOUR + 10 * MINUTE, 10, violation="invalid_query")
    log = _write(tmp_path / "access.log", old + new)
    records, files = read_records([log], POLICY)
    assert files[0].skipped == {} and files[0].used == len(old) + len(new)
    assert {tuple(r[name] for name in SPEC_FIELDS) for r in records} == {
        ("", "", ""),
        ("invalid_query", "/limit", "maximum"),
    }
    (finding,) = _audit(tmp_path, old + new)
    assert finding.evidence["earlier_requests"] == len(old) and finding.evidence["earlier_share"] == 0.0
    assert _audit(tmp_path, old) == []


def test_findings_never_carry_a_request_value(tmp_path):
    clean = [line for client in CLIENTS for line in _calls(client, 0, HOUR, 30, query=f"q={CANARY}")]
    refused = [
        line
        for client in ("alice", "carol")
        for line in _calls(client, HOUR, 2 * HOUR, 30, violation="invalid_query", refused=True, query=f"limit={CANARY}")
    ]
    broken = _calls("bob", 2 * HOUR, 2 * HOUR + 10 * MINUTE, 10, violation="invalid_query", query=f"limit={CANARY}")
    broken += _calls("bob", HOUR, 2 * HOUR, 30, operation="petstore.getPet", query=f"q={CANARY}")
    result = _run(tmp_path, clean + refused + broken, report_dir=tmp_path / "reports", formats=("json", "html", "md"))
    found = [f for f in result.findings if f.detector == "schema_violation"]
    assert {f.evidence["kind"] for f in found} == {"client", "operation"}
    assert len(result.written) == 3
    for path in result.written:
        assert CANARY not in path.read_text(), path.name
    assert CANARY not in json.dumps(result.report)


def test_a_burst_split_between_two_daily_runs_is_judged_whole(tmp_path):
    """The second run judges the hour the first stopped in again: six violations before the first run,
    six after, in the same five minutes."""
    log, state = tmp_path / "access.log", tmp_path / "state"
    clean = _calls("bob", 0, 30 * MINUTE, 20)
    first = _calls("bob", 30 * MINUTE, 31 * MINUTE, 10, violation="invalid_query")
    second = _calls("bob", 31 * MINUTE, 32 * MINUTE, 10, violation="invalid_query")
    _write(log, clean + first)
    options = {"logs": [log], "policy": POLICY_FILE, "state_dir": state}
    assert [f for f in run_audit(AuditOptions(**options)).findings if f.detector == "schema_violation"] == []
    with log.open("a") as stream:
        stream.write("".join(json.dumps(line) + "\n" for line in second))
    result = run_audit(AuditOptions(**options))
    assert result.report["inputs"]["lines_read"] == len(second) and result.report["inputs"]["carried_from"]
    (finding,) = [f for f in result.findings if f.detector == "schema_violation"]
    assert finding.evidence["violations"] == 12 and finding.evidence["earlier_requests"] == len(clean)


def test_the_simulators_incidents_are_found(tmp_path):
    """A client released with a bug (report mode) and an operation whose spec changed under every
    client (enforce mode): both found, each once."""
    sim = simulate(
        POLICY,
        SimulationOptions(
            tmp_path / "logs", days=7, train_days=5, requests_per_day=20_000, incidents=("schema_violation",)
        ),
    )
    texts = [text for name in sim.audit_files for text in Path(name).read_text().splitlines()]
    flagged = [json.loads(text) for text in texts if "invalid_" in text]
    assert {(line["violation"], line["reason"]) for line in flagged} >= {("invalid_query", "ok")}
    assert any(line["reason"] in access_log.VIOLATIONS for line in flagged)
    for line in flagged[:: max(1, len(flagged) // 50)]:
        VALIDATOR.validate(line)
        assert list(line) == [field.name for field in access_log.FIELDS]
    result = run_audit(AuditOptions(logs=[Path(p) for p in sim.audit_files], policy=POLICY_FILE))
    found = sorted(
        (f.evidence["kind"], f.subject.client or f.subject.operation)
        for f in result.findings
        if f.detector == "schema_violation"
    )
    expected = sorted(
        ("client" if "client" in i["subject"] else "operation", next(iter(i["subject"].values())))
        for i in sim.incidents
    )
    assert found == expected and len(expected) == 2
