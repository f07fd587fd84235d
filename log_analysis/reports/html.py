"""The HTML report: one self-contained file, inline CSS and SVG, no script, no external reference.

Every value that comes from the logs or the policy is escaped and shown inside <code>, so a URL a
client requested appears only as escaped text there.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from log_analysis.reports.svg import SEVERITY_COLOURS, bar_chart, traffic_chart

_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;width:100%}th,td{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:.95em;word-break:break-all}
.sev{color:#fff;border-radius:3px;padding:1px 5px;font-size:.85em}.grid{display:flex;flex-wrap:wrap;gap:2em}
.muted{color:#666}
"""


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _code(value: Any) -> str:
    return f"<code>{escape(str(value))}</code>"


def _severity(label: str) -> str:
    return f'<span class="sev" style="background:{SEVERITY_COLOURS[label]}">{escape(label)}</span>'


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _charts(report: dict[str, Any]) -> str:
    data = report["overview"]
    points = [(_epoch(t), n, refused, t) for t, n, refused in data["traffic"]["points"]]
    markers = [
        (_epoch(f["window"]["start"]), _epoch(f["window"]["end"]), f["severity"], f"{f['detector']} ({f['severity']})")
        for f in report["findings"]
    ]
    clients = [(r["client"], r["requests"], "#2b6cb0") for r in data["top_clients"]]
    decisions = [
        (r["reason"], r["requests"], "#2f855a" if r["decision"] == "allow" else "#c0392b") for r in data["decisions"]
    ]
    errors = [(r["operation"], r["share"] * 100, "#e0642a") for r in data["operation_errors"] if r["requests"]]
    return (
        f'<h2>Traffic over time</h2><p class="muted">requests (blue), refused (red); findings shaded by '
        f"severity; step {data['traffic']['step_seconds'] // 60} min</p>{traffic_chart(points, markers)}"
        f'<div class="grid"><div><h2>Top clients</h2>{bar_chart(clients, label="top clients")}</div>'
        f"<div><h2>Decisions</h2>{bar_chart(decisions, label='decisions by reason')}</div>"
        f"<div><h2>Server errors per operation (%)</h2>"
        f"{bar_chart(errors[:12], value_format='{:.2f} %', label='server error share per operation')}</div></div>"
    )


def _findings(report: dict[str, Any]) -> str:
    rows = [
        [
            _severity(f["severity"]),
            escape(f["detector"]),
            "<br>".join(f"{escape(k)}: {_code(v)}" for k, v in f["subject"].items()),
            f"{escape(f['window']['start'])}<br>{escape(f['window']['end'])}",
            escape(f"{f['score']:g}"),
            _code(f["message"]),
        ]
        for f in report["findings"]
    ]
    if not rows:
        return "<h2>Findings</h2><p>No findings.</p>"
    return "<h2>Findings</h2>" + _table(["severity", "detector", "subject", "window", "score", "message"], rows)


def _inputs(report: dict[str, Any]) -> str:
    inputs = report["inputs"]
    rows = [
        [
            _code(f["path"]),
            escape(f["format"]),
            f"{f['lines']:,}",
            f"{f['used']:,}",
            escape(", ".join(f"{k}: {v:,}" for k, v in f["skipped"].items()) or "none"),
        ]
        for f in inputs["files"]
    ]
    detectors = [
        [
            escape(d["id"]),
            "yes" if d["ran"] else escape(f"no: {d['not_run_because']}"),
            str(d["findings"]),
            escape(d["statistic"]),
        ]
        for d in report["detectors"]
    ]
    return (
        "<h2>Inputs</h2>"
        + _table(["file", "format", "lines", "used", "skipped"], rows)
        + "<h2>Detectors</h2>"
        + _table(["detector", "ran", "findings", "statistic"], detectors)
    )


def render_html(report: dict[str, Any]) -> str:
    summary = report["summary"]
    counts = " ".join(f"{_severity(k)} {v}" for k, v in summary["by_severity"].items() if v)
    notes = "".join(f"<li>{escape(n)}</li>" for n in report["notes"])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Audit {escape(report['site'])} {escape(report['window']['start'])}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Gateway audit: {escape(report['site'])}</h1>"
        f"<p>Window {escape(report['window']['start'])} to {escape(report['window']['end'])}; policy "
        f"{_code(report['policy_id'])}; generated {escape(report['generated_at'])}.</p>"
        f"<p><strong>{summary['findings']} finding(s)</strong> {counts}; "
        f"{report['inputs']['lines_read']:,} lines read, "
        f"{report['inputs']['lines_skipped']:,} skipped.</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + _findings(report)
        + _charts(report)
        + _inputs(report)
        + "</body></html>\n"
    )
