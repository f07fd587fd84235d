"""Reports only format the report document; writing files is separate from any other sink.

``build_report`` makes the document (airgapctl/schemas/report.schema.json); ``RENDERERS`` turn it into
text per format; ``write_reports`` puts those texts in a directory. A sink that forwards findings
elsewhere (the local Fluentd collector, later) takes the same document.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airgapctl.errors import AirgapError
from log_analysis.reports.document import REPORT_SCHEMA, REPORT_VERSION, build_report


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def render_html(report: dict[str, Any]) -> str:
    # The HTML and Markdown writers are imported when a run asks for them: a daily JSON run does not.
    from log_analysis.reports.html import render_html

    return render_html(report)


def render_markdown(report: dict[str, Any]) -> str:
    from log_analysis.reports.markdown import render_markdown

    return render_markdown(report)


RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "json": ("json", render_json),
    "html": ("html", render_html),
    "md": ("md", render_markdown),
}


def write_reports(report: dict[str, Any], directory: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write ``audit-<generated_at>.<ext>`` per format, each atomically; returns the paths."""
    stamp = dt.datetime.fromisoformat(report["generated_at"].replace("Z", "+00:00")).strftime("%Y%m%dT%H%M%SZ")
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name in formats:
            extension, render = RENDERERS[name]
            target = directory / f"audit-{stamp}.{extension}"
            handle, temporary = tempfile.mkstemp(prefix=".audit-", dir=directory)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(render(report))
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
            written.append(target)
    except OSError as error:
        raise AirgapError(
            f"cannot write the report into {directory}: {error.strerror or error}", hint="give a writable --report-dir"
        ) from error
    return written


__all__ = [
    "RENDERERS",
    "REPORT_SCHEMA",
    "REPORT_VERSION",
    "build_report",
    "render_html",
    "render_json",
    "render_markdown",
    "write_reports",
]
