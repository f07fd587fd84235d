"""One pass over the logs: DuckDB reads every line once and folds it into a few small grouped tables.

The detectors never see lines, only these aggregates, whose size follows the number of distinct
clients, operations, paths and time windows, not the number of lines: that is what keeps memory
flat from 5 to 20 million lines. GROUPING SETS computes all of them in the same scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airgapctl.contracts.access_log import VIOLATIONS, Reason
from log_analysis.readers.sql import ALLOWED_REASONS, VIOLATION_COLUMNS, in_list, literal

if TYPE_CHECKING:
    from log_analysis.duckdb_core import duckdb

WINDOW = 300  # seconds: the rate windows
HOUR = 3600
AUTH_REASONS = (Reason.NO_CLIENT_CERT.value, Reason.BAD_CLIENT_CERT.value, Reason.UNKNOWN_CLIENT.value)
PROBE_REASONS = (Reason.UNKNOWN_PATH.value, Reason.METHOD_NOT_ALLOWED.value, Reason.NON_CANONICAL_PATH.value)
# Latency bins: a quarter of a power of two of milliseconds (about 19 % wide), proxied requests only.
LATENCY_BINS_PER_OCTAVE = 4
_LATENCY_BIN = (
    "CASE WHEN kind <> 0 OR request_time IS NULL THEN NULL "
    f"ELSE least(80, floor(log2(request_time * 1000 + 1) * {LATENCY_BINS_PER_OCTAVE}))::INTEGER END"
)


# The path is cut from the URI only here, for the lines no operation matched (refused before routing
# included: a scanner without a certificate is known by the paths it tries). Whether the line carries
# a policy id rides along: a gateway that logs one enforced it. Without a policy every line of a
# combined log is unmatched: then only refused ones are kept, the rest would only feed drift detectors.
def _unmatched_key(served_too: bool) -> str:
    refused = "" if served_too else " AND kind <> 0"
    return (
        f"CASE WHEN operation = ''{refused} THEN method || chr(9) || split_part(uri, '?', 1) || chr(9) || client "
        "|| chr(9) || remote_addr || chr(9) || (ts // 3600) || chr(9) || (policy_id <> '')::INTEGER END"
    )


# Where and how a line broke its operation's spec, for the lines the spec check flagged (NULL for the
# others, the many): operation, what was found (the refusal's reason when the line names nothing),
# pointer and keyword, never a value. It rides along in the actors' set: it adds rows only for the
# flagged lines, per window, so schema_violation's evidence is exact without a set of its own.
_SPEC_KEY = (
    "CASE WHEN violated THEN operation || chr(9) || (CASE WHEN violation <> '' THEN violation ELSE reason END) "
    "|| chr(9) || violation_pointer || chr(9) || violation_keyword END"
)


# Three grouping sets, each as coarse as its detectors allow: per file, identity, address and 5-minute
# window, with the spec check's key riding along; per operation, hour and latency bin; per operation,
# identity, policy id, reason and hour, with the unmatched (method, path) key riding along for lines
# no operation matched. Every extra set costs a hash-table insert per line, so related views share one
# set and are split when fetched: the hour of the routes' set is summed away for the drift detectors
# and kept for schema_violation's operations judged client by client.
_SETS = {
    "actors": ("problem", "fi", "client", "remote_addr", "win", "skey"),
    "operations": ("problem", "operation", "hr", "lbin"),
    "routes": ("problem", "operation", "client", "policy_id", "reason", "hr", "ukey"),
}
# The event columns the scan reads, named one by one: DuckDB then skips computing the others.
_READ = (
    "fi", "ts", "remote_addr", "client", "method", "uri", "operation", "reason", "status", "bytes_out", "request_time",
    *VIOLATION_COLUMNS, "problem",
)  # fmt: skip
# Every key column of any set, in a fixed order (GROUPING_ID's bits follow it).
_KEYS = tuple(dict.fromkeys(key for keys in _SETS.values() for key in keys))
# Each line gets a class: whether the spec check flagged it, what kind of answer (reason category,
# `kind`, compared once per line) and its status class. The scan groups by it and keeps only four
# aggregates; the per-kind counts are summed from the small result. Fewer aggregates per grouping set
# is what makes the single scan fast: a kind costs one comparison per line and a few more result rows,
# never another grouping set.
_REASON_KIND = (
    f"(CASE WHEN reason IN {in_list(ALLOWED_REASONS)} THEN 0 WHEN reason = {literal(Reason.RATE_LIMITED)} THEN 1 "
    f"WHEN reason IN {in_list(AUTH_REASONS)} THEN 2 WHEN reason IN {in_list(PROBE_REASONS)} THEN 3 "
    f"WHEN reason = {literal(Reason.FORBIDDEN_ROLE)} THEN 5 WHEN reason IN {in_list(VIOLATIONS)} THEN 6 "
    "ELSE 4 END)::TINYINT"
)
# Flagged: served with a finding (report mode) or refused for it (enforce mode), whatever the line names.
_VIOLATED = "(violation <> '' OR kind = 6)"
_CLASS = "(violated::INTEGER * 100 + kind * 10 + least(coalesce(status, 0) // 100, 9))::SMALLINT"
_SCAN_MEASURES = "count(*) AS n, sum(bytes_out) AS bytes_out, min(ts) AS first, max(ts) AS last"
_KIND = "cls // 10 % 10"
# From the classes back to counts (status class = cls % 10, reason kind = cls // 10 % 10, flagged by the
# spec check = cls >= 100). Client errors are the 4xx a client causes itself: auth failures, probing,
# rate limits, calls outside the client's roles (forbidden_role) and requests refused for breaking
# their spec are left to their detectors.
# Sums are cast back to BIGINT: DuckDB sums into HUGEINT, which converts to Python four times slower.
# Line counts cannot overflow it; byte counts are logged numbers, so a forged one is capped, never fatal.
_COUNTS = {
    "n": "sum(n)",
    "bytes_out": f"least(sum(bytes_out), {2**63 - 1})",
    "n2xx": "sum(n) FILTER (cls % 10 = 2)",
    "n5xx": "sum(n) FILTER (cls % 10 >= 5)",
    "client_errors": f"sum(n) FILTER (cls % 10 = 4 AND {_KIND} IN (0, 4))",
    "n429": f"sum(n) FILTER ({_KIND} = 1)",
    "auth_failures": f"sum(n) FILTER ({_KIND} = 2)",
    "probes": f"sum(n) FILTER ({_KIND} = 3)",
    "denied": f"sum(n) FILTER ({_KIND} <> 0)",
    "forbidden": f"sum(n) FILTER ({_KIND} = 5)",
    "invalid": f"sum(n) FILTER ({_KIND} = 6)",  # refused for breaking the spec (enforce mode)
    "violations": "sum(n) FILTER (cls >= 100)",  # flagged by the spec check, served or refused
}
_MEASURES = ", ".join(f"coalesce({total}, 0)::BIGINT AS {name}" for name, total in _COUNTS.items())
_MEASURES += ", min(first) AS first, max(last) AS last"
# The measure columns every fetched row ends with, in order (rows kept between runs are checked against it).
MEASURES = (*_COUNTS, "first", "last")


@dataclass
class AuditData:
    """Everything the detectors may use; rows are plain tuples named by the ``*_COLUMNS`` below."""

    actors: list[tuple] = field(default_factory=list)  # client, remote_addr, win, *MEASURES
    operations: list[tuple] = field(default_factory=list)  # operation, hr, lbin, *MEASURES
    routes: list[tuple] = field(default_factory=list)  # operation, client, policy_id, reason, *MEASURES
    unmatched: list[tuple] = field(default_factory=list)  # method, path, client, remote_addr, hour, enforced, *MEASURES
    # The routed lines per operation, identity and hour: operation, client, hr, *MEASURES
    operation_clients: list[tuple] = field(default_factory=list)
    # The lines the spec check flagged, by place and window:
    # client, remote_addr, win, operation, violation, pointer, keyword, *MEASURES
    violations: list[tuple] = field(default_factory=list)
    violations_truncated: int = 0
    files: list[tuple] = field(default_factory=list)  # fi, problem, *MEASURES
    start: float | None = None  # first and last used line's time
    end: float | None = None
    unmatched_truncated: int = 0
    utc_offset_hours: int = 0  # the logs' local offset (from their first lines): hours of day are local


def aggregate(
    con: duckdb.DuckDBPyConnection,
    events: str,
    policy_id: str | None,
    max_unmatched: int = 200_000,
    max_flagged: int = 200_000,
) -> AuditData:
    """Run the single scan and fetch each grouping set (problem rows only into the per-file counts).

    ``policy_id`` is the current policy's, None when the audit has no policy."""
    sets = ", ".join("(" + ", ".join((*keys, "cls")) + ")" for keys in _SETS.values())
    # The current policy id is shortened to '=' for the scan (cheaper to group by), and put back after.
    current = f"CASE WHEN policy_id = {literal(policy_id)} THEN '=' ELSE policy_id END" if policy_id else "policy_id"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE agg AS
        SELECT GROUPING_ID({", ".join(_KEYS)}) AS gid, {", ".join(_KEYS)}, cls, {_SCAN_MEASURES}
        FROM (SELECT *, ts // {WINDOW} * {WINDOW} AS win, ts // {HOUR} * {HOUR} AS hr, {_LATENCY_BIN} AS lbin,
                     {_unmatched_key(policy_id is not None)} AS ukey, {_SPEC_KEY} AS skey, {_CLASS} AS cls
              FROM (SELECT *, {_VIOLATED} AS violated
                    FROM (SELECT {", ".join(_READ)}, {current} AS policy_id, {_REASON_KIND} AS kind FROM ({events}))))
        GROUP BY GROUPING SETS ({sets})""")  # noqa: S608 - column names and the readers' quoted SQL
    data = AuditData()
    data.actors = _fetch(con, "actors", "client, remote_addr, win")
    data.operations = _fetch(con, "operations", "operation, hr, lbin")
    data.routes = [
        (o, c, policy_id if p == "=" else p, r, *rest)
        for o, c, p, r, *rest in _fetch(con, "routes", "operation, client, policy_id, reason")
    ]
    data.files = _fetch(con, "actors", "fi, problem", used_only=False)
    data.operation_clients = _fetch(con, "routes", "operation, client, hr", where="operation <> ''")
    # Pointers name places in requests, array items included: their rows are bounded, the most common kept.
    flagged = _fetch(
        con,
        "actors",
        "client, remote_addr, win, skey",
        where="skey IS NOT NULL",
        order=f"n DESC LIMIT {max_flagged + 1}",
    )
    data.violations_truncated = max(0, len(flagged) - max_flagged)
    data.violations = [(c, a, w, *_split_spec(key), *rest) for c, a, w, key, *rest in flagged[:max_flagged]]
    unmatched = _fetch(con, "routes", "ukey", where="ukey IS NOT NULL", order=f"n DESC LIMIT {max_unmatched + 1}")
    data.unmatched_truncated = max(0, len(unmatched) - max_unmatched)
    data.unmatched = [_split_unmatched(row) for row in unmatched[:max_unmatched] if row[0] is not None]
    used = [row for row in data.files if row[1] is None]
    if used:
        data.start = min(row[-2] for row in used)
        data.end = max(row[-1] for row in used)
    con.execute("DROP TABLE agg")
    return data


def _gid(keys: tuple[str, ...]) -> int:
    """GROUPING_ID sets a bit (most significant first) for every key column NOT in the set."""
    return sum(1 << (len(_KEYS) - 1 - i) for i, key in enumerate(_KEYS) if key not in keys)


def _fetch(
    con: duckdb.DuckDBPyConnection, name: str, columns: str, used_only: bool = True, where: str = "", order: str = ""
) -> list[tuple]:
    """One view of a grouping set: its rows summed over the keys not asked for, classes turned into counts."""
    where = (
        f"gid = {_gid(_SETS[name])}"
        + (" AND problem IS NULL" if used_only else "")
        + (f" AND {where}" if where else "")
    )
    order_by = f"ORDER BY {order}" if order else ""
    query = f"SELECT {columns}, {_MEASURES} FROM agg WHERE {where} GROUP BY ALL {order_by}"  # noqa: S608 - our names
    return con.execute(query).fetchall()


def _split_unmatched(row: tuple) -> tuple[Any, ...]:
    method, rest = row[0].split("\t", 1)
    path, client, remote_addr, hour, enforced = rest.rsplit("\t", 4)  # a logged path may hold a tab
    return (method, path, client, remote_addr, int(hour) * HOUR, enforced == "1", *row[1:])


def _split_spec(key: str) -> tuple[str, str, str, str]:
    operation, violation, rest = key.split("\t", 2)
    pointer, keyword = rest.rsplit("\t", 1)  # a pointer names a place in the request: it may hold a tab
    return operation, violation, pointer, keyword
