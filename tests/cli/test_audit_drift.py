"""``airgapctl audit run --drift FILE``: a drift report's changes as config_drift findings, one per host
and task, with or without a policy; what the drift run did not check as notes; a file that is not a
drift report refused as bad input."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from airgapctl.errors import ExitCode
from airgapctl.schemas import load_schema

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
GATEWAY_LINES = str(FIXTURES / "readers" / "gateway_lines.log")
POLICY = str(FIXTURES / "policy.json")
DIFF = "".join(f"line {i}\n" for i in range(30))
REPORT = {
    "format": 1, "run_id": "20260302T081500Z-3fa9c1", "directory": "/runs/20260302T081500Z-3fa9c1",
    "inventory": "inventory/site-a", "playbook": "playbooks/site.yml", "limit": None, "tags": [],
    "started": "2026-03-02T08:15:00Z", "ended": "2026-03-02T08:16:40Z", "outcome": "failed", "drift": True,
    "hosts": {
        "gw-01": {
            "changes": [
                {"task": "gateway_proxy : Write nginx.conf", "action": "ansible.builtin.template", "diff": DIFF},
                {"task": "gateway_proxy : Write nginx.conf", "action": "ansible.builtin.template", "diff": "again\n"},
                {"task": "secrets : Write one include file per credential", "action": "airgap_credential",
                 "diff": "(hidden: the task is no_log)"},
            ],
            "not_checked": [{"task": "Restart", "action": "ansible.builtin.command",
                             "reason": "commands are not run in check mode"}],
        },
        "gw-02": {"changes": [], "not_checked": []},
    },
    "failed_hosts": [], "unreachable_hosts": ["gw-03"], "ansible_errors": [], "check_facts": True, "notes": [],
}  # fmt: skip


def _audit(cli, tmp_path: Path, report: object, *more: str):
    path = tmp_path / "drift.json"
    path.write_text(report if isinstance(report, str) else json.dumps(report))
    return cli("audit", "run", "--logs", GATEWAY_LINES, "--drift", str(path), "--quiet", *more)


def test_each_host_and_task_that_would_change_is_a_config_drift_finding(cli, tmp_path):
    reports = tmp_path / "reports"
    result = _audit(cli, tmp_path, REPORT, "--json", "--fail-on", "none", "--report-dir", str(reports))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    drift = [f for f in data["findings"] if f["detector"] == "config_drift"]
    assert [(f["subject"], f["severity"], f["message"]) for f in drift] == [
        ({"host": "gw-01"}, "medium", "host gw-01: task gateway_proxy : Write nginx.conf would change"),
        ({"host": "gw-01"}, "medium", "host gw-01: task secrets : Write one include file per credential would change"),
    ]
    evidence = drift[0]["evidence"]
    assert evidence["diff"] == DIFF.splitlines()[:20] and evidence["diff_lines"] == 30
    assert (evidence["task"], evidence["action"], evidence["run_id"]) == (
        "gateway_proxy : Write nginx.conf", "ansible.builtin.template", REPORT["run_id"])  # fmt: skip
    assert drift[1]["evidence"]["diff"] == ["(hidden: the task is no_log)"]
    notes = "\n".join(data["notes"])
    assert f"drift run {REPORT['run_id']} did not check every host to the end (failed or unreachable: gw-03)" in notes
    assert "could not check 1 task(s) in check mode on 1 host(s): gw-01 (1)" in notes
    # Judged without a policy: config_drift ran for the drift report alone.
    (run,) = [d for d in json.loads((reports / "latest.json").read_text())["detectors"] if d["id"] == "config_drift"]
    assert run["ran"] is True and run["findings"] == 2
    # The findings as the report schema defines them (the subject's host included).
    finding = Draft202012Validator({"$ref": "#/$defs/finding", "$defs": load_schema("report")["$defs"]})
    for written in json.loads((reports / "latest.json").read_text())["findings"]:
        finding.validate(written)


def test_drift_findings_reach_fail_on_medium(cli, tmp_path):
    result = _audit(cli, tmp_path, REPORT, "--policy", POLICY, "--fail-on", "medium")
    assert result.exit_code == ExitCode.FAILED
    assert "config_drift  host=gw-01" in result.stdout


def test_a_file_that_is_not_a_drift_report_is_bad_input(cli, tmp_path):
    not_json = _audit(cli, tmp_path, "{not json")
    assert not_json.exit_code == ExitCode.BAD_INPUT
    assert f"airgapctl: error: --drift {tmp_path / 'drift.json'}: not a JSON document" in not_json.stderr
    wrong = _audit(cli, tmp_path, {**REPORT, "hosts": {"gw-01": {"changes": [{"task": "t"}], "not_checked": []}}})
    assert wrong.exit_code == ExitCode.BAD_INPUT
    assert "/hosts/gw-01/changes/0: 'action' is a required property" in wrong.stderr
    missing = cli("audit", "run", "--logs", GATEWAY_LINES, "--drift", str(tmp_path / "none.json"), "--quiet")
    assert missing.exit_code == ExitCode.BAD_INPUT and "No such file or directory" in missing.stderr
