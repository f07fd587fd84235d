"""NGINX/Apache "combined" logs, for sites migrating to the gateway: the same columns, inferred.

Such logs carry no identity but ``$remote_user``, no operation and no decision: the operation is
resolved from the current policy (its regexes, in match-priority order; none without a policy) and
the gateway's reason is inferred from the status. They carry no request time, so the latency detector
sees none, and no spec check, so schema_violation sees none either.
"""

from __future__ import annotations

from typing import Any

from airgapctl.contracts.access_log import Reason
from log_analysis.readers.inputs import LogInput
from log_analysis.readers.sql import VIOLATION_COLUMNS, ReadOptions, literal, served, window_problem

_PATTERN = r'^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: [^"]*)?" (\d{3}) (\d+|-)'
_FIELDS = "['addr', 'user', 'time', 'method', 'uri', 'status', 'bytes']"
# Status -> gateway reason, for requests that matched an operation and for those that did not.
_MATCHED = {
    403: Reason.FORBIDDEN_ROLE,
    410: Reason.SUNSET,
    413: Reason.BODY_TOO_LARGE,
    415: Reason.UNSUPPORTED_MEDIA_TYPE,
    429: Reason.RATE_LIMITED,
    502: Reason.UPSTREAM_ERROR,
    504: Reason.UPSTREAM_ERROR,
}
_UNMATCHED = {
    400: Reason.NON_CANONICAL_PATH,
    403: Reason.UNKNOWN_CLIENT,
    404: Reason.UNKNOWN_PATH,
    405: Reason.METHOD_NOT_ALLOWED,
    429: Reason.RATE_LIMITED,
}
# Refused before routing, whatever the path: no operation is logged for them.
_AUTH = {401: Reason.NO_CLIENT_CERT, 495: Reason.BAD_CLIENT_CERT, 496: Reason.NO_CLIENT_CERT}
# A 400 could be a spec check's refusal or the upstream's answer: nothing tells which, so none is inferred.
_NO_SPEC_CHECK = ", ".join(f"'' AS {name}" for name in VIOLATION_COLUMNS)


def raw_lines(log: LogInput, rejects_table: str, max_line_bytes: int) -> str:
    """Each line as one VARCHAR; over-long and undecodable lines go to ``rejects_table``."""
    compression = "gzip" if log.compressed else "none"
    return (
        f"read_csv({literal(str(log.source))}, columns = {{'line': 'VARCHAR'}}, delim = chr(1), quote = '', "
        f"escape = '', header = false, auto_detect = false, strict_mode = false, compression = '{compression}', "
        f"max_line_size = {max(max_line_bytes, 4096)}, store_rejects = true, rejects_table = '{rejects_table}', "
        f"rejects_scan = '{rejects_table}_scan')"
    )


def operation_case(policy: dict[str, Any] | None) -> str:
    """SQL CASE giving the policy operation for (method, path): the first match in policy order
    ('' for every line without a policy)."""
    if policy is None:
        return "''"
    arms = [
        f"WHEN method = {literal(op['method'])} AND regexp_full_match(path, {literal(op['regex'])}) "
        f"THEN {literal(op['id'])}"
        for op in policy["operations"]
    ]
    return "CASE " + " ".join(arms) + " ELSE '' END" if arms else "''"


def _reason_case() -> str:
    matched = " ".join(f"WHEN {code} THEN '{reason}'" for code, reason in _MATCHED.items())
    unmatched = " ".join(f"WHEN {code} THEN '{reason}'" for code, reason in _UNMATCHED.items())
    auth = " ".join(f"WHEN {code} THEN '{reason}'" for code, reason in _AUTH.items())
    return (
        f"CASE WHEN status IN {tuple(_AUTH)} THEN (CASE status {auth} END) "
        f"WHEN operation <> '' THEN (CASE status {matched} ELSE '{Reason.OK}' END) "
        f"ELSE (CASE status {unmatched} ELSE '{Reason.OK}' END) END"
    )


def combined_source(index: int, log: LogInput, options: ReadOptions, policy: dict[str, Any] | None) -> str:
    lines = raw_lines(log, f"rejects_{index}", options.max_line_bytes)
    extracted = f"SELECT regexp_extract(line, {literal(_PATTERN)}, {_FIELDS}) AS m, line FROM {lines}"  # noqa: S608
    fields = f"""SELECT m.addr AS remote_addr, CASE WHEN m.user IN ('-', '') THEN '' ELSE m.user END AS client,
        m.method AS method, m.uri AS uri, split_part(m.uri, '?', 1) AS path, TRY_CAST(m.status AS INTEGER) AS status,
        coalesce(TRY_CAST(m.bytes AS BIGINT), 0) AS bytes_out, TRY_CAST(substr(m.time, 13, 2) AS INTEGER) AS lh,
        epoch(try_strptime(m.time, '%d/%b/%Y:%H:%M:%S %z'))::BIGINT AS ts, m.addr = '' AS is_malformed,
        regexp_matches(line, '[\\x00-\\x08\\x0e-\\x1f]') AS is_binary
        FROM ({extracted})"""  # noqa: S608 - built from quoted literals
    routed = f"CASE WHEN status IN {tuple(_AUTH)} THEN '' ELSE {operation_case(policy)} END"
    resolved = f"SELECT *, {routed} AS operation FROM ({fields})"  # noqa: S608 - policy values are quoted
    reasoned = f"SELECT *, {_reason_case()} AS reason FROM ({resolved})"  # noqa: S608
    return f"""
    SELECT {index} AS fi, ts, lh, remote_addr, client, method, uri, path, operation,
        CASE WHEN {served()} THEN 'allow' ELSE 'deny' END AS decision,
        reason, status, bytes_out, NULL::DOUBLE AS request_time, '' AS policy_id, {_NO_SPEC_CHECK},
        CASE WHEN is_binary THEN 'binary' WHEN is_malformed THEN 'malformed' WHEN ts IS NULL THEN 'bad_time'
             {window_problem(options)}
             ELSE NULL END AS problem
    FROM ({reasoned})"""  # noqa: S608 - built from quoted literals
