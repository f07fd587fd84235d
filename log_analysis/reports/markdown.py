"""The Markdown report: plain tables that read well in a terminal or pasted into a ticket."""

from __future__ import annotations

from typing import Any


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    summary, inputs = report["summary"], report["inputs"]
    out = [
        f"# Gateway audit: {report['site'] or 'no policy'}",
        "",
        f"Window {report['window']['start']} to {report['window']['end']}, policy `{report['policy_id'] or 'none'}`, "
        f"actors keyed on {report['identity_key']}, generated {report['generated_at']}.",
        "",
        f"**{summary['findings']} finding(s)**, highest severity: {summary['highest_severity'] or 'none'}. "
        f"{inputs['lines_read']:,} lines read, {inputs['lines_used']:,} used, {inputs['lines_skipped']:,} skipped"
        + (f", {inputs['lines_selftest']:,} self-test requests left out." if inputs.get("lines_selftest") else "."),
        "",
    ]
    out += [f"> {note}" for note in report["notes"]] + ([""] if report["notes"] else [])
    return "\n".join(out + _findings(report) + _detectors(report) + _inputs(report)) + "\n"


def _findings(report: dict[str, Any]) -> list[str]:
    if not report["findings"]:
        return ["## Findings", "", "No findings."]
    rows = [
        [
            f["severity"],
            f["detector"],
            ", ".join(f"{k}={v}" for k, v in f["subject"].items()) or "-",
            f"{f['window']['start']} .. {f['window']['end']}",
            f"{f['score']:g}",
            f["message"],
        ]
        for f in report["findings"]
    ]
    return ["## Findings", "", *_table(["severity", "detector", "subject", "window", "score", "message"], rows)]


def _detectors(report: dict[str, Any]) -> list[str]:
    rows = [
        [d["id"], "yes" if d["ran"] else f"no ({d['not_run_because']})", d["findings"]] for d in report["detectors"]
    ]
    return ["", "## By detector", "", *_table(["detector", "ran", "findings"], rows)]


def _inputs(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            f["path"],
            f["format"],
            f"{f['lines']:,}",
            f"{f['used']:,}",
            ", ".join(f"{k}: {v}" for k, v in f["skipped"].items()) or "none",
        ]
        for f in report["inputs"]["files"]
    ]
    out = ["", "## Inputs", "", *_table(["file", "format", "lines", "used", "skipped"], rows)]
    if report["inputs"].get("selftest_record"):
        out += ["", selftest_sentence(report["inputs"])]
    return out


def selftest_sentence(inputs: dict[str, Any]) -> str:
    """What was left out as the gateway self-test's own requests, and by which record."""
    return (
        f"{inputs['lines_selftest']:,} self-test requests left out: their request ids are in the gateway"
        f" self-test's record {inputs['selftest_record']}."
    )
