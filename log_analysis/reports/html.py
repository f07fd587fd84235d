"""The HTML report: one self-contained file, inline CSS, SVG and one inline script, no external reference.

Every value that comes from the logs or the policy is escaped and shown inside <code>, so a URL a
client requested appears only as escaped text there. The script only filters and sorts the findings
table, reading what it needs from the rows' data attributes (escaped like the rest), never from log
data put into script text. Filters can be given in the address's fragment, so that a link opens
the report filtered: ``latest.html#severity=high&detector=probing&subject=10.0.&sort=-start``.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from log_analysis.reports.markdown import selftest_sentence
from log_analysis.reports.svg import SEVERITY_COLOURS, bar_chart, traffic_chart

_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;width:100%}th,td{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:.95em;word-break:break-all}
.sev{color:#fff;border-radius:3px;padding:1px 5px;font-size:.85em}.grid{display:flex;flex-wrap:wrap;gap:2em}
.muted{color:#666}tr[hidden]{display:none}th[data-sort]{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
#filters{display:flex;flex-wrap:wrap;gap:1em;align-items:center;margin:.5em 0}#filters label{font-size:.9em}
details summary{cursor:pointer;color:#444}details ul{margin:.3em 0;padding-left:1.2em}
"""

SEVERITIES = ("info", "low", "medium", "high", "critical")
# Filters and sorting of the findings table. Plain ES5 and the DOM only; it sets data-ready on the
# root element when done (data-script-error if anything threw), which the report's browser test reads.
_SCRIPT = """
(function () {
  var root = document.documentElement;
  window.addEventListener("error", function (e) { root.setAttribute("data-script-error", String(e.message)); });
  var table = document.getElementById("findings");
  if (!table) { root.setAttribute("data-ready", "1"); return; }
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  var severity = document.getElementById("f-severity"), detector = document.getElementById("f-detector");
  var subject = document.getElementById("f-subject"), count = document.getElementById("f-count");
  var ranks = {info: 0, low: 1, medium: 2, high: 3, critical: 4}, numeric = {severity: 1, score: 1};
  var order = {key: "severity", desc: true};
  function apply() {
    var least = Number(severity.value), only = detector.value, text = subject.value.toLowerCase(), shown = 0;
    rows.forEach(function (row) {
      var keep = Number(row.getAttribute("data-severity")) >= least &&
        (!only || row.getAttribute("data-detector") === only) &&
        (!text || row.getAttribute("data-subject").toLowerCase().indexOf(text) >= 0);
      row.hidden = !keep;
      if (keep) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " findings shown";
    root.setAttribute("data-shown", String(shown));
  }
  function sort(key, desc) {
    order = {key: key, desc: desc};
    rows.sort(function (a, b) {
      var x = a.getAttribute("data-" + key), y = b.getAttribute("data-" + key);
      var c = numeric[key] ? Number(x) - Number(y) : (x < y ? -1 : x > y ? 1 : 0);
      return desc ? -c : c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      var mine = cell.getAttribute("data-sort") === key;
      if (mine) { cell.setAttribute("aria-sort", desc ? "descending" : "ascending"); }
      else { cell.removeAttribute("aria-sort"); }
    });
  }
  function remember() {
    var parts = [];
    if (Number(severity.value) > 0) { parts.push("severity=" + severity.options[severity.selectedIndex].text); }
    if (detector.value) { parts.push("detector=" + encodeURIComponent(detector.value)); }
    if (subject.value) { parts.push("subject=" + encodeURIComponent(subject.value)); }
    parts.push("sort=" + (order.desc ? "-" : "") + order.key);
    try { history.replaceState(null, "", "#" + parts.join("&")); } catch (ignored) { /* a file: address may refuse */ }
  }
  var asked = {};
  (location.hash.slice(1) || location.search.slice(1)).split("&").forEach(function (pair) {
    var at = pair.indexOf("=");
    if (at > 0) { asked[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1).replace(/[+]/g, " ")); }
  });
  if (asked.severity in ranks) { severity.value = String(ranks[asked.severity]); }
  if (asked.detector) { detector.value = asked.detector; }
  if (asked.subject) { subject.value = asked.subject; }
  if (asked.sort) {
    var desc = asked.sort.charAt(0) === "-", key = asked.sort.replace(/^-/, "");
    if (table.querySelector("th[data-sort='" + key + "']")) { order = {key: key, desc: desc}; }
  }
  severity.addEventListener("change", function () { apply(); remember(); });
  detector.addEventListener("change", function () { apply(); remember(); });
  subject.addEventListener("input", function () { apply(); remember(); });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
    var key = cell.getAttribute("data-sort");
    if (key) {
      cell.addEventListener("click", function () {
        sort(key, order.key === key ? !order.desc : key === "severity" || key === "score");
        remember();
      });
    }
  });
  sort(order.key, order.desc);
  apply();
  root.setAttribute("data-ready", "1");
})();
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
    findings = report["findings"]
    if not findings:
        return "<h2>Findings</h2><p>No findings.</p>"
    rows = "".join(_finding_row(f) for f in findings)
    headers = "".join(
        f'<th data-sort="{key}">{escape(label)}</th>' if key else f"<th>{escape(label)}</th>"
        for key, label in (
            ("severity", "severity"),
            ("detector", "detector"),
            ("subject", "subject"),
            ("start", "window"),
            ("score", "score"),
            ("", "message"),
        )
    )
    detectors = sorted({f["detector"] for f in findings})
    filters = (
        '<div id="filters"><label>severity at least <select id="f-severity">'
        + "".join(f'<option value="{rank}">{label}</option>' for rank, label in enumerate(SEVERITIES))
        + '</select></label><label>detector <select id="f-detector"><option value="">all</option>'
        + "".join(f'<option value="{escape(d)}">{escape(d)}</option>' for d in detectors)
        + '</select></label><label>subject contains <input id="f-subject" type="search" size="24"></label>'
        + f'<span id="f-count" class="muted">{len(findings)} findings</span></div>'
    )
    return (
        f'<h2>Findings</h2>{filters}<table id="findings"><thead><tr>{headers}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _finding_row(f: dict[str, Any]) -> str:
    subject_text = ", ".join(f"{k}: {v}" for k, v in f["subject"].items())
    message = _code(f["message"])
    examples = f["evidence"].get("examples") if isinstance(f["evidence"], dict) else None
    if examples:
        items = "".join(f"<li>{_code(e['message'])}</li>" for e in examples)
        message += f"<details><summary>{f['evidence'].get('grouped', len(examples))} grouped; first examples</summary>"
        message += f"<ul>{items}</ul></details>"
    cells = [
        _severity(f["severity"]),
        escape(f["detector"]),
        "<br>".join(f"{escape(k)}: {_code(v)}" for k, v in f["subject"].items()),
        f"{escape(f['window']['start'])}<br>{escape(f['window']['end'])}",
        escape(f"{f['score']:g}"),
        message,
    ]
    attributes = (
        f'data-severity="{SEVERITIES.index(f["severity"])}" data-detector="{escape(f["detector"])}" '
        f'data-subject="{escape(subject_text)}" data-start="{escape(f["window"]["start"])}" '
        f'data-score="{f["score"]:g}"'
    )
    return f"<tr {attributes}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


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
    selftest = f"<p>{escape(selftest_sentence(inputs))}</p>" if inputs.get("selftest_record") else ""
    return (
        "<h2>Inputs</h2>"
        + _table(["file", "format", "lines", "used", "skipped"], rows)
        + selftest
        + "<h2>Detectors</h2>"
        + _table(["detector", "ran", "findings", "statistic"], detectors)
    )


def render_html(report: dict[str, Any]) -> str:
    summary = report["summary"]
    counts = " ".join(f"{_severity(k)} {v}" for k, v in summary["by_severity"].items() if v)
    notes = "".join(f"<li>{escape(n)}</li>" for n in report["notes"])
    selftest = report["inputs"].get("lines_selftest")
    left_out = f", {selftest:,} self-test requests left out" if selftest else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Audit {escape(report['site'] or '')} {escape(report['window']['start'])}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Gateway audit: {escape(report['site'] or 'no policy')}</h1>"
        f"<p>Window {escape(report['window']['start'])} to {escape(report['window']['end'])}; policy "
        f"{_code(report['policy_id'] or 'none')}; actors keyed on {escape(report['identity_key'])}; "
        f"generated {escape(report['generated_at'])}.</p>"
        f"<p><strong>{summary['findings']} finding(s)</strong> {counts}; "
        f"{report['inputs']['lines_read']:,} lines read, "
        f"{report['inputs']['lines_skipped']:,} skipped{left_out}.</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + _findings(report)
        + _charts(report)
        + _inputs(report)
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )
