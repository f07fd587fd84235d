"""The site report of a fleet audit: every appliance's audit report merged into one document.

Each gateway appliance audits its own logs (``airgapctl audit run --fleet`` runs its audit service and
fetches its reports); ``build_fleet_report`` reads the JSON report fetched from each, checked
against airgapctl/schemas/report.schema.json, and makes the site document
(airgapctl/schemas/fleet-report.schema.json): a breakdown per appliance and every finding with
``subject.host`` naming the appliance that reported it, most severe first. A report that cannot
be read or does not match its schema is an error line of its appliance, never the end of the
merge. The Markdown and HTML renderings reuse the audit report's tables, escaping and page style.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airgapctl.errors import AirgapError
from log_analysis.model import Severity, iso

FLEET_SCHEMA = "airgapctl/fleet-report"
FLEET_VERSION = 1
FORMATS = ("json", "html", "md")
# How the appliance's part of the run ended (the provision runner's per-host outcome).
RAN_OK, RAN_FAILED, RAN_UNREACHABLE = "ok", "failed", "unreachable"
# An appliance's status in the site report; only "ok" is a complete audit.
STATUSES = ("ok", "failed", "unreachable", "no_report", "invalid_report")
LATEST = "fleet-latest"


@dataclass(frozen=True)
class HostAudit:
    """One appliance's part of a fleet audit: how its run ended and the reports fetched from it."""

    host: str
    ran: str = RAN_OK  # RAN_OK, RAN_FAILED or RAN_UNREACHABLE
    reports: dict[str, Path] = field(default_factory=dict)  # format -> fetched file
    message: str | None = None  # why its run failed, as Ansible said it


def build_fleet_report(
    audits: Iterable[HostAudit],
    *,
    base: Path | None = None,
    inventory: str | None = None,
    limit: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The site document; report paths are given relative to ``base`` (the report directory)."""
    hosts, findings, notes = [], [], []
    for audit in sorted(audits, key=lambda a: a.host):
        entry, report = _host_entry(audit, base)
        hosts.append(entry)
        if report is not None:
            findings += [_on_host(finding, audit.host) for finding in report["findings"]]
    findings.sort(key=lambda f: (-Severity.parse(f["severity"]), f["window"]["start"], f["subject"]["host"]))
    sites = sorted({h["site"] for h in hosts if h["site"]})
    if len(sites) > 1:
        notes.append(f"the appliances' reports name {len(sites)} sites: {', '.join(sites)}")
    for entry in hosts:
        if entry["status"] != "ok":
            notes.append(f"{entry['host']}: {entry['status'].replace('_', ' ')}: {entry['error']}")
    return {
        "schema": FLEET_SCHEMA,
        "schema_version": FLEET_VERSION,
        "generated_at": iso(dt.datetime.now(dt.UTC).timestamp()),
        "site": sites[0] if len(sites) == 1 else None,
        "inventory": inventory,
        "limit": limit,
        "run_id": run_id,
        "summary": _summary(hosts, findings),
        "hosts": hosts,
        "findings": findings,
        "notes": notes,
    }


def complete(document: dict[str, Any]) -> bool:
    """Every appliance's audit ran and its report was merged."""
    return all(h["status"] == "ok" for h in document["hosts"])


def reaches(document: dict[str, Any], fail_on: Severity | None) -> int:
    """How many findings are at or above ``fail_on`` (none for None)."""
    if fail_on is None:
        return 0
    return sum(1 for f in document["findings"] if Severity.parse(f["severity"]) >= fail_on)


def _host_entry(audit: HostAudit, base: Path | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    report, problem = _read_report(audit.reports.get("json"))
    status = {RAN_UNREACHABLE: "unreachable", RAN_FAILED: "failed"}.get(audit.ran)
    if status is None:
        status = "no_report" if audit.reports.get("json") is None else "invalid_report" if problem else "ok"
    errors = [audit.message] if audit.ran != RAN_OK and audit.message else []
    errors += [problem] if problem and audit.reports.get("json") is not None else []
    if status == "no_report":
        errors.append("the audit wrote no JSON report")
    summary = report["summary"] if report is not None else None
    return {
        "host": audit.host,
        "status": status,
        "error": "; ".join(errors) or (None if status == "ok" else status.replace("_", " ")),
        "reports": {name: _shown(audit.reports.get(name), base) for name in FORMATS},
        "generated_at": report["generated_at"] if report else None,
        "policy_id": report["policy_id"] if report else None,
        "site": report["site"] if report else None,
        "window": report["window"] if report else None,
        "lines_read": report["inputs"]["lines_read"] if report else None,
        "lines_used": report["inputs"]["lines_used"] if report else None,
        "findings": summary["findings"] if summary else None,
        "by_severity": summary["by_severity"] if summary else None,
        "highest_severity": summary["highest_severity"] if summary else None,
        "detectors_not_run": report["detectors_not_run"] if report else None,
    }, report


def _read_report(path: Path | None) -> tuple[dict[str, Any] | None, str | None]:
    """The appliance's report checked against its schema, or why it cannot be used."""
    from airgapctl.errors import BadInputError
    from airgapctl.schemas import check_document

    if path is None:
        return None, None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        return None, f"cannot read {path.name}: {error.strerror or error}"
    except ValueError as error:  # JSON and UTF-8 errors both
        return None, f"{path.name} is not JSON: {error}"
    try:
        check_document(document, "report", path.name)
    except BadInputError as error:
        return None, f"not an audit report: {error.message}"
    return document, None


def _on_host(finding: dict[str, Any], host: str) -> dict[str, Any]:
    subject = finding["subject"]
    evidence = finding["evidence"]
    if subject.get("host", host) != host:
        # A config_drift finding names the host of a drift report: kept, the subject is the reporter.
        evidence = {**evidence, "subject_host": subject["host"]}
    others = {key: value for key, value in subject.items() if key != "host"}
    return {**finding, "subject": {"host": host, **others}, "evidence": evidence}


def _summary(hosts: list[dict[str, Any]], findings: list[dict[str, Any]]) -> dict[str, Any]:
    by_status = dict.fromkeys(STATUSES, 0)
    by_severity = {severity.label: 0 for severity in Severity}
    for entry in hosts:
        by_status[entry["status"]] += 1
    for finding in findings:
        by_severity[finding["severity"]] += 1
    highest = max((Severity.parse(f["severity"]) for f in findings), default=None)
    return {
        "hosts": len(hosts),
        "by_status": by_status,
        "findings": len(findings),
        "by_severity": by_severity,
        "highest_severity": highest.label if highest is not None else None,
    }


def _shown(path: Path | None, base: Path | None) -> str | None:
    if path is None:
        return None
    if base is not None and path.is_relative_to(base):
        return path.relative_to(base).as_posix()
    return str(path)


def _severities(counts: dict[str, int] | None) -> str:
    """Counts by severity, most severe first: "high 2, low 1"; "-" without a report."""
    if counts is None:
        return "-"
    return ", ".join(f"{label} {counts[label]}" for label in reversed(counts) if counts[label]) or "none"


def _not_run(host: dict[str, Any]) -> str:
    """The detectors the appliance's audit did not run; "-" without a report."""
    if host["detectors_not_run"] is None:
        return "-"
    return ", ".join(host["detectors_not_run"]) or "none"


def render_fleet_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def render_fleet_markdown(document: dict[str, Any]) -> str:
    from log_analysis.reports.markdown import _findings, _table

    summary = document["summary"]
    rows = [
        [
            h["host"],
            h["status"].replace("_", " "),
            h["generated_at"] or "-",
            f"{h['window']['start']} .. {h['window']['end']}" if h["window"] else "-",
            f"{h['lines_used']:,}" if h["lines_used"] is not None else "-",
            _severities(h["by_severity"]),
            _not_run(h),
            ", ".join(path for path in h["reports"].values() if path) or "-",
        ]
        for h in document["hosts"]
    ]
    out = [
        f"# Fleet audit: {document['site'] or 'no site'}",
        "",
        f"{summary['hosts']} appliance(s), {summary['by_status']['ok']} reported; "
        f"generated {document['generated_at']}.",
        "",
        f"**{summary['findings']} finding(s)**, highest severity: {summary['highest_severity'] or 'none'}.",
        "",
        *[f"> {note}" for note in document["notes"]],
        *([""] if document["notes"] else []),
        "## Appliances",
        "",
        *_table(["host", "status", "report generated", "window", "lines used", "findings", "not run", "reports"], rows),
        "",
    ]
    return "\n".join(out + _findings(document)) + "\n"


def render_fleet_html(document: dict[str, Any]) -> str:
    from log_analysis.reports.html import _CSS, _SCRIPT, _code, _findings, _table

    summary = document["summary"]
    counts = _severity_badges(summary["by_severity"])
    notes = "".join(f"<li>{escape(n)}</li>" for n in document["notes"])
    rows = [
        [
            escape(h["host"]),
            escape(h["status"].replace("_", " ")) + (f"<br>{_code(h['error'])}" if h["error"] else ""),
            escape(h["generated_at"] or "-"),
            f"{escape(h['window']['start'])}<br>{escape(h['window']['end'])}" if h["window"] else "-",
            f"{h['lines_used']:,}" if h["lines_used"] is not None else "-",
            _severity_badges(h["by_severity"]),
            escape(_not_run(h)),
            _links(h["reports"]),
        ]
        for h in document["hosts"]
    ]
    site = document["site"] or "no site"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Fleet audit {escape(site)} {escape(document['generated_at'])}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Fleet audit: {escape(site)}</h1>"
        f"<p>{summary['hosts']} appliance(s), {summary['by_status']['ok']} reported; "
        f"generated {escape(document['generated_at'])}.</p>"
        f"<p><strong>{summary['findings']} finding(s)</strong> {counts}</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + "<h2>Appliances</h2>"
        + _table(["host", "status", "report generated", "window", "lines used", "findings", "not run", "reports"], rows)
        + _findings(document)
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )


def _severity_badges(counts: dict[str, int] | None) -> str:
    from log_analysis.reports.html import _severity

    if counts is None:
        return "-"
    return " ".join(f"{_severity(label)} {counts[label]}" for label in reversed(counts) if counts[label]) or "none"


def _links(reports: dict[str, str | None]) -> str:
    """Links to the appliance's own reports beside the site report; only relative paths: the
    report links to nothing outside its directory."""
    shown = [
        f'<a href="{escape(quote(path))}">{escape(name)}</a>'
        for name, path in reports.items()
        if path is not None and not path.startswith("/") and ":" not in path
    ]
    return " ".join(shown) or "-"


RENDERERS = {"json": render_fleet_json, "html": render_fleet_html, "md": render_fleet_markdown}


def write_fleet_reports(document: dict[str, Any], directory: Path) -> list[Path]:
    """Write ``fleet-<generated_at>.<ext>`` per format, each atomically (mode 0640), and point
    ``fleet-latest.<ext>`` at them; returns the reports written."""
    from log_analysis.reports.retention import link_latest

    stamp = stamp_of(document["generated_at"])
    written = []
    try:
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        for name in FORMATS:
            target = directory / f"fleet-{stamp}.{name}"
            handle, temporary = tempfile.mkstemp(prefix=".fleet-", dir=directory)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(RENDERERS[name](document))
            os.chmod(temporary, 0o640)
            os.replace(temporary, target)
            written.append(target)
    except OSError as error:
        raise AirgapError(
            f"cannot write the site report into {directory}: {error.strerror or error}",
            hint="give a writable --report-dir",
        ) from error
    link_latest(directory, written, name=LATEST)
    return written


def stamp_of(time: str) -> str:
    """A report time as the stamp in file names (20260301T060000Z)."""
    return dt.datetime.fromisoformat(time.replace("Z", "+00:00")).strftime("%Y%m%dT%H%M%SZ")
