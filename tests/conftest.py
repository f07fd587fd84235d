"""Shared fixtures: the repository root and a way to run the real CLI entry point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from airgapctl.cli import main

REPO = Path(__file__).resolve().parent.parent


@dataclass
class CliRun:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def _events_off(monkeypatch):
    """Commands emit events (docs/events.md): off unless a test sets its own collector and spool,
    so no test writes the machine's spool or waits for a collector."""
    monkeypatch.setenv("AIRGAPCTL_EVENTS", "off")
    monkeypatch.delenv("AIRGAPCTL_EVENTS_CONFIG", raising=False)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def cli(capsys):
    """Run ``airgapctl ARGS`` through main(), as the console script does; capture both streams."""

    def run(*args: str) -> CliRun:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        captured = capsys.readouterr()
        return CliRun(int(exc.value.code or 0), captured.out, captured.err)

    return run
