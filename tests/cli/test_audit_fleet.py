"""``airgapctl audit run --fleet`` for real: the provision runner and ansible-playbook against local hosts
(connection local). The appliance's audit needs its systemd unit, which these hosts do not have:
a stand-in playbook fetches the reports the real audit engine wrote, as the appliance's audit
would leave them, and the real playbook runs against a stand-in systemctl."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from airgapctl.errors import ExitCode
from airgapctl.schemas import validator
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.simulate import SimulationOptions, simulate

POLICY = Path(__file__).parents[1] / "fixtures" / "audit" / "policy.json"
REAL_PLAYBOOK = Path(__file__).parents[2] / "playbooks" / "audit_fleet.yml"
# The appliance's audit, stood in for: its report fetched as playbooks/audit_fleet.yml fetches it.
STAND_IN_PLAYBOOK = """\
- name: Stand-in for the appliance audit
  hosts: gateways
  gather_facts: false
  tasks:
    - name: Reach the appliance
      ansible.builtin.ping:
    - name: Fail as an audit that wrote no new report
      ansible.builtin.fail: {msg: the audit exited 2 without a new report}
      when: audit_fails | default(false)
    - name: Fetch the report the audit wrote
      ansible.builtin.fetch:
        src: "{{ report }}"
        dest: "{{ airgap_fleet_dir }}/hosts/{{ inventory_hostname }}/latest.json"
        flat: true
      when: report is defined
"""
# systemctl on the appliance, stood in for: "start" is a run of the audit (a new report linked as
# latest.json, and the exit status the host's file says), "show" that exit status.
STAND_IN_SYSTEMCTL = """\
#!/bin/sh
dir="$FLEET_HOSTS/$FLEET_HOST"
case "$1" in
  start)
    status=$(cat "$dir/exit")
    if [ -f "$dir/report.json" ]; then
      stamp=$(date -u +%Y%m%dT%H%M%S%NZ)
      cp "$dir/report.json" "$dir/reports/audit-$stamp.json"
      ln -sfn "audit-$stamp.json" "$dir/reports/latest.json"
    fi
    echo "$status" > "$dir/last"
    if [ "$status" != 0 ]; then
      echo "Job for $2 failed because the control process exited with error code." >&2
      exit 1
    fi ;;
  show) cat "$dir/last" ;;
esac
"""


@pytest.fixture(scope="module")
def audit_reports(tmp_path_factory) -> dict[str, Path]:
    """The JSON report the real audit engine writes for each appliance's logs: gw1 finds a probe
    and authentication failures (high), gw2 nothing."""
    root = tmp_path_factory.mktemp("appliance-audits")
    policy = json.loads(POLICY.read_text())
    reports = {}
    for seed, (host, incidents) in enumerate((("gw1", ("probing", "auth_failures")), ("gw2", ()))):
        sim = simulate(
            policy,
            SimulationOptions(root / host / "logs", days=2, train_days=0, requests_per_day=3000,
                              incidents=incidents, seed=3 + seed),
        )  # fmt: skip
        options = AuditOptions(
            logs=[Path(p) for p in sim.audit_files], policy=POLICY, report_dir=root / host / "reports",
            gateway_config=Path(sim.gateway_config),
        )  # fmt: skip
        (reports[host],) = run_audit(options).written
    return reports


class Fleet:
    """An inventory of local gateways, a playbook, and where the run writes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inventory = root / "hosts.yml"
        self.playbook = root / "stand-in.yml"
        self.playbook.write_text(STAND_IN_PLAYBOOK)
        self.reports = root / "site-reports"
        self.runs = root / "runs"

    def hosts(self, hosts: dict[str, dict]) -> None:
        common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        self.inventory.write_text(json.dumps({"all": {"vars": common, "children": {"gateways": {"hosts": hosts}}}}))

    def args(self, *more: str, playbook: Path | None = None) -> list[str]:
        return ["audit", "run", "--fleet", "-i", str(self.inventory), "--playbook", str(playbook or self.playbook),
                "--report-dir", str(self.reports), "--runs-dir", str(self.runs), *more]  # fmt: skip

    def site_report(self) -> dict:
        return json.loads((self.reports / "fleet-latest.json").read_text())


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)
    return Fleet(tmp_path)


def _table(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.split("\n\n")[0].splitlines()]


def test_every_appliance_reported_one_site_report_and_each_appliance_s_own(cli, site, audit_reports):
    site.hosts({name: {"report": str(path)} for name, path in audit_reports.items()})
    result = cli(*site.args("--fail-on", "none"))
    assert result.exit_code == 0, result.stderr
    gw1, gw2 = (json.loads(audit_reports[host].read_text()) for host in ("gw1", "gw2"))
    counts = [str(gw1["summary"]["by_severity"][s]) for s in ("critical", "high", "medium", "low", "info")]
    assert _table(result.stdout) == [
        ["HOST", "STATUS", "LINES", "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"],
        ["gw1", "ok", f"{gw1['inputs']['lines_used']:,}", *counts],
        ["gw2", "ok", f"{gw2['inputs']['lines_used']:,}", "0", "0", "0", "0", "0"],
    ]
    assert "provision: task Fetch the report the audit wrote" in result.stderr  # live progress
    document = site.site_report()
    assert list(validator("fleet-report").iter_errors(document)) == []
    assert document["summary"]["findings"] == len(gw1["findings"]) > 0
    assert {f["subject"]["host"] for f in document["findings"]} == {"gw1"}
    (stamp,) = {p.name.split(".")[0] for p in site.reports.glob("fleet-2*")}
    assert f"fleet audit: site report {site.reports / stamp}.html" in result.stderr
    for ext in ("json", "html", "md"):
        assert (site.reports / f"fleet-latest.{ext}").resolve() == site.reports / f"{stamp}.{ext}"
    for host in ("gw1", "gw2"):
        (own,) = (site.reports / "hosts" / host).glob("audit-*.json")
        assert json.loads(own.read_text()) == json.loads(audit_reports[host].read_text())
        assert (site.reports / "hosts" / host / "latest.json").resolve() == own
        assert stat.S_IMODE(own.stat().st_mode) == 0o640
        assert next(h for h in document["hosts"] if h["host"] == host)["reports"]["json"] == f"hosts/{host}/{own.name}"
    # The directory the run fetched into goes with the run.
    assert sorted(p.name for p in site.reports.iterdir() if p.is_dir()) == ["hosts"]
    (run,) = site.runs.iterdir()
    assert document["run_id"] == run.name


def test_json_prints_the_site_report_and_fail_on_exits_1(cli, site, audit_reports):
    site.hosts({name: {"report": str(path)} for name, path in audit_reports.items()})
    result = cli(*site.args("--json"))
    assert result.exit_code == ExitCode.FAILED == 1, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["status"] == "failed" and envelope["data"] == site.site_report()
    assert (
        envelope["errors"][0]["message"].startswith("fleet audit: ")
        and "at or above high" in (envelope["errors"][0]["message"])
    )
    assert list(validator("envelope").iter_errors(envelope)) == []


def test_an_appliance_that_failed_or_sent_nothing_exits_4_with_the_others_reported(cli, site, audit_reports):
    site.hosts(
        {
            "gw1": {"report": str(audit_reports["gw1"])},
            "gw3": {"audit_fails": True},
            "gw4": {},
            # Nothing listens on port 1: Ansible cannot reach it.
            "gw5": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                    "ansible_ssh_common_args": "-o ConnectTimeout=5 -o BatchMode=yes"},
        }
    )  # fmt: skip
    result = cli(*site.args("--fail-on", "none"))
    assert result.exit_code == ExitCode.PROVISION_FAILED == 4, result.stderr
    rows = {row[0]: row[1:] for row in _table(result.stdout)[1:]}
    assert rows["gw1"][0] == "ok" and rows["gw3"] == ["failed", *"-" * 6] and rows["gw4"][:2] == ["no", "report"]
    assert rows["gw5"][0] == "unreachable"
    assert "gw3: failed: the audit exited 2 without a new report" in result.stdout
    assert "airgapctl: error: fleet audit: no report merged from 3 appliance(s): gw3 (failed), gw4 (no report), " \
           "gw5 (unreachable)" in result.stderr  # fmt: skip
    document = site.site_report()
    assert document["summary"]["by_status"] == {"ok": 1, "failed": 1, "unreachable": 1, "no_report": 1,
                                                "invalid_report": 0}  # fmt: skip
    assert document["findings"] and {f["subject"]["host"] for f in document["findings"]} == {"gw1"}


def test_the_fleet_playbook_runs_each_appliance_s_audit_and_fetches_what_it_wrote(
    cli, site, audit_reports, monkeypatch
):
    """playbooks/audit_fleet.yml itself, against a stand-in systemctl: an audit that exits 1 (findings
    at the appliance's fail_on) with a new report reported; one that exits 2 without one failed,
    its older report not taken for this run's; one whose report is broken is an error line."""
    bin_dir, hosts = site.root / "bin", site.root / "appliances"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(STAND_IN_SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FLEET_HOSTS", str(hosts))
    inventory = {}
    for name, exit_status, report in (("gw1", 1, audit_reports["gw1"]), ("gw2", 0, audit_reports["gw2"]),
                                      ("gw3", 2, None), ("gw4", 0, "broken")):  # fmt: skip
        home = hosts / name
        (home / "reports").mkdir(parents=True)
        (home / "exit").write_text(f"{exit_status}\n")
        if report == "broken":
            (home / "report.json").write_text('{"schema": ')
        elif report is not None:
            (home / "report.json").write_text(report.read_text())
        if name == "gw3":  # an earlier run's report, which this run must not take for its own
            (home / "reports" / "audit-20260101T000000Z.json").write_text(audit_reports["gw2"].read_text())
            (home / "reports" / "latest.json").symlink_to("audit-20260101T000000Z.json")
        # Which appliance the stand-in systemctl plays: through the interpreter the modules run with.
        interpreter = home / "python"
        interpreter.write_text(f'#!/bin/sh\nFLEET_HOST={name} exec {sys.executable} "$@"\n')
        interpreter.chmod(0o755)
        inventory[name] = {"ansible_python_interpreter": str(interpreter), "ansible_become": False,
                           "audit_schedule_report_dir": str(home / "reports")}  # fmt: skip
    site.hosts(inventory)
    result = cli(*site.args("--fail-on", "none", playbook=REAL_PLAYBOOK))
    assert result.exit_code == ExitCode.PROVISION_FAILED, result.stderr
    document = site.site_report()
    by_host = {h["host"]: h for h in document["hosts"]}
    assert {name: h["status"] for name, h in by_host.items()} == {
        "gw1": "ok", "gw2": "ok", "gw3": "failed", "gw4": "invalid_report",
    }  # fmt: skip
    assert by_host["gw3"]["error"].startswith("the audit exited 2 without a new report: Job for airgap-audit.service")
    assert by_host["gw3"]["reports"]["json"] is None and not (site.reports / "hosts" / "gw3").exists()
    assert by_host["gw1"]["findings"] == len(json.loads(audit_reports["gw1"].read_text())["findings"])
    assert "is not JSON" in by_host["gw4"]["error"]


def test_an_inventory_that_does_not_load_runs_nothing(cli, site):
    site.inventory.write_text(json.dumps({"all": {"hosts": {"lonely": {}}}}))
    result = cli(*site.args())
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "no host in group gateways" in result.stderr and "host lonely is in no group" in result.stderr
    assert "airgapctl: error: fleet audit: 2 problem(s) with the inventory, nothing was run" in result.stderr
    assert not site.runs.exists() and not site.reports.exists()
