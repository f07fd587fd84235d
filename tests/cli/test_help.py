"""Every command explains itself, and docs/cli.md is the current --help of every command."""

from __future__ import annotations

import typer

from airgapctl.cli import app
from airgapctl.cli.reference import iter_commands, render_reference


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in iter_commands(typer.main.get_command(app)):
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "help", None):
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []


def test_cli_reference_is_current(repo):
    expected = render_reference()
    actual = (repo / "docs" / "cli.md").read_text()
    assert actual == expected, "docs/cli.md is stale: run make docs"
