"""A plain `audit run` line runs without building the Typer app (airgapctl.cli.audit_run.parse_run):
it must mean exactly what Typer makes of it, and any other line must be left to Typer."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from airgapctl.cli import audit as audit_cli
from airgapctl.cli import audit_run, build_app

KINDS = {
    "list[Path]": "paths",
    "list[Path] | None": "paths",
    "list[str] | None": "texts",
    "Path | None": "path",
    "int | None": "count",
    "str | None": "text",
    "str": "text",
    "bool": "flag",
}


def _typer_values(monkeypatch, args: list[str]) -> dict:
    """What the Typer app passes to run_command for ``audit run ARGS``."""
    seen: dict = {}
    monkeypatch.setattr(audit_run, "run_command", lambda **values: seen.update(values))
    build_app(("audit",))(args=["audit", "run", *args], prog_name="airgapctl", standalone_mode=False)
    return seen


def _same_meaning(values: dict) -> dict:
    """Typer gives None or [] for a repeatable option not given; run_command reads both as none."""
    lists = {name for name, (_, kind) in _by_parameter().items() if kind in ("paths", "texts")} | {"more_logs"}
    return {name: (value or []) if name in lists else value for name, value in values.items()}


def _by_parameter() -> dict[str, tuple[str, str]]:
    return {parameter: (name, kind) for name, (parameter, kind) in audit_run.OPTIONS.items()}


def test_the_plain_reading_knows_every_option_of_audit_run_as_typer_declares_it():
    declared = {}
    for name, parameter in inspect.signature(audit_cli.run).parameters.items():
        info = parameter.default
        if name == audit_run.MORE_LOGS:
            assert type(info).__name__ == "ArgumentInfo"
            continue
        option = next(decl for decl in info.param_decls if decl.startswith("--"))  # -i is left to Typer
        declared[option] = (name, KINDS[str(parameter.annotation)])
        default = None if info.default is ... else info.default
        assert audit_run.DEFAULTS[name] == ([] if declared[option][1] in ("paths", "texts") else default), name
    assert declared == audit_run.OPTIONS
    assert audit_cli.KEEP_OPT.min == 1  # "count": an integer of at least 1
    assert set(audit_run.DEFAULTS) == {p for p, _ in audit_run.OPTIONS.values()} | {audit_run.MORE_LOGS}


@pytest.mark.parametrize(
    "args",
    [
        ["--logs", "a.log"],
        ["--logs", "a.log", "b.log", "c.log.1.gz"],
        ["--logs", "a.log", "--logs", "b.log", "more.log", "--train", "t1", "--train=t2"],
        ["--logs=a.log", "--policy", "p.json", "--state", "state", "--report-dir", "reports", "--keep", "7"],
        ["--logs", "a.log", "--since", "24h", "--until", "2026-03-01T06:00:00+01:00", "--format", "json,html,md"],
        ["--logs", "a.log", "--fail-on", "none", "--no-learn", "--full", "--json", "--quiet", "--quiet"],
        ["--logs", "a.log", "--param", "rate_spike.z=8", "--param=probing.min_paths=3", "--log-format", "combined"],
        ["--logs", "a.log", "--gateway-config", "/etc/nginx/airgap", "--policy", "p1", "--policy", "p2"],
        ["--logs", "a.log", "--drift", "drift.json", "--drift=other.json"],
        ["--logs", "a.log", "--", "--odd-name.log", "x.log"],
        ["a.log", "--logs", "b.log", "--keep=12"],
        ["--logs", "dir with spaces/", "--since", "2026-03-01"],
    ],
)
def test_a_plain_line_means_what_typer_makes_of_it(monkeypatch, args):
    plain = audit_run.parse_run(args)
    assert plain is not None
    assert _same_meaning(plain) == _same_meaning(_typer_values(monkeypatch, args))


@pytest.mark.parametrize(
    "args",
    [
        [],  # no logs: the Typer path says so
        ["--fleet", "-i", "inventory/site"],
        ["-i", "inventory/site", "--logs", "a.log"],
        ["--help"],
        ["--logs", "a.log", "--help"],
        ["--logs"],
        ["--logs", "--quiet"],
        ["--logs", "a.log", "--keep", "0"],
        ["--logs", "a.log", "--keep", "05"],
        ["--logs", "a.log", "--keep", "many"],
        ["--logs", "a.log", "--full=yes"],
        ["--logs", "a.log", "--no-such-option"],
        ["--logs", "a.log", "-q"],
        ["--logs", "a.log", "-"],
        ["--logs", ""],
        ["--logs", "a.log", "--since="],
        ["--logs", "a.log", "--policy", "-p.json"],
    ],
)
def test_any_other_line_is_left_to_typer(args):
    assert audit_run.parse_run(args) is None


def test_shell_completion_is_left_to_typer(monkeypatch):
    monkeypatch.setenv(audit_run.COMPLETE_VARIABLE, "complete_bash")
    assert audit_run.parse_run(["--logs", "a.log"]) is None


def test_a_path_typer_would_refuse_as_unreadable_is_left_to_it(monkeypatch, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("")
    monkeypatch.setattr(audit_run.os, "access", lambda path, mode: Path(path) != log)
    assert audit_run.parse_run(["--logs", str(log)]) is None
    assert audit_run.parse_run(["--logs", str(tmp_path / "missing.log")]) is not None


def test_usage_errors_still_read_as_typer_writes_them(cli):
    result = cli("audit", "run", "--logs", "a.log", "--keep", "0")
    assert result.exit_code == 2
    assert "--keep" in result.stderr and "Traceback" not in result.stderr
    result = cli("audit", "run", "--policy", "p.json")
    assert result.exit_code == 2
    assert "audit run: no logs given" in result.stderr and "--fleet -i INVENTORY" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fleet", "-i", "inv", "--logs", "a.log"], "audit run --fleet: --logs is a local audit's option"),
        (["--fleet", "-i", "inv", "a.log"], "audit run --fleet: a log PATH is a local audit's option"),
        (["--fleet", "-i", "inv", "--state", "s"], "audit run --fleet: --state is a local audit's option"),
        (["--fleet", "-i", "inv", "--format", "html"], "audit run --fleet: --format is a local audit's option"),
        (["--fleet", "-i", "inv", "--format", "json"], "audit run --fleet: --format is a local audit's option"),
        (["--fleet", "-i", "inv", "--log-format=auto"], "audit run --fleet: --log-format is a local audit's option"),
        (["--fleet"], "audit run --fleet: no inventory given"),
        (["--logs", "a.log", "-i", "inv"], "audit run: --inventory applies only to a fleet audit"),
        (["--logs", "a.log", "--limit", "gw1"], "audit run: --limit applies only to a fleet audit"),
        (["--logs", "a.log", "--vault-id", "x@f"], "audit run: --vault-id applies only to a fleet audit"),
    ],
)
def test_a_local_and_a_fleet_audit_refuse_each_other_s_options(cli, args, message):
    """Refused before anything is read or run, by both readings of the line."""
    result = cli("audit", "run", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
