"""A CA for the unit tests: made once per test in tmp_path, at a fixed time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from airgapctl.ca import Passphrase, init_ca, open_ca
from airgapctl.ca.store import CaStore

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SECRET = Passphrase(b"unit test passphrase, long enough")


def make_ca(tmp_path: Path, algorithm: str = "p256", organization: str | None = "Example", days: int = 3650) -> CaStore:
    init_ca(tmp_path / "ca", "Unit Test CA", SECRET, organization=organization, algorithm=algorithm, days=days, now=NOW)
    return open_ca(tmp_path / "ca")


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` and its bytes: what a failed command must leave as it was."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
