"""The fleet audit's site report (log_analysis.reports.fleet) merges the reports the real audit
engine writes: two appliances that reported, one that sent nothing and one whose JSON is broken."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from airgapctl.schemas import load_schema, validator
from log_analysis.model import Severity
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.reports import fleet
from log_analysis.simulate import SimulationOptions, simulate

POLICY = Path(__file__).parents[1] / "fixtures" / "audit" / "policy.json"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """Each appliance's reports as its audit wrote them: gw1 with injected incidents, gw2 quiet."""
    root = tmp_path_factory.mktemp("fleet-reports")
    policy = json.loads(POLICY.read_text())
    written = {}
    for seed, (host, incidents) in enumerate((("gw1", ("probing", "auth_failures")), ("gw2", ()))):
        sim = simulate(
            policy,
            SimulationOptions(root / host / "logs", days=2, train_days=0, requests_per_day=3000,
                              incidents=incidents, seed=3 + seed),
        )  # fmt: skip
        result = run_audit(
            AuditOptions(
                logs=[Path(p) for p in sim.audit_files], policy=POLICY, report_dir=root / host / "reports",
                formats=("json", "html", "md"), gateway_config=Path(sim.gateway_config),
            )
        )  # fmt: skip
        written[host] = {path.suffix[1:]: path for path in result.written}
    broken = root / "gw4" / "latest.json"
    broken.parent.mkdir()
    broken.write_text('{"schema": "airgapctl/audit-report", ')
    written["gw4"] = {"json": broken}
    return written


@pytest.fixture(scope="module")
def document(reports) -> dict:
    audits = [
        fleet.HostAudit("gw2", reports=reports["gw2"]),
        fleet.HostAudit("gw1", reports=reports["gw1"]),
        fleet.HostAudit("gw3", ran=fleet.RAN_FAILED, message="the audit exited 2 without a new report"),
        fleet.HostAudit("gw4", reports=reports["gw4"]),
    ]
    return fleet.build_fleet_report(audits, inventory="inventory/site-a", run_id="20260301T060000Z-abcdef")


def _own(reports, host) -> dict:
    return json.loads(reports[host]["json"].read_text())


def test_the_site_report_matches_its_schema(document):
    assert sorted(validator("fleet-report").iter_errors(document), key=str) == []


def test_each_appliance_has_its_line(document, reports):
    hosts = {h["host"]: h for h in document["hosts"]}
    assert [h["host"] for h in document["hosts"]] == ["gw1", "gw2", "gw3", "gw4"]
    assert {name: h["status"] for name, h in hosts.items()} == {
        "gw1": "ok", "gw2": "ok", "gw3": "failed", "gw4": "invalid_report",
    }  # fmt: skip
    gw1 = _own(reports, "gw1")
    assert hosts["gw1"]["generated_at"] == gw1["generated_at"]
    assert hosts["gw1"]["window"] == gw1["window"]
    assert hosts["gw1"]["lines_used"] == gw1["inputs"]["lines_used"] > 0
    assert hosts["gw1"]["by_severity"] == gw1["summary"]["by_severity"]
    assert hosts["gw1"]["detectors_not_run"] == gw1["detectors_not_run"]
    assert hosts["gw1"]["error"] is None and hosts["gw2"]["findings"] == 0
    assert hosts["gw3"]["error"] == "the audit exited 2 without a new report" and hosts["gw3"]["findings"] is None
    assert "is not JSON" in hosts["gw4"]["error"] and hosts["gw4"]["by_severity"] is None
    assert document["summary"]["by_status"] == {"ok": 2, "failed": 1, "unreachable": 0, "no_report": 0,
                                                "invalid_report": 1}  # fmt: skip
    assert [note.split(":")[0] for note in document["notes"]] == ["gw3", "gw4"]
    assert document["site"] == gw1["site"] == "fixture"
    assert not fleet.complete(document)


def test_every_finding_is_merged_with_its_appliance_most_severe_first(document, reports):
    gw1 = _own(reports, "gw1")
    assert gw1["findings"] and len(document["findings"]) == len(gw1["findings"]) == document["summary"]["findings"]
    assert {f["subject"]["host"] for f in document["findings"]} == {"gw1"}
    assert [{k: v for k, v in f["subject"].items() if k != "host"} for f in document["findings"]] == [
        f["subject"] for f in gw1["findings"]
    ]
    ranks = [Severity.parse(f["severity"]) for f in document["findings"]]
    assert ranks == sorted(ranks, reverse=True)
    assert document["summary"]["highest_severity"] == gw1["summary"]["highest_severity"]
    assert fleet.reaches(document, Severity.HIGH) == sum(1 for f in gw1["findings"] if f["severity"] == "high")
    assert fleet.reaches(document, None) == 0
    # Each merged finding is still a finding of the audit report's format.
    finding = Draft202012Validator({"$defs": load_schema("report")["$defs"], "$ref": "#/$defs/finding"})
    for item in document["findings"]:
        assert list(finding.iter_errors(item)) == []


def test_a_report_that_is_json_but_not_a_report_is_an_error_line(tmp_path, reports):
    wrong = tmp_path / "latest.json"
    wrong.write_text(json.dumps({**_own(reports, "gw2"), "schema_version": 99}))
    document = fleet.build_fleet_report([fleet.HostAudit("gw5", reports={"json": wrong})])
    (host,) = document["hosts"]
    assert host["status"] == "invalid_report" and host["error"].startswith("not an audit report: latest.json: /schema")
    assert document["findings"] == []
    assert list(validator("fleet-report").iter_errors(document)) == []


def test_an_appliance_that_ran_but_sent_no_report_and_an_unreachable_one(tmp_path):
    document = fleet.build_fleet_report(
        [fleet.HostAudit("gw6"), fleet.HostAudit("gw7", ran=fleet.RAN_UNREACHABLE, message="ssh: no route")]
    )
    assert [(h["status"], h["error"]) for h in document["hosts"]] == [
        ("no_report", "the audit wrote no JSON report"), ("unreachable", "ssh: no route"),
    ]  # fmt: skip
    assert document["site"] is None and document["summary"]["highest_severity"] is None


def test_written_as_json_markdown_and_html_with_latest_links(tmp_path, document):
    written = fleet.write_fleet_reports(document, tmp_path)
    stamp = fleet.stamp_of(document["generated_at"])
    assert [p.name for p in written] == [f"fleet-{stamp}.json", f"fleet-{stamp}.html", f"fleet-{stamp}.md"]
    for ext in fleet.FORMATS:
        assert (tmp_path / f"fleet-latest.{ext}").resolve() == tmp_path / f"fleet-{stamp}.{ext}"
    assert json.loads((tmp_path / "fleet-latest.json").read_text()) == document
    markdown = (tmp_path / "fleet-latest.md").read_text()
    assert "| gw1 | ok |" in markdown and "| gw4 | invalid report |" in markdown
    assert "host=gw1" in markdown


def test_the_html_is_self_contained_and_escapes_what_the_reports_say(tmp_path, reports):
    hostile = '<script>alert("x")</script>'
    report = _own(reports, "gw1")
    report["findings"][0]["message"] = hostile
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(report))
    html_path = tmp_path / "hosts" / "gw1" / "audit-20260301T060000Z.html"
    html_path.parent.mkdir(parents=True)
    html_path.write_text("<html></html>")
    document = fleet.build_fleet_report(
        [fleet.HostAudit("gw1", reports={"json": path, "html": html_path}), fleet.HostAudit("gw3")], base=tmp_path
    )
    html = fleet.render_fleet_html(document)
    assert hostile not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "@import" not in html
    # The appliance's own report is linked beside the site report, relative to its directory.
    assert '<a href="hosts/gw1/audit-20260301T060000Z.html">html</a>' in html
    assert html.count('<table id="findings">') == 1 and "<script>" in html
