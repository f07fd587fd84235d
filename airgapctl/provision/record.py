"""The record of each provision run: ``<runs dir>/<UTC time>-<short id>/`` with summary.json and
events.jsonl (safe_event records, one a line), readable by its owner only.

While the run lasts the directory also holds ``runner/``, ansible-runner's private data
directory; it is removed when the run ends, because ansible-runner keeps there the command's
whole environment, Ansible's text output and the hosts' gathered facts.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from airgapctl.errors import EnvironmentProblem

SYSTEM_RUNS_DIR = Path("/var/lib/airgap/runs")
SUMMARY = "summary.json"
EVENTS = "events.jsonl"
RUNNER_DIR = "runner"


def default_runs_dir() -> Path:
    """/var/lib/airgap/runs for root; otherwise the user's state directory (XDG), so a run as an
    operator needs no write access to /var/lib."""
    if os.geteuid() == 0:
        return SYSTEM_RUNS_DIR
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "airgapctl" / "runs"


def deployed_bundles_dir(runs_dir: Path | None) -> Path:
    """In the runs directory (0700, airgapctl's own): the record of the last bundle its runs deployed."""
    return (runs_dir or default_runs_dir()) / "deployed-bundles"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunRecord:
    """One run's directory and its open events file."""

    run_id: str
    directory: Path
    events: IO[str] = field(repr=False)

    @property
    def runner_dir(self) -> Path:
        return self.directory / RUNNER_DIR

    def add_event(self, record: dict[str, Any]) -> None:
        # Flushed a line at a time: a run cut short keeps every event up to the cut.
        self.events.write(json.dumps(record, sort_keys=True) + "\n")
        self.events.flush()

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.directory / SUMMARY
        temporary = self.directory / f".{SUMMARY}.tmp"
        with _private_file(temporary, "w") as out:
            json.dump(summary, out, indent=2, sort_keys=True)
            out.write("\n")
        temporary.replace(path)
        return path

    def close(self) -> None:
        """Close the events file and remove ansible-runner's directory."""
        self.events.close()
        shutil.rmtree(self.runner_dir, ignore_errors=True)


def start_run(runs_dir: Path) -> RunRecord:
    """A new run directory (mode 0700) with an empty events.jsonl (0600) and runner/ (0700)."""
    now = datetime.now(UTC)
    run_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    directory = runs_dir / run_id
    try:
        _private_dirs(runs_dir)
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)  # whatever the umask
        (directory / RUNNER_DIR).mkdir(mode=0o700)
        events = _private_file(directory / EVENTS, "x")
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot write the run's record under {runs_dir}: {error.strerror or error}",
            hint="give a directory you can write with --runs-dir",
        ) from None
    return RunRecord(run_id, directory, events)


def _private_dirs(path: Path) -> None:
    """``path`` and its missing parents, the ones made here 0700."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)


def _private_file(path: Path, mode: str) -> IO[str]:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if mode == "x" else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8")
