"""forbidden_calls through the real pipeline, without a baseline: gateway lines written field by
field from the access-log contract, and the simulator's normal week (its odd forbidden_role calls)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from airgapctl.contracts import access_log
from airgapctl.contracts.access_log import Reason
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.simulate import SimulationOptions, simulate
from tests.audit_lines import OPERATIONS, POLICY, POLICY_FILE, gateway_line

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
START = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _line(seconds: float, client: str, operation: str, reason: Reason = Reason.OK) -> dict:
    """One line as the gateway writes it: every field of the contract, in its order."""
    served = reason in access_log.ALLOWED
    status = (201 if OPERATIONS[operation]["method"] == "POST" else 200) if served else 403
    when = START + dt.timedelta(seconds=seconds)
    return gateway_line(when, client, operation, reason, status, "10.0.0.2")


def _audit(tmp_path: Path, lines: list[dict]) -> list:
    log = tmp_path / "access.log"
    ordered = sorted(lines, key=lambda line: line["time"])
    log.write_text("".join(json.dumps(line) + "\n" for line in ordered))
    result = run_audit(AuditOptions(logs=[log], policy=POLICY_FILE))
    assert "forbidden_calls" in {run["id"] for run in result.report["detectors"] if run["ran"]}
    return [f for f in result.findings if f.detector == "forbidden_calls"]


def test_thirty_refusals_in_a_few_minutes_fire_with_no_baseline(tmp_path):
    ordinary = [_line(i * 20, "bob", "petstore.getPet") for i in range(90)]  # half an hour of calls
    refused = [_line(150 + i * 6, "bob", "petstore.createPet", Reason.FORBIDDEN_ROLE) for i in range(30)]
    (finding,) = _audit(tmp_path, ordinary + refused)
    assert finding.subject.client == "bob" and finding.severity.label == "medium"
    assert "bob" in finding.message and "petstore.createPet" in finding.message
    assert finding.evidence["refusals"] == 30
    assert finding.evidence["operations"] == {"petstore.createPet": 30}
    assert finding.evidence["client_roles"] == ["reader"]
    assert finding.evidence["client_subject"] == "CN=bob,OU=ops,O=Example"
    # Three minutes of refusals: the finding covers the five-minute windows they fell in.
    assert finding.start <= (START + dt.timedelta(seconds=150)).timestamp()
    assert finding.end - finding.start <= 600


def test_two_refusals_among_a_thousand_calls_do_not_fire(tmp_path):
    ordinary = [_line(i * 3.6, "bob", "petstore.listPets") for i in range(1000)]
    refused = [_line(s, "bob", "petstore.createPet", Reason.FORBIDDEN_ROLE) for s in (700, 2500)]
    assert _audit(tmp_path, ordinary + refused) == []


def test_the_simulators_normal_week_does_not_fire(tmp_path):
    """A busy week with no incident: its clients' odd forbidden_role calls (up to about one call in
    120 for some) never make a burst."""
    sim = simulate(POLICY, SimulationOptions(tmp_path / "logs", days=7, train_days=0, requests_per_day=60_000, seed=3))
    logs = [Path(p) for p in sim.audit_files]
    refusals = sum(text.count('"reason":"forbidden_role"') for text in (p.read_text() for p in logs))
    assert refusals > 100  # the normal traffic does hold some
    result = run_audit(AuditOptions(logs=logs, policy=POLICY_FILE))
    assert [f.message for f in result.findings if f.detector == "forbidden_calls"] == []
