"""What a report directory keeps: ``latest.<ext>`` links to the newest run and at most N runs.

A run is the set of ``audit-<stamp>.<ext>`` files sharing one stamp. Links are replaced
atomically (a reader never finds ``latest.html`` missing), and pruning only ever removes
files named like reports, so pointing ``--report-dir`` at a shared directory loses nothing else.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from airgapctl.errors import AirgapError

REPORT_NAME = re.compile(r"^audit-(\d{8}T\d{6}Z)\.(json|html|md)$")


def link_latest(directory: Path, written: list[Path], name: str = "latest") -> list[Path]:
    """Point ``<name>.<ext>`` (``latest.<ext>``) at each report just written; returns the links."""
    links = []
    for report in written:
        link = directory / f"{name}{report.suffix}"
        temporary = directory / f".{name}{report.suffix}.{os.getpid()}"
        try:
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(report.name)  # relative: the directory can be moved or mounted elsewhere
            os.replace(temporary, link)
        except OSError as error:
            raise AirgapError(
                f"cannot link {link} to {report.name}: {error.strerror or error}", hint="give a writable --report-dir"
            ) from error
        links.append(link)
    return links


def prune_reports(directory: Path, keep: int) -> list[Path]:
    """Remove the reports of all but the ``keep`` newest runs; returns what was removed."""
    runs: dict[str, list[Path]] = {}
    for path in directory.iterdir():
        match = REPORT_NAME.match(path.name)
        if match and path.is_file() and not path.is_symlink():
            runs.setdefault(match.group(1), []).append(path)
    removed = []
    for stamp in sorted(runs)[: max(len(runs) - keep, 0)]:
        for path in sorted(runs[stamp]):
            try:
                path.unlink()
            except OSError as error:
                raise AirgapError(
                    f"cannot remove the old report {path}: {error.strerror or error}",
                    hint="check the report directory's permissions",
                ) from error
            removed.append(path)
    for link in directory.glob("latest.*"):
        if link.is_symlink() and not link.exists():  # its run was pruned and this format not written since
            link.unlink()
    return removed
