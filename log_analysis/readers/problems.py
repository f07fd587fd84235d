"""Why lines could not be used: the reasons behind the JSON reader's unparsable rows.

Only files with unparsable rows are read again, as raw text, and each bad line is given one
reason. Whole objects naming our fields (the lines the JSON reader read) are left out by their
text, cheaply, before any line is parsed; whatever is left over counts as malformed. DuckDB may
evaluate both arms of a CASE, so the JSON functions of a line that is no JSON are wrapped in try():
a cut line must be counted, not stop the run. Lines the raw reader itself refuses (over-long,
invalid UTF-8) come from its rejects table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from log_analysis.readers.combined import raw_lines
from log_analysis.readers.inputs import LogInput

if TYPE_CHECKING:
    from log_analysis.duckdb_core import duckdb

REASONS = (
    "binary",
    "truncated",
    "malformed",
    "not_an_object",
    "missing_field",
    "over_long",
    "bad_time",
    "unknown_version",  # a format version ("v") this reader does not know
    "contradictory_decision",  # the logged decision is not the one its reason implies
    "outside_window",
)
_CLASSIFY = """
SELECT CASE
    WHEN regexp_matches(line, '[\\x00-\\x08\\x0e-\\x1f]') THEN 'binary'
    WHEN kind IS NOT NULL AND kind <> 'OBJECT' THEN 'not_an_object'
    WHEN kind = 'OBJECT' THEN 'missing_field'
    WHEN starts_with(ltrim(line), '{') AND NOT ends_with(rtrim(line), '}') THEN 'truncated'
    ELSE 'malformed' END AS reason, count(*) AS lines
FROM (SELECT line, CASE WHEN json_valid(line) THEN try(json_type(line)) END AS kind
      FROM (SELECT line FROM %s
            WHERE trim(line) <> '' AND NOT (starts_with(line, '{') AND ends_with(rtrim(line), '}')
                  AND (contains(line, '"time"') OR contains(line, '"uri"') OR contains(line, '"status"')))))
GROUP BY ALL
"""


def classify_unparsable(
    con: duckdb.DuckDBPyConnection, index: int, log: LogInput, unparsable: int, max_line_bytes: int
) -> dict[str, int]:
    """Split ``unparsable`` lines of one JSON file into reasons; whatever is left over counts as malformed."""
    table = f"raw_rejects_{index}"
    counts: dict[str, int] = {}
    for reason, lines in con.execute(_CLASSIFY % raw_lines(log, table, max_line_bytes)).fetchall():
        counts[reason] = counts.get(reason, 0) + int(lines)
    counts_from_rejects(con, table, counts)
    found = sum(counts.values())
    if found < unparsable:
        counts["malformed"] = counts.get("malformed", 0) + unparsable - found
    elif found > unparsable:  # over-long lines the JSON reader still parsed were counted there already
        counts["over_long"] = max(0, counts.get("over_long", 0) - (found - unparsable))
    return {reason: lines for reason, lines in counts.items() if lines}


def counts_from_rejects(con: duckdb.DuckDBPyConnection, table: str, counts: dict[str, int]) -> None:
    """Add the raw reader's refusals: over-long lines and undecodable bytes."""
    from log_analysis.duckdb_core import duckdb

    try:
        query = f"SELECT error_type::VARCHAR, count(*) FROM {table} GROUP BY ALL"  # noqa: S608 - a table we named
        rows = con.execute(query).fetchall()
    except duckdb.CatalogException:
        return
    for error_type, lines in rows:
        reason = "over_long" if error_type == "LINE SIZE OVER MAXIMUM" else "binary"
        counts[reason] = counts.get(reason, 0) + int(lines)
