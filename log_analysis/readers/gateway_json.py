"""The gateway's JSON access log (airgapctl/schemas/access_log.schema.json), read by DuckDB's JSON reader.

Every line becomes a row: lines DuckDB cannot parse come back as all-NULL rows (``ignore_errors``), so
they are counted here and classified by reason afterwards (readers.problems), never fatal.
"""

from __future__ import annotations

from airgapctl.contracts import access_log
from log_analysis.readers.inputs import LogInput
from log_analysis.readers.sql import SELFTEST_TABLE, VIOLATION_COLUMNS, ReadOptions, literal, served, window_problem

# The logged fields the audit reads, typed from the contract: naming only these keeps DuckDB's JSON reader fast.
_READ = (
    "v", "time", "remote_addr", "client", "method", "uri", "operation", "decision", "reason", "status", "bytes_out",
    "request_time", "policy_id", *VIOLATION_COLUMNS,
)  # fmt: skip
_SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE"}
# An HTTP status fits INTEGER, the combined reader's type for it.
_NARROWER = {"status": "INTEGER"}


def _columns(names: tuple[str, ...]) -> str:
    types = (_NARROWER.get(name) or _SQL_TYPES[access_log.FIELD[name].type] for name in names)
    return "{" + ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in zip(names, types, strict=True)) + "}"


_COLUMNS = _columns(_READ)
# The request id only tells the self-test's own lines apart: a VARCHAR more per line, read only when
# there are self-test requests to leave out.
_COLUMNS_WITH_ID = _columns((*_READ, "request_id"))
# A parsed record cannot show its line's length; its text fields' bytes (strlen: the limit is in bytes, and it
# need not decode UTF-8) plus the fixed part bound it from below.
_TEXT_LENGTH = (
    "strlen(uri) + coalesce(strlen(client), 0) + coalesce(strlen(operation), 0) "
    "+ coalesce(strlen(violation_pointer), 0) + 400"
)
# The fields lines written before the gateway checked requests against their specs lack: ''.
_SPEC_CHECK = ", ".join(f"coalesce({name}, '') AS {name}" for name in VIOLATION_COLUMNS)


def json_source(index: int, log: LogInput, options: ReadOptions) -> str:
    """One SELECT yielding the event columns for one JSON-lines file (plain or gzip)."""
    compression = "gzip" if log.compressed else "uncompressed"
    columns = _COLUMNS_WITH_ID if options.selftest else _COLUMNS
    # After the problems of the line itself and the window: a self-test line is a sound line left out.
    lookup = f"request_id IN (SELECT request_id FROM {SELFTEST_TABLE})"  # noqa: S608 - our table's name
    selftest = f"WHEN {lookup} THEN 'selftest'" if options.selftest else ""
    scan = (
        f"read_json({literal(str(log.source))}, format = 'newline_delimited', columns = {columns}, "
        f"ignore_errors = true, compression = '{compression}')"
    )
    parsed = f"SELECT *, epoch(TRY_CAST(time AS TIMESTAMPTZ))::BIGINT AS ts FROM {scan}"  # noqa: S608 - quoted path
    return f"""
    SELECT {index} AS fi, ts, TRY_CAST(substr(time, 12, 2) AS INTEGER) AS lh,
        coalesce(remote_addr, '') AS remote_addr, coalesce(client, '') AS client, method,
        uri, split_part(uri, '?', 1) AS path, coalesce(operation, '') AS operation,
        coalesce(decision, '') AS decision, coalesce(reason, '') AS reason, status,
        coalesce(bytes_out, 0) AS bytes_out, request_time, coalesce(policy_id, '') AS policy_id, {_SPEC_CHECK},
        CASE WHEN v <> {access_log.VERSION} THEN 'unknown_version'
             WHEN time IS NULL AND method IS NULL AND uri IS NULL AND status IS NULL THEN 'unparsable'
             WHEN v IS NULL OR time IS NULL OR method IS NULL OR uri IS NULL OR status IS NULL OR decision IS NULL
                  THEN 'missing_field'
             WHEN (decision = 'allow') <> ({served("coalesce(reason, '')")}) THEN 'contradictory_decision'
             WHEN ts IS NULL THEN 'bad_time'
             WHEN {_TEXT_LENGTH} > {options.max_line_bytes} THEN 'over_long'
             {window_problem(options)}
             {selftest}
             ELSE NULL END AS problem
    FROM ({parsed})"""  # noqa: S608 - the path is a quoted literal, the rest numbers
