"""``airgapctl provision`` for real: ansible-runner and ansible-playbook against local hosts
(connection local), with a small playbook whose tasks change, stay ok, skip, fail on demand and
read a secret under no_log, which must never show on stdout, stderr or in the runs directory."""

from __future__ import annotations

import io
import json
import shutil
import stat
import sys
import types
from pathlib import Path

import pytest

from airgapctl.errors import ExitCode
from airgapctl.provision import safe_event
from airgapctl.schemas import validator

CANARY = "canary-7f3c9a1e-no-log"
PLAYBOOK = """\
- name: Test play
  hosts: all
  gather_facts: false
  serial: "{{ airgap_serial | default('100%') }}"
  max_fail_percentage: 0
  tasks:
    - name: Write the host's file
      ansible.builtin.copy: {content: "x\\n", dest: "{{ out_dir }}/{{ inventory_hostname }}.txt", mode: "0600"}
      tags: [files]
    - name: Look around
      ansible.builtin.debug: {msg: looked}
    - name: Never
      ansible.builtin.debug: {msg: never}
      when: false
    - name: Read the secret
      ansible.builtin.command: cat {{ playbook_dir }}/secret.txt
      changed_when: false
      no_log: true
    - name: Fail where asked
      ansible.builtin.fail: {msg: asked to}
      when: fail_here | default(false)
- name: Second play
  hosts: all
  gather_facts: false
  serial: "{{ airgap_serial | default('100%') }}"
  max_fail_percentage: 0
  tasks:
    - name: After
      ansible.builtin.debug: {msg: after}
"""


class Site:
    """A playbook, an inventory of two local hosts, and where the run writes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "out"
        self.out.mkdir()
        self.runs = root / "runs"
        self.playbook = root / "play.yml"
        self.playbook.write_text(PLAYBOOK)
        # In a file, not the playbook: the canary reaches Ansible only as a task's result.
        (root / "secret.txt").write_text(CANARY + "\n")
        self.inventory = root / "hosts.yml"
        self.hosts()

    def hosts(self, failing: tuple[str, ...] = ()) -> None:
        common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "out_dir": str(self.out)}
        hosts = {name: ({"fail_here": True} if name in failing else {}) for name in ("h1", "h2")}
        self.inventory.write_text(json.dumps({"all": {"vars": common, "hosts": hosts}}))

    def args(self, *more: str) -> list[str]:
        return ["provision", "-i", str(self.inventory), "--playbook", str(self.playbook), "--runs-dir", str(self.runs),
                *more]  # fmt: skip

    def run_dir(self) -> Path:
        (directory,) = self.runs.iterdir()
        return directory

    def summary(self) -> dict:
        return json.loads((self.run_dir() / "summary.json").read_text())

    def events(self) -> list[dict]:
        return [json.loads(line) for line in (self.run_dir() / "events.jsonl").read_text().splitlines()]


@pytest.fixture
def stand_in_preflight(monkeypatch):
    """A stand-in for airgapctl.provision.preflight.check, which these tests do not exercise: it
    records its calls and finds the problems a test puts in ``problems``."""
    calls: list[dict] = []
    module = types.ModuleType("airgapctl.provision.preflight")
    module.problems = []

    def check(inventory, *, limit, vault_password_file, vault_ids, reach, accepted_dir, verified):
        calls.append({"inventory": inventory, "limit": limit, "vault_password_file": vault_password_file,
                      "vault_ids": vault_ids, "reach": reach, "accepted_dir": accepted_dir})  # fmt: skip
        return list(module.problems)

    module.check = check
    module.calls = calls
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


@pytest.fixture
def site(tmp_path, stand_in_preflight, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)
    return Site(tmp_path)


@pytest.fixture
def emitted(monkeypatch):
    events: list[tuple[str, dict]] = []
    monkeypatch.setattr("airgapctl.events.emit_or_warn", lambda tag, fields=None, **kw: events.append((tag, fields)))
    return events


def _results(events: list[dict], host: str | None = None) -> list[dict]:
    return [e for e in events if e["event"] in safe_event.RESULTS and host in (None, e["host"])]


def test_a_run_reports_each_host_and_records_the_run(cli, site, emitted):
    result = cli(*site.args())
    assert result.exit_code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["HOST", "OK", "CHANGED", "FAILED", "UNREACHABLE", "SKIPPED", "RESCUED"]
    # ok counts the changed results too, as Ansible's recap does; "Fail where asked" skips as well.
    assert rows[1:] == [["h1", "4", "1", "0", "0", "2", "0"], ["h2", "4", "1", "0", "0", "2", "0"]]
    assert "provision: task Write the host's file" in result.stderr
    assert "provision:   h1: changed (1 done, 1 changed, 0 failed)" in result.stderr
    assert "provision:   h2: skipped (3 done, 1 changed, 0 failed)" in result.stderr
    summary = site.summary()
    assert summary["outcome"] == "ok" and summary["runner"] == {"rc": 0, "status": "successful"}
    assert summary["hosts"]["h1"] == {"ok": 4, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 2,
                                      "rescued": 0, "ignored": 0}  # fmt: skip
    assert (summary["inventory"], summary["playbook"]) == (str(site.inventory), str(site.playbook))
    assert (summary["check"], summary["serial"], summary["limit"], summary["tags"]) == (False, None, None, [])
    assert summary["started"] <= summary["ended"]
    events = site.events()
    started = [e["task"] for e in events if e["event"] == "playbook_on_task_start"]
    assert started == ["Write the host's file", "Look around", "Never", "Read the secret", "Fail where asked", "After"]
    copy = next(e for e in _results(events, "h1") if e["task"] == "Write the host's file")
    assert copy == {**copy, "action": "ansible.builtin.copy", "changed": True, "failed": False, "no_log": False}
    assert next(e for e in _results(events) if e["task"] == "Read the secret")["no_log"] is True
    assert (site.out / "h1.txt").is_file()
    assert emitted == [("provision.run", {"run_id": summary["run_id"], "outcome": "ok", "check": False, "hosts": 2,
                                          "ok": 8, "changed": 2, "failed": 0, "unreachable": 0})]  # fmt: skip


def test_the_record_is_private_and_keeps_nothing_of_ansible_runner(cli, site):
    assert cli(*site.args()).exit_code == 0
    directory = site.run_dir()
    assert directory.name == site.summary()["run_id"]
    assert stat.S_IMODE(site.runs.stat().st_mode) == stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == ["events.jsonl", "summary.json"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()} == {0o600}


def test_a_no_log_result_shows_nowhere(cli, site):
    """The canary is in the no_log task's result only: not on stdout, stderr, in the record, nor
    left by ansible-runner (its artifacts go with the run), with the JSON document too."""
    plain, as_json = cli(*site.args()), cli(*site.args("--json"))
    assert plain.exit_code == as_json.exit_code == 0
    for output in (plain.stdout, plain.stderr, as_json.stdout, as_json.stderr):
        assert CANARY not in output
    files = [p for p in site.runs.rglob("*") if p.is_file()]
    assert len(files) == 4  # two runs, summary and events each
    for path in files:
        assert CANARY not in path.read_text()
    for event in (e for p in site.runs.glob("*/events.jsonl") for e in map(json.loads, p.read_text().splitlines())):
        assert "res" not in event and "stdout" not in event and "task_args" not in event


def test_a_failing_host_exits_provision_failed_and_is_named(cli, site, emitted):
    site.hosts(failing=("h1",))
    result = cli(*site.args())
    assert result.exit_code == ExitCode.PROVISION_FAILED == 4
    assert "provision:   h1: FAILED (5 done, 1 changed, 1 failed)" in result.stderr
    assert "provision:     asked to" in result.stderr.splitlines()  # what the task said, under its line
    assert "airgapctl: error: provision stopped: failed: h1; h1: Fail where asked: asked to" in (
        result.stderr.splitlines()
    )
    assert site.summary()["failures"] == [{"host": "h1", "task": "Fail where asked", "message": "asked to"}]
    summary = site.summary()
    assert summary["outcome"] == "failed" and summary["failed_hosts"] == ["h1"]
    assert summary["runner"]["status"] == "failed"
    assert emitted[0][1]["outcome"] == "failed" and emitted[0][1]["failed"] == 1
    # max_fail_percentage 0: h1's failure ended the play for h2 too, and the second play never ran.
    assert not any(e.get("task") == "After" for e in site.events())


def test_a_failing_no_log_task_says_nothing_of_its_result(cli, site):
    site.playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Fail with the secret\n"
        "      ansible.builtin.command: sh -c 'cat {{ playbook_dir }}/secret.txt >&2; exit 3'\n"
        "      no_log: true\n"
        "    - name: A command that fails aloud\n"
        "      ansible.builtin.command: sh -c 'echo first >&2; echo the cause >&2; exit 3'\n"
    )
    result = cli(*site.args("--limit", "h1"))
    assert result.exit_code == ExitCode.PROVISION_FAILED
    assert CANARY not in result.stderr + result.stdout
    assert CANARY not in (site.run_dir() / "summary.json").read_text() + (site.run_dir() / "events.jsonl").read_text()
    assert site.summary()["failures"] == []  # the no_log failure ended the play; it says nothing
    site.playbook.write_text(site.playbook.read_text().replace("      no_log: true\n", "      ignore_errors: true\n"))
    for path in site.runs.iterdir():
        shutil.rmtree(path)
    result = cli(*site.args("--limit", "h1"))
    assert site.summary()["failures"] == [
        {"host": "h1", "task": "A command that fails aloud", "message": "non-zero return code: the cause"}
    ]


def test_with_serial_1_a_failing_first_host_leaves_the_second_untouched(cli, site):
    site.hosts(failing=("h1",))
    result = cli(*site.args("--serial", "1"))
    assert result.exit_code == ExitCode.PROVISION_FAILED
    assert _results(site.events(), "h2") == []
    assert not (site.out / "h2.txt").exists()
    assert site.summary()["serial"] == 1 and list(site.summary()["hosts"]) == ["h1"]
    assert "h2" not in result.stdout


def test_with_serial_1_every_host_runs_one_after_the_other(cli, site):
    assert cli(*site.args("--serial", "1")).exit_code == 0
    writes = [e["host"] for e in _results(site.events()) if e["task"] == "Write the host's file"]
    tasks = [e["event"] for e in site.events() if e["event"] == "playbook_on_task_start"]
    assert sorted(writes) == ["h1", "h2"] and len(tasks) == 12  # each play's tasks once a batch


def test_check_mode_changes_nothing(cli, site):
    result = cli(*site.args("--check", "--diff"))
    assert result.exit_code == 0, result.stderr
    assert not (site.out / "h1.txt").exists()
    summary = site.summary()
    assert summary["check"] is True and summary["diff"] is True and summary["hosts"]["h1"]["changed"] == 1


def test_tags_run_only_the_tagged_tasks(cli, site):
    assert cli(*site.args("--tags", "files")).exit_code == 0
    assert {e["task"] for e in _results(site.events())} == {"Write the host's file"}
    assert site.summary()["tags"] == ["files"]


def test_limit_runs_only_the_matching_hosts(cli, site, stand_in_preflight):
    assert cli(*site.args("--limit", "h2")).exit_code == 0
    assert {e["host"] for e in _results(site.events())} == {"h2"}
    assert not (site.out / "h1.txt").exists()
    assert stand_in_preflight.calls[0]["limit"] == "h2"


def test_json_prints_the_summary_as_the_one_document(cli, site):
    site.hosts(failing=("h2",))
    result = cli(*site.args("--json"))
    assert result.exit_code == ExitCode.PROVISION_FAILED
    document = json.loads(result.stdout)
    validator("envelope").validate(document)
    assert document["status"] == "error" and document["errors"][0]["exit_code"] == 4
    assert document["data"] == site.summary()


def test_an_error_before_any_host_failed_is_named(cli, site):
    site.playbook.write_text("- hosts: all\n  roles: [no_such_role]\n")
    result = cli(*site.args())
    assert result.exit_code == ExitCode.PROVISION_FAILED
    assert "provision: ansible: [ERROR]: the role 'no_such_role' was not found" in result.stderr
    assert result.stderr.count("before any host failed: [ERROR]: the role 'no_such_role'") == 1
    assert site.summary()["outcome"] == "error"


def test_the_vault_password_file_opens_the_inventory_and_is_never_shown(cli, site):
    from airgapctl.vault.sealing import seal

    password = "vault-pass-5d1e"  # noqa: S105
    (site.root / "vault-pass").write_text(password + "\n")
    sealed = seal(CANARY, password.encode(), "airgap")
    (site.root / "host_vars").mkdir()
    (site.root / "host_vars" / "h1.yml").write_text("secret_value: !vault |\n" + "".join(
        f"  {line}\n" for line in sealed.splitlines()))  # fmt: skip
    site.playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Use the secret\n      ansible.builtin.debug: {var: secret_value}\n      no_log: true\n"
    )
    result = cli(*site.args("--vault-id", f"airgap@{site.root / 'vault-pass'}"))
    assert result.exit_code == 0, result.stderr
    for text in (result.stdout, result.stderr, *(p.read_text() for p in site.runs.rglob("*") if p.is_file())):
        assert CANARY not in text and password not in text and "vault-pass" not in text


def test_a_vault_id_that_prompts_is_refused(cli, site):
    result = cli(*site.args("--vault-id", "airgap@prompt"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "a prompt cannot be answered" in result.stderr
    assert not site.runs.exists()


def test_preflight_problems_stop_the_run_before_anything_is_done(cli, site, stand_in_preflight):
    stand_in_preflight.problems = [types.SimpleNamespace(what="no such host", where="hosts.yml: gw9", fix="add it")]
    result = cli(*site.args())
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "hosts.yml: gw9: no such host (add it)" in result.stderr.splitlines()
    assert "airgapctl: error: preflight: 1 problem(s), nothing was run" in result.stderr
    assert not site.runs.exists() and not (site.out / "h1.txt").exists()
    assert stand_in_preflight.calls[0]["reach"] is True


def test_preflight_only_runs_nothing(cli, site, stand_in_preflight):
    result = cli(*site.args("--preflight-only", "--vault-password-file", str(site.playbook)))
    assert result.exit_code == 0
    assert result.stdout.startswith("preflight: no problems found")
    assert not site.runs.exists()
    call = stand_in_preflight.calls[0]
    assert (call["inventory"], call["vault_password_file"], call["vault_ids"]) == (site.inventory, site.playbook, [])
    assert call["accepted_dir"] == site.runs / "deployed-bundles"  # in the runs directory
    stand_in_preflight.problems = [types.SimpleNamespace(what="bad", where="here", fix="mend it")]
    as_json = cli(*site.args("--preflight-only", "--json"))
    assert as_json.exit_code == ExitCode.BAD_INPUT
    document = json.loads(as_json.stdout)
    assert document["data"]["problems"] == [{"what": "bad", "where": "here", "fix": "mend it"}]


def test_a_missing_preflight_is_an_environment_problem(cli, site, monkeypatch):
    monkeypatch.setitem(sys.modules, "airgapctl.provision.preflight", None)
    result = cli(*site.args())
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "the preflight checks (airgapctl.provision.preflight) are missing" in result.stderr


def test_a_missing_inventory_is_bad_input(cli, site):
    result = cli("provision", "-i", str(site.root / "nope.yml"), "--runs-dir", str(site.runs))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"inventory {site.root / 'nope.yml'} does not exist" in result.stderr


def test_reduce_keeps_no_result_or_arguments():
    event = {
        "event": "runner_on_ok",
        "created": "2026-01-01T00:00:00+00:00",
        "stdout": f"ok: [h1] => {CANARY}",
        "event_data": {"host": "h1", "task": "t", "role": "r", "task_action": "debug", "task_args": CANARY,
                       "res": {"changed": True, "msg": CANARY, "_ansible_no_log": True}},
    }  # fmt: skip
    reduced = safe_event.reduce(event)
    assert reduced == {"event": "runner_on_ok", "time": "2026-01-01T00:00:00+00:00", "host": "h1", "task": "r : t",
                       "action": "debug", "changed": True, "failed": False, "ignored": False,
                       "no_log": True}  # fmt: skip
    assert safe_event.reduce({"event": "verbose", "stdout": CANARY}) is None
    assert safe_event.reduce({"event": "runner_item_on_ok", "event_data": {"res": CANARY}}) is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_ok_and_skipped_results_are_drawn_over_each_other(monkeypatch):
    from airgapctl.provision.display import Display
    from airgapctl.provision.tally import Tally

    monkeypatch.setenv("TERM", "xterm")
    stream, tally = _Terminal(), Tally()
    display = Display(stream)
    base = {"task": "t", "action": "a", "changed": False, "failed": False, "ignored": False, "no_log": False}
    for record in [
        {"event": "playbook_on_task_start", "task": "t", "play": "p", "action": "a"},
        {**base, "event": "runner_on_ok", "host": "h1"},
        {**base, "event": "runner_on_skipped", "host": "h2"},
        {**base, "event": "runner_on_failed", "host": "h3", "failed": True},
    ]:
        display.show(record, tally.add(record))
    display.close()
    assert stream.getvalue() == (
        "\rprovision: task t\n"
        "\rprovision:   h1: ok (1 done, 0 changed, 0 failed)"
        "\rprovision:   h2: skipped (1 done, 0 changed, 0 failed)"
        "\rprovision:   h3: FAILED (1 done, 0 changed, 1 failed) \n"  # padded over the longer line
    )


def test_the_default_runs_dir_is_the_users_state_directory_unless_root(monkeypatch, tmp_path):
    from airgapctl.provision import record

    monkeypatch.setattr(record.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert record.default_runs_dir() == tmp_path / "state" / "airgapctl" / "runs"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert record.default_runs_dir() == tmp_path / ".local" / "state" / "airgapctl" / "runs"
    monkeypatch.setattr(record.os, "geteuid", lambda: 0)
    assert record.default_runs_dir() == Path("/var/lib/airgap/runs")
