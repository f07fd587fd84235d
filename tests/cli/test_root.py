"""The root command: groups, version, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from airgapctl import __version__
from airgapctl.errors import ExitCode

GROUPS = ["bundle", "sync", "specs", "gateway", "ca", "vault", "provision", "drift", "audit", "events", "store", "lab"]


@pytest.mark.parametrize("args", [["--help"], ["--help", "audit"], ["--debug", "--help"]])
def test_help_lists_the_six_groups(cli, args):
    result = cli(*args)
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:", 1)[1]
    listed = [line.split()[0] for line in commands.strip().splitlines() if not line.startswith("    ")]
    assert sorted(listed) == sorted(GROUPS)


def test_only_the_named_group_is_imported():
    """A command loads its own group's libraries, not every group's (half a second per run)."""
    code = (
        "import sys; from airgapctl.cli import main\n"
        "try: main(['--debug', 'audit', 'detectors'])\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('airgapctl.cli.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "['airgapctl.cli.audit']"


def test_an_unknown_group_is_named_among_all_groups(cli):
    result = cli("audi", "run")
    assert result.exit_code == 2
    assert "No such command 'audi'" in result.stderr


def test_version_prints_the_package_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"airgapctl {__version__}"


def test_bad_input_is_one_line_and_a_hint_without_traceback(cli):
    result = cli("lab", "down", "no/such name")
    assert result.exit_code == ExitCode.BAD_INPUT
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "airgapctl: error: invalid lab instance name 'no/such name'"
    assert lines[1].startswith("hint: ")
    assert len(lines) == 2


def test_debug_adds_the_traceback(cli):
    result = cli("--debug", "lab", "down", "no/such name")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Traceback" in result.stderr


def test_unknown_command_is_a_usage_error(cli):
    result = cli("frobnicate")
    assert result.exit_code == 2
    assert "No such command" in result.stderr


def test_console_script_runs_and_completes_group_names():
    """Typer's shell completion, through the installed console script as a shell would call it."""
    env = {**os.environ, "_AIRGAPCTL_COMPLETE": "complete_bash", "COMP_WORDS": "airgapctl la", "COMP_CWORD": "1"}
    script = os.path.join(os.path.dirname(sys.executable), "airgapctl")
    proc = subprocess.run([script], env=env, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.split() == ["lab"]


def test_json_envelope_is_versioned():
    from airgapctl.output import json_document

    doc = json.loads(json_document({"a": 1}))
    assert doc == {"schema_version": 1, "status": "ok", "data": {"a": 1}, "errors": []}
