"""Records, one dict per usable line, through the very SQL the audit aggregates: for reader tests,
golden files and debugging (the audit itself never materialises lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from log_analysis.engine import EngineOptions, engine, scan
from log_analysis.model import FileStats
from log_analysis.readers import EVENT_COLUMNS, ReadOptions, discover_inputs, events_sql

RECORD_COLUMNS = tuple(c for c in EVENT_COLUMNS if c not in ("fi", "problem", "uri"))


def read_records(
    paths: list[Path], policy: dict[str, Any], options: ReadOptions | None = None, log_format: str = "auto"
) -> tuple[list[dict[str, Any]], list[FileStats]]:
    """Every usable line of ``paths`` (oldest file first) and each file's counts by problem."""
    options = options or ReadOptions()
    inputs = discover_inputs(paths, log_format)
    with engine(EngineOptions(threads=1)) as eng:
        _, files = scan(eng, inputs, options, policy)
        columns = ", ".join(("fi", *RECORD_COLUMNS))
        rows = eng.con.execute(
            f"SELECT {columns} FROM ({events_sql(inputs, options, policy)}) WHERE problem IS NULL "  # noqa: S608 - quoted literals
            "ORDER BY fi, ts, path, status"
        ).fetchall()
    records = [
        {"file": Path(files[row[0]].path).name, **dict(zip(RECORD_COLUMNS, row[1:], strict=True))} for row in rows
    ]
    return records, files
