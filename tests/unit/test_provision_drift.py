"""``airgapctl drift`` for real: ansible-runner and ansible-playbook in check and diff mode against
two local hosts (connection local) whose managed files are in tmp_path, after the same playbook
applied them; and the pieces that build the report (diffs, redaction, why a task was not checked)
on the runner events Ansible 2.19 and ansible-runner 2.4 produce."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from airgapctl.errors import ExitCode
from airgapctl.provision import drift, runner, safe_event
from airgapctl.provision.ansible_env import Vault
from airgapctl.schemas import validator

# In a file beside the playbook, never in it: the canaries reach Ansible only as file contents, so a
# no_log task's result (and diff) is the one place they could leak from.
CANARY_NEW = "canary-new-4b1f9d7e"
CANARY_OLD = "canary-old-93ac2e5b"
PLAYBOOK = """\
- name: Drift play
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the managed file
      ansible.builtin.copy:
        {content: "managed line\\n", dest: "{{ out_dir }}/{{ inventory_hostname }}.conf", mode: "0600"}
    - name: Write the secret file
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.file', playbook_dir ~ '/secret.txt') }}\\n"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.secret"
        mode: "0600"
      no_log: true
    - name: Run a command
      ansible.builtin.command: "true"
      changed_when: false
    - name: Never run
      ansible.builtin.command: "false"
      when: false
    - name: Start what check mode cannot
      ansible.builtin.debug: {msg: started}
      when: not ansible_check_mode
    - name: Make a scratch directory
      ansible.builtin.tempfile: {state: directory}
      check_mode: false
      register: scratch
    - name: Remove the scratch directory
      ansible.builtin.file: {path: "{{ scratch.path }}", state: absent}
      check_mode: false
    - name: Fail where asked
      ansible.builtin.fail: {msg: asked to}
      when: fail_here | default(false)
"""
LOGS = Path(__file__).parents[1] / "fixtures" / "audit" / "readers" / "gateway_lines.log"
NOT_CHECKED = [
    {"task": "Run a command", "action": "ansible.builtin.command", "reason": safe_event.NOT_RUN_COMMAND},
    {"task": "Start what check mode cannot", "action": "ansible.builtin.debug",
     "reason": safe_event.CHECK_MODE_CONDITION},
]  # fmt: skip


class Site:
    """A playbook, an inventory of two local gateways, their managed files, and the runs directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "out"
        self.out.mkdir()
        self.runs = root / "runs"
        self.playbook = root / "site.yml"
        self.playbook.write_text(PLAYBOOK)
        (root / "secret.txt").write_text(CANARY_NEW + "\n")
        self.inventory = root / "hosts.yml"
        self.hosts()

    def hosts(self, failing: tuple[str, ...] = ()) -> None:
        common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "out_dir": str(self.out)}
        hosts = {name: ({"fail_here": True} if name in failing else {}) for name in ("h1", "h2")}
        self.inventory.write_text(json.dumps({"gateways": {"vars": common, "hosts": hosts}}))

    def applied(self) -> None:
        """What applying the playbook leaves (apply does it for real, a few seconds a run)."""
        for host in ("h1", "h2"):
            for name, content in ((f"{host}.conf", "managed line\n"), (f"{host}.secret", CANARY_NEW + "\n")):
                (self.out / name).write_text(content)
                (self.out / name).chmod(0o600)

    def apply(self) -> None:
        """The playbook run for real, as provision would: the state a drift check compares with."""
        request = runner.Request(self.inventory, self.playbook, self.root / "applied", Vault(None, ()))
        with open(self.root / "apply.log", "w") as progress:
            assert runner.run(request, stream=progress).outcome == runner.OUTCOME_OK

    def args(self, *more: str) -> list[str]:
        return ["drift", "-i", str(self.inventory), "--playbook", str(self.playbook), "--runs-dir", str(self.runs),
                *more]  # fmt: skip

    def run_dir(self) -> Path:
        (directory,) = self.runs.iterdir()
        return directory

    def events(self) -> list[dict]:
        return [json.loads(line) for line in (self.run_dir() / "events.jsonl").read_text().splitlines()]


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)
    built = Site(tmp_path)
    built.applied()
    return built


def _report(path: Path) -> dict:
    document = json.loads(path.read_text())
    validator("drift").validate(document)
    return document


def test_an_untouched_site_has_no_drift(cli, site):
    for path in site.out.iterdir():
        path.unlink()
    site.apply()
    out = site.root / "drift.json"
    result = cli(*site.args("--out", str(out)))
    assert result.exit_code == ExitCode.OK, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[:3]]
    assert rows == [["HOST", "WOULD", "CHANGE", "NOT", "CHECKED"], ["h1", "0", "2"], ["h2", "0", "2"]]
    assert "would change:" not in result.stdout
    assert "0 task(s) would change on 0 of 2 host(s), 4 not checked" in result.stdout
    report = _report(out)
    assert (report["drift"], report["outcome"], report["check_facts"]) == (False, "ok", True)
    # The scratch directory's tasks ran for real (check_mode: false) and changed: not drift.
    assert report["hosts"]["h1"] == {"changes": [], "not_checked": NOT_CHECKED}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "drift: task Write the managed file" in result.stderr
    assert f"drift: report written to {out}" in result.stderr


def test_a_hand_edited_file_is_reported_with_its_diff(cli, site):
    (site.out / "h1.conf").write_text("managed line\nedited by hand\n")
    out = site.root / "drift.json"
    result = cli(*site.args("--out", str(out)))
    assert result.exit_code == ExitCode.DRIFT_FOUND == 5, result.stderr
    assert "h1: would change: Write the managed file (ansible.builtin.copy)" in result.stdout
    assert f"    --- before: {site.out}/h1.conf\n    +++ after: {site.out}/h1.conf\n" in result.stdout
    assert "     managed line\n    -edited by hand\n" in result.stdout
    assert "h2: would change" not in result.stdout
    assert "airgapctl: error: drift: 1 task(s) would change on 1 host(s)" in result.stderr
    # Check mode: the edit is still there.
    assert (site.out / "h1.conf").read_text() == "managed line\nedited by hand\n"

    as_json = cli(*site.args("--json"))
    assert as_json.exit_code == ExitCode.DRIFT_FOUND
    document = json.loads(as_json.stdout)
    validator("envelope").validate(document)
    assert document["status"] == "failed" and document["errors"][0]["exit_code"] == ExitCode.DRIFT_FOUND
    validator("drift").validate(document["data"])
    (change,) = document["data"]["hosts"]["h1"]["changes"]
    assert (change["task"], change["action"]) == ("Write the managed file", "ansible.builtin.copy")
    assert change["diff"].splitlines()[2:] == ["@@ -1,2 +1 @@", " managed line", "-edited by hand"]
    assert document["data"]["hosts"]["h2"]["changes"] == []

    # The audit includes the report: the change is a config_drift finding about h1.
    audit = cli("audit", "run", "--logs", str(LOGS), "--drift", str(out), "--fail-on", "none", "--json", "--quiet")
    assert audit.exit_code == 0, audit.stderr
    (finding,) = [f for f in json.loads(audit.stdout)["data"]["findings"] if f["detector"] == "config_drift"]
    assert (
        finding["subject"] == {"host": "h1"}
        and finding["message"] == "host h1: task Write the managed file would change"
    )
    assert finding["evidence"]["diff"][-1] == "-edited by hand"


def test_a_command_task_is_listed_as_not_checked(cli, site):
    """The command module skips itself in check mode; a command skipped by a false condition is
    not listed, and a task skipped by a condition on ansible_check_mode is."""
    result = cli(*site.args("--limit", "h2"))
    assert result.exit_code == ExitCode.OK, result.stderr
    listed = [line for line in result.stdout.splitlines() if line.startswith("h2: not checked: ")]
    assert listed == [
        f"h2: not checked: Run a command (ansible.builtin.command): {safe_event.NOT_RUN_COMMAND}",
        f"h2: not checked: Start what check mode cannot (ansible.builtin.debug): {safe_event.CHECK_MODE_CONDITION}",
    ]
    assert "Never run" not in result.stdout and "h1" not in result.stdout
    facts = [e for e in site.events() if e["event"] == safe_event.CHECK_FACTS]
    assert len(facts) == len([e for e in site.events() if e["event"] in safe_event.RESULTS]) > 0


def test_a_no_log_diff_shows_nowhere(cli, site):
    """The secret file differs on h1: its task would change and is reported, but its diff (the old
    and the new secret) is not on stdout, stderr, in the JSON, the run's record or the --out file."""
    (site.out / "h1.secret").write_text(CANARY_OLD + "\n")
    out = site.root / "drift.json"
    plain, as_json = cli(*site.args("--out", str(out))), cli(*site.args("--json"))
    assert plain.exit_code == as_json.exit_code == ExitCode.DRIFT_FOUND
    assert "h1: would change: Write the secret file (ansible.builtin.copy)\n    (hidden: the task is no_log)\n" in (
        plain.stdout
    )
    (change,) = json.loads(as_json.stdout)["data"]["hosts"]["h1"]["changes"]
    assert change == {
        "task": "Write the secret file",
        "action": "ansible.builtin.copy",
        "diff": safe_event.HIDDEN_NO_LOG,
    }
    files = [p for p in site.runs.rglob("*") if p.is_file()] + [out]
    assert len(files) == 5  # two runs, summary and events each, and the report
    for text in (plain.stdout, plain.stderr, as_json.stdout, as_json.stderr, *(p.read_text() for p in files)):
        assert CANARY_NEW not in text and CANARY_OLD not in text
    for event in (e for p in site.runs.glob("*/events.jsonl") for e in map(json.loads, p.read_text().splitlines())):
        assert "res" not in event and "stdout" not in event and "task_args" not in event


def test_a_failing_host_exits_provision_failed_and_the_task_is_not_checked(cli, site):
    site.hosts(failing=("h1",))
    out = site.root / "drift.json"
    result = cli(*site.args("--out", str(out)))
    assert result.exit_code == ExitCode.PROVISION_FAILED
    assert "airgapctl: error: drift check incomplete: failed: h1" in result.stderr
    assert "h1: not checked: Fail where asked (ansible.builtin.fail): failed in check mode" in result.stdout
    report = _report(out)
    assert report["outcome"] == "failed" and report["failed_hosts"] == ["h1"]


def test_an_inventory_that_does_not_load_runs_nothing(cli, site):
    site.inventory.write_text(json.dumps({"all": {"hosts": {"h1": {}}}}))
    result = cli(*site.args())
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "host h1 is in no group" in result.stderr
    assert "airgapctl: error: drift: 2 problem(s) with the inventory, nothing was run" in result.stderr
    assert not site.runs.exists()


def test_bad_paths_are_one_line_errors(cli, tmp_path):
    (tmp_path / "hosts.yml").write_text("{}")
    missing = cli("drift", "-i", str(tmp_path / "nope.yml"))
    assert missing.exit_code == ExitCode.BAD_INPUT
    assert f"airgapctl: error: inventory {tmp_path / 'nope.yml'} does not exist" in missing.stderr
    out = cli("drift", "-i", str(tmp_path / "hosts.yml"), "--playbook", str(tmp_path / "hosts.yml"),
              "--out", str(tmp_path / "no" / "drift.json"))  # fmt: skip
    assert out.exit_code == ExitCode.BAD_INPUT
    assert f"--out {tmp_path / 'no' / 'drift.json'}: directory {tmp_path / 'no'} does not exist" in out.stderr
    a_dir = cli("drift", "-i", str(tmp_path / "hosts.yml"), "--playbook", str(tmp_path / "hosts.yml"),
                "--out", str(tmp_path))  # fmt: skip
    assert a_dir.exit_code == ExitCode.BAD_INPUT
    assert f"airgapctl: error: --out {tmp_path} is a directory" in a_dir.stderr


# --- the pieces, on the events Ansible 2.19 and ansible-runner 2.4 produce --------------------------


def _ok(res: dict, **data) -> dict:
    return {"event": "runner_on_ok", "created": "t", "event_data": {"host": "h1", "task": "t", "task_uuid": "u1",
            "resolved_action": "ansible.builtin.copy", "res": res, **data}}  # fmt: skip


def test_a_diff_is_rendered_as_unified_text_whatever_its_shape():
    content = {"before_header": "/etc/a.conf", "before": "one\ntwo\n", "after_header": "/etc/a.conf", "after": "one\n"}
    assert (
        safe_event.render_diff(content)
        == "--- before: /etc/a.conf\n+++ after: /etc/a.conf\n@@ -1,2 +1 @@\n one\n-two\n"
    )
    # The file module's attributes are mappings; a side without a header is "before"/"after".
    attributes = {"before": {"mode": "0644", "path": "/p"}, "after": {"mode": "0600", "path": "/p"}}
    assert '-  "mode": "0644",\n+  "mode": "0600",\n' in safe_event.render_diff(attributes)
    assert safe_event.render_diff([content, {"before_header": "x (file attributes)"}]) == safe_event.render_diff(
        content
    )
    assert safe_event.render_diff({"prepared": "--- a\n+++ b"}) == "--- a\n+++ b\n"
    assert safe_event.render_diff({"src_binary": 1}) == "(binary file: no diff)\n"
    assert safe_event.render_diff(None) == "" and safe_event.render_diff({"before": "same", "after": "same"}) == ""
    huge = {"before": "", "after": "".join(f"{i}\n" for i in range(1000))}
    text = safe_event.reduce(_ok({"changed": True, "diff": huge}), drift=True)["diff"]
    assert len(text.splitlines()) == safe_event.DIFF_LINES_KEPT + 1 and text.endswith("(603 more lines)\n")


@pytest.mark.parametrize(
    ("res", "data", "shown"),
    [
        # ansible-runner censors a no_log result itself; a result that reached it uncensored is hidden all the same.
        ({"censored": "the output has been hidden"}, {}, safe_event.HIDDEN_NO_LOG),
        ({"changed": True, "_ansible_no_log": True, "diff": {"before": CANARY_OLD, "after": CANARY_NEW}}, {},
         safe_event.HIDDEN_NO_LOG),
        ({"changed": True, "results": [{"changed": True, "_ansible_no_log": True,
                                        "diff": {"before": CANARY_OLD, "after": CANARY_NEW}}]}, {},
         safe_event.HIDDEN_NO_LOG + "\n"),
        # The secrets role's module writes credentials, wherever a task runs it and whatever its no_log.
        ({"changed": True, "diff": {"before": CANARY_OLD, "after": CANARY_NEW}},
         {"resolved_action": "airgap_credential"}, safe_event.HIDDEN_CREDENTIALS),
        ({"changed": True, "diff": {"before": CANARY_OLD, "after": CANARY_NEW}},
         {"task_action": "ansible.legacy.airgap_credential"}, safe_event.HIDDEN_CREDENTIALS),
        ({"changed": True, "diff": {"before": CANARY_OLD, "after": CANARY_NEW}}, {"role": "secrets"},
         safe_event.HIDDEN_CREDENTIALS),
    ],
)  # fmt: skip
def test_a_secret_diff_is_never_kept(res, data, shown):
    reduced = safe_event.reduce(_ok(res, **data), drift=True)
    assert reduced["diff"] == shown
    assert CANARY_OLD not in json.dumps(reduced) and CANARY_NEW not in json.dumps(reduced)


@pytest.mark.parametrize(
    ("result", "action", "reason"),
    [
        # What a callback sees of a skipped result in check mode (Ansible 2.19), and what it means.
        ({"msg": "Command would have run if not in check mode"}, "ansible.builtin.command", safe_event.NOT_RUN_COMMAND),
        ({"msg": "Check mode is not supported for this task."}, "ansible.builtin.script", safe_event.NOT_RUN_COMMAND),
        ({}, "ansible.builtin.raw", safe_event.NOT_RUN_COMMAND),
        ({"msg": "remote module (nocheck) does not support check mode"}, "nocheck", safe_event.NO_CHECK_MODE),
        ({}, "ansible.builtin.wait_for_connection", safe_event.SKIPPED_IN_CHECK_MODE),
        ({"skip_reason": "Conditional result was False", "false_condition": "not ansible_check_mode"},
         "ansible.builtin.debug", safe_event.CHECK_MODE_CONDITION),
        ({"skip_reason": "Conditional result was False", "false_condition": False}, "ansible.builtin.command", None),
        ({"skip_reason": "Conditional result was False", "false_condition": "x is defined"}, "debug", None),
        ({"skipped_reason": "No items in the list", "results": []}, "ansible.builtin.command", None),
        ({"msg": "/x exists, matching creates option"}, "ansible.builtin.script", None),
        ({"censored": True}, "ansible.builtin.copy", safe_event.SKIPPED_HIDDEN),
        ({"results": [{"msg": "Command would have run if not in check mode", "skipped": True}]},
         "ansible.builtin.command", safe_event.NOT_RUN_COMMAND),
    ],
)  # fmt: skip
def test_why_a_skipped_result_was_not_checked(result, action, reason):
    assert safe_event.skip_reason(result, action) == reason


def test_the_check_facts_keep_no_message():
    line = {"kind": "skipped", "host": "h1", "task_uuid": "u1", "action": "nocheck", "check_mode": True,
            "changed": False, "skip": {"msg": f"remote module does not support check mode {CANARY_NEW}"}}  # fmt: skip
    assert safe_event.reduce_check_facts(line) == {
        "event": safe_event.CHECK_FACTS, "host": "h1", "task_uuid": "u1", "kind": "skipped", "check_mode": True,
        "changed": False, "not_checked": safe_event.NO_CHECK_MODE,
    }  # fmt: skip
    assert safe_event.reduce_check_facts({**line, "check_mode": False})["not_checked"] is None
    assert safe_event.reduce_check_facts({"host": 1}) is None


def test_the_report_takes_the_check_facts_over_the_events():
    summary = runner.Summary("r", "/d", "i", "p", None, [], True, True, None, "s", drift=True, outcome="ok")
    summary.hosts = {"h1": {}}

    def result(kind: str, uuid: str, changed: bool = False, action: str = "ansible.builtin.copy") -> dict:
        res = {"changed": changed, "diff": {"before": "a\n", "after": "b\n"}}
        data = {"host": "h1", "task": uuid, "task_uuid": uuid, "resolved_action": action, "res": res}
        event = {"event": kind, "created": "t", "event_data": data}
        return safe_event.reduce(event, drift=True)

    def fact(uuid: str, kind: str, check_mode: bool = True, changed: bool = False, reason: str | None = None) -> dict:
        return {"event": safe_event.CHECK_FACTS, "host": "h1", "task_uuid": uuid, "kind": kind,
                "check_mode": check_mode, "changed": changed, "not_checked": reason}  # fmt: skip

    records = [
        result("runner_on_ok", "predicted", changed=True),
        result("runner_on_ok", "scratch", changed=True),
        result("runner_on_skipped", "command when false", action="ansible.builtin.command"),
        result("runner_on_skipped", "module without check mode", action="nocheck"),
        fact("predicted", "ok", changed=True),
        fact("scratch", "ok", check_mode=False, changed=True),
        fact("command when false", "skipped"),
        fact("module without check mode", "skipped", reason=safe_event.NO_CHECK_MODE),
    ]
    report = drift.build_report(summary, records)
    assert [c["task"] for c in report.hosts["h1"].changes] == ["predicted"]
    assert report.hosts["h1"].changes[0]["diff"] == "--- before\n+++ after\n@@ -1 +1 @@\n-a\n+b\n"
    assert report.hosts["h1"].not_checked == [
        {"task": "module without check mode", "action": "nocheck", "reason": safe_event.NO_CHECK_MODE}
    ]
    assert report.drift and report.check_facts and report.notes == []
    # Without the callback's records: the events alone, and a note that says so.
    alone = drift.build_report(summary, records[:4])
    assert [c["task"] for c in alone.hosts["h1"].changes] == ["predicted", "scratch"]
    assert [n["task"] for n in alone.hosts["h1"].not_checked] == ["command when false"]
    assert alone.notes == [drift.NO_FACTS_NOTE] and not alone.check_facts
