"""``airgapctl audit``: exit codes, one-line errors, the report files and their schema, simulate."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from airgapctl.errors import ExitCode
from airgapctl.progress import format_size
from airgapctl.schemas import load_schema

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
POLICY = str(FIXTURES / "policy.json")
GATEWAY_LINES = str(FIXTURES / "readers" / "gateway_lines.log")
SHADOW = str(FIXTURES / "cli" / "served_shadow.log")


def _run_args(*logs: str) -> list[str]:
    return ["audit", "run", "--logs", *logs, "--policy", POLICY, "--quiet"]


def test_help_lists_the_subcommands(cli):
    result = cli("audit", "--help")
    assert result.exit_code == 0
    for command in ("run", "simulate", "detectors"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE)


def test_nothing_at_fail_on_exits_0_and_says_no_baseline(cli):
    result = cli(*_run_args(GATEWAY_LINES), "--fail-on", "high")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "zombie_route" in result.stdout
    assert "note: no baseline yet" in result.stdout
    assert result.stderr == ""


def test_a_finding_at_fail_on_exits_1_with_one_line(cli):
    result = cli(*_run_args(GATEWAY_LINES), "--fail-on", "medium")
    assert result.exit_code == ExitCode.FAILED == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("airgapctl: error: 1 finding(s) at or above medium")
    assert lines[1].startswith("hint: ") and len(lines) == 2


def test_fail_on_none_never_fails(cli):
    assert cli(*_run_args(SHADOW), "--fail-on", "none").exit_code == 0


def test_progress_goes_to_stderr(cli):
    result = cli("audit", "run", "--logs", GATEWAY_LINES, "--policy", POLICY, "--fail-on", "none")
    assert result.exit_code == 0
    assert "audit:" not in result.stdout
    # Not a terminal: the bar over the logs is one start line and one final line, never redraws.
    size = format_size(Path(GATEWAY_LINES).stat().st_size)
    assert f"audit: logs: {size} in 1 files…" in result.stderr
    assert re.search(rf"^audit: logs: {size}, 1 files in [0-9.]+ s", result.stderr, re.MULTILINE)
    assert "audit: running detectors" in result.stderr
    assert "\r" not in result.stderr


def test_training_has_its_own_bar_and_json_shows_none(cli, tmp_path):
    args = ["audit", "run", "--logs", GATEWAY_LINES, "--policy", POLICY, "--fail-on", "none"]
    result = cli(*args, "--train", GATEWAY_LINES, "--state", str(tmp_path / "state"))
    assert result.exit_code == 0
    assert re.search(r"^audit: training logs: .*, 1 files in [0-9.]+ s", result.stderr, re.MULTILINE)
    assert cli(*args, "--json").stderr == ""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "pdf"], "--format pdf: not a report format"),
        (["--fail-on", "severe"], "--fail-on 'severe' is not a severity"),
        (["--since", "last tuesday"], "--since 'last tuesday' is not a time"),
        (["--since", "2026-03-03", "--until", "2026-03-02"], "--since must be earlier than --until"),
        (["--gateway-config", "/nonexistent/gw"], "--gateway-config /nonexistent/gw: no such directory"),
        (["--param", "rate_spike.zz=3"], "--param rate_spike.zz: not a parameter of rate_spike"),
        (["--param", "nosuch.z=3"], "--param nosuch.…: no detector 'nosuch'"),
        (["--param", "rate_spike.z=high"], "--param 'rate_spike.z=high': expected DETECTOR.NAME=NUMBER"),
        (["--log-format", "xml"], "--log-format 'xml' is not one of auto, json, combined"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_a_hint(cli, extra, message):
    result = cli(*_run_args(GATEWAY_LINES), *extra)
    assert result.exit_code == ExitCode.BAD_INPUT == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"airgapctl: error: {message}" or lines[0].startswith(f"airgapctl: error: {message}")
    assert "Traceback" not in result.stderr and len(lines) <= 2


def test_missing_log_and_bad_policy_name_the_file(cli, tmp_path):
    result = cli(*_run_args(str(tmp_path / "absent.log")))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"airgapctl: error: {tmp_path / 'absent.log'}: no such log file")
    (tmp_path / "policy.json").write_text("{not json")
    result = cli("audit", "run", "--logs", GATEWAY_LINES, "--policy", str(tmp_path / "policy.json"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"airgapctl: error: {tmp_path / 'policy.json'}: not valid JSON")


def test_unreadable_state_baseline_is_bad_input(cli, tmp_path):
    (tmp_path / "baseline.json").write_text("[]")
    result = cli(*_run_args(GATEWAY_LINES), "--state", str(tmp_path))
    assert result.exit_code == 2
    assert "baseline.json: not a usable audit baseline" in result.stderr


@pytest.fixture
def reports(cli, tmp_path) -> dict[str, Path]:
    result = cli(*_run_args(SHADOW), "--report-dir", str(tmp_path), "--format", "json,html,md", "--fail-on", "none")
    assert result.exit_code == 0, result.stderr
    return {path.suffix[1:]: path for path in tmp_path.glob("audit-*")}


def test_report_dir_links_latest_to_the_run_and_keep_prunes_older_runs(cli, tmp_path):
    old = [tmp_path / f"audit-20260101T000000Z.{ext}" for ext in ("json", "html")]
    for path in old:
        path.write_text("old run")
    (tmp_path / "notes.txt").write_text("not a report: pruning leaves it")
    result = cli(*_run_args(SHADOW), "--report-dir", str(tmp_path), "--format", "json,md", "--keep", "1")
    assert result.exit_code == 1, result.stderr  # the served shadow route is critical
    written = sorted(p.name for p in tmp_path.glob("audit-*"))
    assert len(written) == 2 and not any(p.exists() for p in old)
    assert (tmp_path / "notes.txt").exists()
    for ext in ("json", "md"):
        link = tmp_path / f"latest.{ext}"
        assert link.is_symlink() and not Path(link.readlink()).is_absolute()
        assert link.resolve().name in written
    assert not (tmp_path / "latest.html").exists()  # html was not written this run; its old target is gone


def test_json_report_follows_its_schema(reports):
    document = json.loads(reports["json"].read_text())
    errors = list(Draft202012Validator(load_schema("report")).iter_errors(document))
    assert errors == []
    assert document["summary"]["by_detector"]["shadow_route"] == 1
    assert document["findings"][0]["severity"] == "critical"
    assert document["baseline"] == {"present": False, "updated": False}


def test_html_report_is_one_offline_file(reports):
    html = reports["html"].read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    # One inline script (the findings' filters), nothing loaded from anywhere.
    assert len(re.findall(r"<script\b", html, re.IGNORECASE)) == 1 and "<script>" in html
    assert not re.search(r"<(link|img|iframe|object)\b|\bsrc=|\bhref=|@import|url\(", html, re.IGNORECASE)
    assert not re.search(r"\b(fetch|XMLHttpRequest|import\(|WebSocket)\b", html.split("<script>", 1)[1])
    assert "evil.example" in html and "&lt;b&gt;" in html
    # Log data is escaped inside <code>, chart labels and the rows' data attributes the script reads.
    outside_log_data = re.sub(
        r'<code>.*?</code>|<tspan class="log">.*?</tspan>|\bdata-[a-z]+="[^"]*"', "", html, flags=re.DOTALL
    )
    assert "http://" not in outside_log_data and "https://" not in outside_log_data


def test_markdown_report_reads_as_a_table(reports):
    text = reports["md"].read_text()
    assert text.startswith("# Gateway audit: fixture")
    assert "| critical | shadow_route |" in text


def test_baseline_is_learned_then_used_and_no_learn_leaves_it(cli, tmp_path):
    state = tmp_path / "state"
    first = json.loads(cli(*_run_args(GATEWAY_LINES), "--state", str(state), "--json", "--fail-on", "none").stdout)
    assert "no baseline yet" in first["data"]["notes"][0]
    baseline = state / "baseline.json"
    learned = baseline.read_text()
    # The first run read the file to its end: --full reads it again.
    second = cli(*_run_args(GATEWAY_LINES), "--state", str(state), "--json", "--full", "--fail-on", "none")
    assert second.exit_code == 0
    assert not any("no baseline" in note for note in json.loads(second.stdout)["data"]["notes"])
    assert baseline.read_text() == learned


def test_detectors_lists_all_eighteen(cli):
    result = cli("audit", "detectors", "--json")
    assert result.exit_code == 0
    listed = [d["id"] for d in json.loads(result.stdout)["data"]["detectors"]]
    assert len(listed) == 18 and "config_drift" in listed and "input_quality" in listed
    assert "schema_violation" in listed
    assert "forbidden_calls" in listed


def test_simulate_writes_days_truth_and_configuration(cli, tmp_path):
    out = tmp_path / "sim"
    result = cli(
        "audit",
        "simulate",
        "--policy",
        POLICY,
        "--out",
        str(out),
        "--days",
        "2",
        "--train-days",
        "1",
        "--requests-per-day",
        "3000",
        "--incidents",
        "none",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert len(data["train_files"]) == 1 and len(data["audit_files"]) == 1
    assert json.loads(Path(data["truth"]).read_text())["incidents"] == []
    assert (out / "gateway" / "nginx.conf").exists()
    audited = cli(
        "audit",
        "run",
        "--logs",
        *data["audit_files"],
        "--policy",
        POLICY,
        "--quiet",
        "--train",
        data["train_files"][0],
        "--gateway-config",
        data["gateway_config"],
        "--json",
    )
    assert audited.exit_code == 0, audited.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--incidents", "earthquake"], "--incidents: unknown kind(s) earthquake"),
        (["--days", "2", "--train-days", "2"], "train_days must be at least 0 and less than days"),
    ],
)
def test_simulate_bad_input_exits_2(cli, tmp_path, extra, message):
    result = cli("audit", "simulate", "--policy", POLICY, "--out", str(tmp_path), *extra)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"airgapctl: error: {message}")


COMBINED = str(FIXTURES / "readers" / "combined.log")


@pytest.mark.parametrize(
    ("content", "log_format", "message", "hint"),
    [
        (
            "combined",
            "json",
            "no line could be read as gateway JSON lines (7 lines: malformed 7); it looks like combined "
            "(NGINX/Apache) log lines",
            "give --log-format combined",
        ),
        ("gateway", "combined", "no line could be read as combined log lines", "give --log-format json"),
        ("binary", "auto", "it looks like binary data, not log lines", "not a binary file"),
        ("empty", "auto", "nothing to audit:", "check that --logs names"),
    ],
)
def test_unreadable_input_exits_2_naming_the_file_and_what_it_looks_like(
    cli, tmp_path, content, log_format, message, hint
):
    log = tmp_path / "access.log"
    if content == "combined":
        shutil.copy(COMBINED, log)
    elif content == "gateway":
        shutil.copy(GATEWAY_LINES, log)
    elif content == "binary":
        log.write_bytes(bytes(range(256)) * 64)
    else:
        log.write_bytes(b"")
    result = cli(*_run_args(str(log)), "--log-format", log_format, "--fail-on", "none")
    assert result.exit_code == ExitCode.BAD_INPUT
    lines = result.stderr.strip().splitlines()
    assert message in lines[0] and "Traceback" not in result.stderr
    if content != "empty":
        assert lines[0].startswith(f"airgapctl: error: {log}: ")
    assert lines[1].startswith("hint: ") and hint in lines[1]
    as_json = cli(*_run_args(str(log)), "--log-format", log_format, "--json")
    document = json.loads(as_json.stdout)
    assert as_json.exit_code == 2 and document["status"] == "error" and message in document["errors"][0]["message"]


def test_every_line_outside_the_window_is_not_a_clean_run(cli):
    result = cli(*_run_args(GATEWAY_LINES), "--since", "2030-01-01")
    assert result.exit_code == 2
    assert "no line of the logs falls within --since/--until" in result.stderr


def test_without_a_policy_the_anomaly_detectors_run_and_drift_says_no_policy(cli, tmp_path):
    result = cli("audit", "run", "--logs", SHADOW, "--quiet", "--json", "--report-dir", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(next(tmp_path.glob("audit-*.json")).read_text())
    assert list(Draft202012Validator(load_schema("report")).iter_errors(document)) == []
    assert document["policy_id"] is None and document["site"] is None
    runs = {run["id"]: run for run in document["detectors"]}
    drift = ("shadow_route", "zombie_route", "orphan_route", "role_drift", "policy_mismatch", "config_drift")
    assert all(runs[name]["not_run_because"] == "no policy" for name in drift)
    assert runs["probing"]["ran"] and runs["auth_failures"]["ran"] and runs["input_quality"]["ran"]
    assert any(note.startswith("not run: no policy") for note in document["notes"])


def test_combined_logs_without_identities_are_keyed_on_the_address(cli, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join(line for line in Path(COMBINED).read_text().splitlines(True) if " - - [" in line))
    result = cli("audit", "run", "--logs", str(log), "--quiet", "--json", "--fail-on", "none")
    data = json.loads(result.stdout)["data"]
    assert data["identity_key"] == "remote_addr"
    assert any("keyed on the source address" in note for note in data["notes"])
    identified = json.loads(cli(*_run_args(GATEWAY_LINES), "--json", "--fail-on", "none").stdout)["data"]
    assert identified["identity_key"] == "client"


def test_a_scheduled_run_with_nothing_new_exits_2(cli, tmp_path):
    state = str(tmp_path / "state")
    assert cli(*_run_args(GATEWAY_LINES), "--state", state, "--fail-on", "none").exit_code == 0
    again = cli(*_run_args(GATEWAY_LINES), "--state", state, "--fail-on", "none")
    assert again.exit_code == 2
    assert again.stderr.startswith("airgapctl: error: nothing new to read")
    assert "--full reads every file again" in again.stderr
