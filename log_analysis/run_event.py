"""The event every audit run emits: its window, what it read and its finding counts by severity and
detector. Counts and names only: no log line, client identity or finding text leaves in it (the
report, written separately, holds those)."""

from __future__ import annotations

from typing import Any

TAG = "audit.run"


def run_fields(report: dict[str, Any], failed: bool, reports_written: int) -> dict[str, Any]:
    summary, inputs = report["summary"], report["inputs"]
    return {
        "window_start": report["window"]["start"],
        "window_end": report["window"]["end"],
        "policy_id": report.get("policy_id"),
        "lines_read": inputs["lines_read"],
        "lines_used": inputs["lines_used"],
        "lines_skipped": inputs["lines_skipped"],
        "incremental": inputs.get("incremental", False),
        "findings": summary["findings"],
        "by_severity": dict(summary["by_severity"]),
        "by_detector": dict(summary["by_detector"]),
        "highest_severity": summary["highest_severity"],
        "failed": failed,
        "reports_written": reports_written,
    }
