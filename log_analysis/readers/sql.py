"""SQL text shared by the readers: quoting, and the columns every reader produces."""

from __future__ import annotations

from dataclasses import dataclass

from airgapctl.contracts import access_log

# The spec check's fields: what it found, where and which check ('' for none, and in lines written
# before the gateway checked requests, or in formats that cannot carry them).
VIOLATION_COLUMNS = ("violation", "violation_pointer", "violation_keyword")
# Every reader yields these columns, one row per line (problem lines included, marked in `problem`).
# ``uri`` is the raw request target; ``path`` the same without its query.
EVENT_COLUMNS = (
    "fi",
    "ts",
    "lh",
    "remote_addr",
    "client",
    "method",
    "uri",
    "path",
    "operation",
    "decision",
    "reason",
    "status",
    "bytes_out",
    "request_time",
    "policy_id",
    *VIOLATION_COLUMNS,
    "problem",
)
ALLOWED_REASONS = access_log.ALLOWED
# The request ids of ReadOptions.selftest, as a table of the scan's connection (engine.scan fills it).
SELFTEST_TABLE = "selftest_requests"


@dataclass(frozen=True)
class ReadOptions:
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # epoch seconds, exclusive
    max_line_bytes: int = 16384  # longer lines are skipped as over_long (NGINX's URI limit is 8 KiB by default)
    # The requests the gateway self-test sent, as (epoch seconds, request id), oldest first
    # (airgapctl.contracts.selftest_record): their lines are marked 'selftest', neither judged nor
    # counted as skipped.
    selftest: tuple[tuple[float, str], ...] = ()


def literal(text: str) -> str:
    """A SQL string literal (paths and policy values go into the query text)."""
    return "'" + text.replace("'", "''") + "'"


def in_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def served(reason: str = "reason") -> str:
    """SQL true when a line with this reason was passed to the upstream (its decision is allow)."""
    return f"{reason} IN {in_list(ALLOWED_REASONS)}"


def window_problem(options: ReadOptions) -> str:
    """SQL that marks rows outside --since/--until, applied after the parse problems."""
    conditions = []
    if options.since is not None:
        conditions.append(f"ts < {int(options.since)}")
    if options.until is not None:
        conditions.append(f"ts >= {int(options.until)}")
    return f"WHEN {' OR '.join(conditions)} THEN 'outside_window'" if conditions else ""
