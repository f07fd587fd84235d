"""The report document (airgapctl/schemas/report.schema.json): the one structure every format renders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from log_analysis.context import AuditContext
from log_analysis.model import FileStats, Finding, Severity, iso

REPORT_SCHEMA = "airgapctl/audit-report"
REPORT_VERSION = 2


def build_report(
    ctx: AuditContext,
    findings: list[Finding],
    detector_runs: list[dict[str, Any]],
    files: list[FileStats],
    baseline: dict[str, Any],
    charts: dict[str, Any],
    reading: dict[str, Any] | None = None,
    run_notes: list[str] | None = None,
) -> dict[str, Any]:
    notes = [*(run_notes or []), *ctx.notes]
    no_policy = [run["id"] for run in detector_runs if run["not_run_because"] == "no policy"]
    if no_policy:
        notes.insert(0, f"not run: no policy (give --policy to judge drift): {', '.join(no_policy)}")
    if baseline["present"] is False:
        ran = ", ".join(run["id"] for run in detector_runs if run["ran"])
        notes.insert(0, f"no baseline yet: only the detectors that need none ran ({ran})")
    return {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_VERSION,
        "generated_at": iso(dt.datetime.now(dt.UTC).timestamp()),
        "policy_id": ctx.policy["policy_id"] if ctx.policy else None,
        "site": ctx.policy["site"] if ctx.policy else None,
        "window": {"start": iso(ctx.window_start), "end": iso(ctx.window_end)},
        "identity_key": ctx.identity_key,
        "inputs": {**_inputs(files), **(reading or {"incremental": False, "unchanged": [], "carried_from": None})},
        "baseline": _baseline(baseline),
        "detectors": detector_runs,
        "detectors_not_run": [run["id"] for run in detector_runs if not run["ran"]],
        "summary": _summary(findings, detector_runs),
        "findings": [finding.as_dict() for finding in findings],
        "notes": notes,
        "overview": charts,
    }


def _summary(findings: list[Finding], detector_runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_detector = {run["id"]: 0 for run in detector_runs}
    by_severity = {severity.label: 0 for severity in Severity}
    for finding in findings:
        by_detector[finding.detector] += 1
        by_severity[finding.severity.label] += 1
    highest = max((f.severity for f in findings), default=None)
    return {
        "findings": len(findings),
        "by_detector": by_detector,
        "by_severity": by_severity,
        "highest_severity": highest.label if highest is not None else None,
    }


def _inputs(files: list[FileStats]) -> dict[str, Any]:
    skipped: dict[str, int] = {}
    for entry in files:
        for reason, n in entry.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    return {
        "files": [
            {
                "path": f.path,
                "format": f.format,
                "lines": f.lines,
                "used": f.used,
                "outside_window": f.outside_window,
                "selftest": f.selftest,
                "skipped": dict(sorted(f.skipped.items())),
                "first": iso(f.first) if f.first is not None else None,
                "last": iso(f.last) if f.last is not None else None,
                "damaged_gzip": f.damaged_gzip,
                "read_from": f.read_from,
            }
            for f in files
        ],
        "lines_read": sum(f.lines for f in files),
        "lines_used": sum(f.used for f in files),
        "lines_outside_window": sum(f.outside_window for f in files),
        "lines_selftest": sum(f.selftest for f in files),
        "selftest_record": None,  # the pipeline's reading summary names the record it read
        "lines_skipped": sum(skipped.values()),
        "skipped_by_reason": dict(sorted(skipped.items())),
    }


def _baseline(summary: dict[str, Any]) -> dict[str, Any]:
    result = dict(summary)
    for key in ("first", "last"):
        if result.get(key) is not None:
            result[key] = iso(result[key])
    return result
