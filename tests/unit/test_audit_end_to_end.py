"""Simulate -> audit -> the findings are the ground truth, on a policy compiled from the spec fixtures.

The policy is compiled by airgapctl.specs.compile.compile_files from tests/fixtures/specs (three APIs,
one deprecated operation), so the drift detectors judge logs whose operation ids come from a real
compilation, not from a hand-written policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airgapctl.specs.compile import compile_files, write_policy
from airgapctl.specs.validate import validate_spec
from log_analysis.detectors import DETECTORS
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.simulate import INJECTORS, SimulationOptions, simulate
from log_analysis.simulate.truth import score, totals

SPECS = Path(__file__).parents[1] / "fixtures" / "specs"
DRIFT = ("shadow_route", "zombie_route", "orphan_route", "role_drift", "policy_mismatch", "config_drift")


def _access(clients: int) -> dict:
    return {
        "version": 1,
        "site": "e2e",
        "defaults": {"max_body_bytes": 4096, "deprecated": "warn"},
        "apis": [
            {
                "name": "pets",
                "spec": str(SPECS / "petstore30/openapi.yaml"),
                "base_path": "/pets",
                "upstream": {"url": "http://127.0.0.1:9/v1"},
            },
            {
                "name": "inventory",
                "spec": str(SPECS / "inventory31.yaml"),
                "base_path": "/inventory",
                "upstream": {"url": "http://127.0.0.1:9"},
            },
            {
                "name": "legacy",
                "spec": str(SPECS / "swagger20.yaml"),
                "base_path": "/legacy",
                "upstream": {"url": "http://127.0.0.1:9/api"},
            },
        ],
        "roles": [
            {"name": "reader", "allow": [{"method": "GET", "path": "/**"}]},
            {"name": "admin", "allow": [{"path": "/**"}]},
        ],
        "clients": [
            {
                "name": f"client{i:02d}",
                "subject": f"CN=client{i:02d},O=Example",
                "roles": ["admin" if i % 3 == 0 else "reader"],
            }
            for i in range(clients)
        ],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit-e2e")
    (tmp / "access.yml").write_text(yaml.safe_dump(_access(24)))
    policy = compile_files(tmp / "access.yml", validate_spec).policy
    write_policy(policy, tmp / "policy.json")
    sim = simulate(
        policy,
        SimulationOptions(
            tmp / "logs", days=7, train_days=5, requests_per_day=25_000, incidents=tuple(INJECTORS), seed=11
        ),
    )
    options = AuditOptions(
        logs=[Path(p) for p in sim.audit_files],
        policy=tmp / "policy.json",
        state_dir=tmp / "state",
        report_dir=tmp / "reports",
        formats=("json", "html", "md"),
        train=[Path(p) for p in sim.train_files],
        gateway_config=Path(sim.gateway_config),
    )
    result = run_audit(options)
    truth = json.loads(Path(sim.truth_file).read_text())
    return policy, truth, result


def test_every_injected_incident_is_found_and_nothing_else(world):
    _, truth, result = world
    scores = score(result.report["findings"], truth["incidents"], list(DETECTORS))
    overall = totals(scores)
    missed = [name for name, s in scores.items() if s.incidents and s.found < s.incidents]
    assert missed == [], [f["message"] for f in result.report["findings"]]
    assert overall.recall >= 0.95
    assert overall.precision >= 0.9, [f["message"] for f in result.report["findings"]]
    assert {i["detector"] for i in truth["incidents"]} == set(DETECTORS)


def test_drift_is_judged_against_the_compiled_policy(world):
    policy, _, result = world
    operation_ids = {op["id"] for op in policy["operations"]}
    drift = [f for f in result.report["findings"] if f["detector"] in DRIFT]
    assert {f["detector"] for f in drift} == set(DRIFT)
    for finding in drift:
        operation = finding["subject"].get("operation")
        if finding["detector"] in ("zombie_route", "orphan_route", "role_drift"):
            assert operation in operation_ids
    zombie = next(f for f in drift if f["detector"] == "zombie_route")
    assert zombie["subject"]["operation"] == "pets.listPetsLegacy"
    shadow = next(f for f in drift if f["detector"] == "shadow_route")
    assert shadow["severity"] == "critical" and shadow["subject"]["operation"] not in operation_ids


def test_the_baseline_was_learned_and_updated(world):
    _, _, result = world
    assert result.report["baseline"]["present"] and result.report["baseline"]["updated"]
    assert result.baseline_file is not None and result.baseline_file.exists()
    assert len(result.written) == 3
