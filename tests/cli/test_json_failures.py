"""``--json`` failures: every such command prints one envelope on stdout, failing or not, and the
one-line error on stderr; docs/json-output.md's exit-code table is ExitCode's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer

from airgapctl.cli import app
from airgapctl.cli.reference import iter_commands
from airgapctl.errors import EnvironmentProblem, ExitCode
from airgapctl.schemas import validator
from tests.cli.test_specs_validate import INVALID, PETSTORE

REPO = Path(__file__).resolve().parents[2]
AUDIT = REPO / "tests" / "fixtures" / "audit"

# Every command of the tree that has a --json option, found by walking it: a new one is covered here.
JSON_COMMANDS = [
    " ".join(path[1:])
    for path, command in iter_commands(typer.main.get_command(app))
    if any("--json" in param.opts for param in command.params)
]

# Commands for which "every required value a missing path" is not a quick offline failure: the
# arguments that are (a DIR placeholder is replaced by a fresh temporary directory).
FAILING_ARGS = {
    "bundle seal": ["DIR/missing", "--name", "a", "--version", "1", "--sequence", "1", "--key", "DIR/k"],
    "bundle ledger verify": ["DIR/missing.jsonl"],
    "lab up": ["no/such name"],
    "lab down": ["no/such name"],
    # init creates the file's directories: a path that is a directory already is what it refuses.
    "vault init": ["--file", "DIR"],
    "events flush": ["--collector", "not-an-address", "--spool", "DIR"],
    "events tail": ["--store", "DIR/missing"],
    "store maintain": ["--store", "DIR/missing"],
    "audit run": ["--logs", "DIR/missing.log"],
}
# Commands with no input to get wrong, which would start, stop or ask Docker: their library call fails.
FAKED_FAILURES = {
    "lab prepare": "airgapctl.lab.ensure_daemon",
    "lab status": "airgapctl.lab.instance_status",
    "lab stop-daemon": "airgapctl.lab.stop_daemon",
}
# No input and no side effect to fail on: covered by the usage-error test alone.
NO_FAILURE = {"audit detectors"}


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _command(name: str):
    for path, command in iter_commands(typer.main.get_command(app)):
        if " ".join(path[1:]) == name:
            return command
    raise AssertionError(name)


def _failing_args(name: str, tmp_path: Path) -> list[str]:
    if name in FAKED_FAILURES:
        return []
    if name in FAILING_ARGS:
        return [arg.replace("DIR", str(tmp_path)) for arg in FAILING_ARGS[name]]
    args: list[str] = []
    for param in _command(name).params:
        if param.required:
            value = str(tmp_path / "missing" / param.name)
            args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    # Without a required value the command would run for real: it needs an entry above.
    assert args, f"{name}: add arguments that make it fail offline to FAILING_ARGS (or FAKED_FAILURES)"
    return args


def _envelope(result) -> dict:
    """stdout is exactly one JSON document, and it follows envelope.schema.json."""
    document = json.loads(result.stdout)
    validator("envelope").validate(document)
    return document


def _assert_failure_document(result) -> dict:
    assert result.exit_code != 0
    document = _envelope(result)
    assert document["status"] != "ok"
    assert [error["exit_code"] for error in document["errors"]] == [result.exit_code]
    assert "Traceback" not in result.stderr
    return document


def test_the_tables_below_name_commands_that_exist():
    named = {*FAILING_ARGS, *FAKED_FAILURES, *NO_FAILURE}
    assert named <= set(JSON_COMMANDS)
    assert "bundle verify" in JSON_COMMANDS and len(JSON_COMMANDS) > 20


@pytest.mark.parametrize("name", [n for n in JSON_COMMANDS if n not in NO_FAILURE])
def test_a_failing_json_command_prints_one_envelope_and_the_error_line(cli, tmp_path, monkeypatch, name):
    if name in FAKED_FAILURES:

        def no_docker(*args, **kwargs):
            raise EnvironmentProblem("the Docker daemon does not answer", hint="airgapctl lab up starts it")

        monkeypatch.setattr(FAKED_FAILURES[name], no_docker)
    result = cli(*name.split(), *_failing_args(name, tmp_path), "--json")
    document = _assert_failure_document(result)
    error = document["errors"][0]
    assert not error["message"].startswith("internal error"), error  # an expected failure, not a crash
    lines = result.stderr.splitlines()
    assert f"airgapctl: error: {error['message']}" in lines
    if error["hint"]:
        assert f"hint: {error['hint']}" in lines


@pytest.mark.parametrize("name", JSON_COMMANDS)
def test_a_usage_error_with_json_gets_the_envelope_too(cli, name):
    result = cli(*name.split(), "--json", "--no-such-option")
    assert result.exit_code == 2
    document = _assert_failure_document(result)
    assert document["status"] == "error" and document["data"] is None
    assert document["errors"] == [
        {
            "exit_code": 2,
            "message": "No such option: --no-such-option",
            "hint": f"see 'airgapctl {name} --help'",
        }
    ]
    assert result.stderr.endswith("Error: No such option: --no-such-option\n")  # click's own text, as before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bundle", "inspect"], "Missing argument 'directory'."),
        (["bundle", "seal", "d", "--name", "a", "--version", "1", "--sequence", "0", "--key", "k"], "'--sequence'"),
        (["drift"], "Missing option '-i' / '--inventory'."),
    ],
)
def test_missing_arguments_and_bad_values_are_usage_errors_in_the_envelope(cli, args, message):
    result = cli(*args, "--json")
    assert result.exit_code == ExitCode.BAD_INPUT == 2
    error = _assert_failure_document(result)["errors"][0]
    assert message in error["message"]
    assert f"Error: {error['message']}" in result.stderr
    assert cli(*args).stdout == ""  # without --json, stdout stays empty


def test_json_given_to_a_command_without_it_or_after_dashes_is_not_asked_for(cli):
    unknown = cli("lab", "shell", "--json")
    assert (unknown.exit_code, unknown.stdout) == (2, "")
    assert "No such option: --json" in unknown.stderr
    a_file = cli("specs", "validate", "--", "--json")
    assert (a_file.exit_code, a_file.stdout) == (ExitCode.BAD_INPUT, "")
    assert a_file.stderr.startswith("airgapctl: error: spec file --json does not exist")


def test_a_bundle_rejection_has_status_rejected(cli, tmp_path):
    keys = [str(tmp_path / "k"), str(tmp_path / "k.pub")]
    assert cli("bundle", "keygen", "--private", keys[0], "--public", keys[1]).exit_code == 0
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "manifest.json").write_text("{}")
    result = cli("bundle", "verify", str(tmp_path / "b"), "--pubkey", keys[1], "--check-only", "--json")
    assert result.exit_code == ExitCode.BUNDLE_SIGNATURE
    assert _assert_failure_document(result)["status"] == "rejected"


def test_a_result_printed_before_the_failure_is_the_same_document(cli):
    specs = cli("specs", "validate", PETSTORE, INVALID, "--json")
    document = _assert_failure_document(specs)
    assert document["status"] == "failed" and len(document["data"]["specs"]) == 2
    assert document["errors"][0]["exit_code"] == ExitCode.FAILED
    assert document["errors"][0]["message"].startswith("1 of 2 specs is invalid")
    logs, policy = AUDIT / "readers" / "gateway_lines.log", AUDIT / "policy.json"
    audit = cli("audit", "run", "--logs", str(logs), "--policy", str(policy), "--fail-on", "medium", "--json")
    document = _assert_failure_document(audit)
    assert document["status"] == "failed" and document["data"]["findings"]
    assert document["errors"][0]["message"].startswith("1 finding(s) at or above medium")


class Bug(Exception):
    pass


def _bug(*args, **kwargs):
    raise Bug("boom")


def test_a_bug_with_json_is_an_envelope_and_one_line(cli, monkeypatch):
    monkeypatch.setattr("airgapctl.lab.instance_status", _bug)
    result = cli("lab", "status", "--json")
    assert result.exit_code == ExitCode.FAILED == 1
    document = _assert_failure_document(result)
    assert document["status"] == "error"
    assert document["errors"][0]["message"] == "internal error: Bug('boom')"
    assert result.stderr.splitlines()[0] == "airgapctl: error: internal error: Bug('boom')"
    assert len(result.stderr.splitlines()) == 2  # and the hint to use --debug
    debug = cli("--debug", "lab", "status", "--json")
    assert "Traceback" in debug.stderr and _envelope(debug)["status"] == "error"


def test_a_bug_without_json_is_left_to_python(monkeypatch):
    from airgapctl.cli import main

    monkeypatch.setattr("airgapctl.lab.instance_status", _bug)
    with pytest.raises(Bug):
        main(["lab", "status"])


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "detectors"],
        ["specs", "validate", PETSTORE],
        ["bundle", "keygen", "--private", "k", "--public", "k.pub"],
    ],
)
def test_successful_json_follows_the_envelope_schema(cli, args):
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    document = _envelope(result)
    assert (document["status"], document["errors"]) == ("ok", [])


def _documented_exit_codes() -> dict[str, int]:
    text = (REPO / "docs" / "json-output.md").read_text()
    table = text.split("## Exit codes", 1)[1]
    return {name: int(value) for name, value in re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", table, re.MULTILINE)}


def test_the_documented_exit_codes_are_exit_code():
    actual = {name: int(member) for name, member in ExitCode.__members__.items()}
    assert _documented_exit_codes() == actual, "update the exit-code table in docs/json-output.md"
