"""Input sanity: an audit that read nothing it could judge stops with a message, never with exit 0.

A file none of whose lines could be read in the format it was read in is a wrong --log-format or
not a log at all: the run stops, naming the file and what it looks like. A run that used no line
(empty files, nothing new since the last run, every line outside --since/--until or the gateway
self-test's own) stops too: a scheduled audit that judges nothing must not look like one that found
nothing.
"""

from __future__ import annotations

from airgapctl.errors import BadInputError
from log_analysis.incremental import Unchanged
from log_analysis.model import FileStats
from log_analysis.readers.inputs import COMBINED, JSON, LogInput, describe_content

_FORMAT_NAMES = {JSON: "gateway JSON lines", COMBINED: "combined log lines"}
_HINTS = {
    "combined (NGINX/Apache) log lines": "give --log-format combined, or --log-format auto to sniff each file",
    "gateway JSON lines": "give --log-format json, or --log-format auto to sniff each file",
    "binary data, not log lines": "give the gateway's access log files, not a binary file",
}


def nothing_new(unchanged: list[Unchanged]) -> BadInputError:
    return BadInputError(
        f"nothing new to read: the {len(unchanged)} log file(s) in --logs were read to their end by earlier runs",
        hint="check that the gateway still writes its access log there; --full reads every file again",
    )


def check_readable(files: list[FileStats], inputs: list[LogInput], unchanged: list[Unchanged]) -> None:
    """Raise when a file held lines none of which could be read, or when the run used no line at all."""
    for stats, log in zip(files, inputs, strict=True):
        if stats.lines and not stats.used and not stats.outside_window and not stats.selftest:
            looks = describe_content(log.source, log.compressed)
            reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(stats.skipped.items(), key=lambda r: -r[1]))
            raise BadInputError(
                f"{log.path}: no line could be read as {_FORMAT_NAMES[log.format]} ({stats.lines:,} lines: "
                f"{reasons or 'unreadable'}); it looks like {looks}",
                hint=_HINTS.get(looks, "the audit reads gateway JSON lines and combined (NGINX/Apache) logs"),
            )
    if any(stats.used for stats in files):
        return
    outside = sum(stats.outside_window for stats in files)
    if outside:
        raise BadInputError(
            f"no line of the logs falls within --since/--until ({outside:,} lines outside it)",
            hint="widen --since/--until, or check the logs' times",
        )
    selftest = sum(stats.selftest for stats in files)
    if selftest:
        raise BadInputError(
            f"nothing to audit: every line read ({selftest:,}) is a request of the gateway self-test",
            hint="they are left out by --selftest-record; the next run reads them again with what follows",
        )
    if unchanged:
        raise nothing_new(unchanged)
    names = ", ".join(stats.path for stats in files[:3]) + (", …" if len(files) > 3 else "")
    raise BadInputError(
        f"nothing to audit: {names} hold(s) no line", hint="check that --logs names the gateway's access log files"
    )
