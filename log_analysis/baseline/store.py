"""The --state directory: baseline.json and reading.json, written atomically, one audit at a time (a lock file)."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from airgapctl.errors import AirgapError, BadInputError
from log_analysis.baseline.model import Baseline

BASELINE_FILE = "baseline.json"


def load_baseline(state_dir: Path | None) -> Baseline | None:
    """The stored baseline, or None when there is none yet (first run, or no --state)."""
    if state_dir is None:
        return None
    path = state_dir / BASELINE_FILE
    if not path.exists():
        return None
    try:
        return Baseline.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadInputError(
            f"{path}: not a usable audit baseline ({error})",
            hint="move it away to start learning afresh, or restore it from a backup",
        ) from None


def save_baseline(state_dir: Path, baseline: Baseline) -> Path:
    return write_state_file(state_dir / BASELINE_FILE, baseline.to_json())


def write_state_file(path: Path, document: dict) -> Path:
    """Write one JSON document of the state directory atomically (a reader never sees half of it)."""
    text = json.dumps(document, separators=(",", ":"))
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise AirgapError(f"cannot write {path}: {error.strerror or error}") from error
    return path


@contextmanager
def state_lock(state_dir: Path | None) -> Iterator[None]:
    """Hold the state directory for the whole run: two audits must not learn into one baseline at once."""
    if state_dir is None:
        yield
        return
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        lock = (state_dir / ".lock").open("a")
    except OSError as error:
        raise BadInputError(
            f"--state {state_dir}: {error.strerror or error}", hint="give a writable directory"
        ) from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AirgapError(f"another audit is using {state_dir}", hint="wait for it to finish") from None
        yield
