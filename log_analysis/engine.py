"""The DuckDB side of a run: one connection, set up for bounded memory, and the scan with progress.

DuckDB is imported when a connection is made, not with this module: a run that finds nothing new
to read never loads it, and a daily run copies the new part of its log while it loads.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgapctl.errors import BadInputError
from airgapctl.progress import NO_PROGRESS, Reporter
from log_analysis.aggregates import AuditData, aggregate
from log_analysis.model import FileStats
from log_analysis.readers import LogInput, ReadOptions, events_sql
from log_analysis.readers.inputs import COMBINED, JSON, gzip_intact, salvage_gzip
from log_analysis.readers.problems import classify_unparsable, counts_from_rejects
from log_analysis.readers.sql import SELFTEST_TABLE

if TYPE_CHECKING:
    from log_analysis.duckdb_core import duckdb


@dataclass(frozen=True)
class EngineOptions:
    threads: int = os.cpu_count() or 2
    memory_limit: str = "512MB"  # DuckDB spills to a temporary directory beyond this


@dataclass
class Engine:
    con: duckdb.DuckDBPyConnection
    work_dir: Path  # DuckDB's spill files and salvaged copies of damaged gzip files


@contextmanager
def work_directory() -> Iterator[Path]:
    """A run's scratch directory, removed afterwards; its ``salvaged`` folder takes the copies the
    run reads (a log's new part, the readable part of a damaged gzip file)."""
    with tempfile.TemporaryDirectory(prefix="airgapctl-audit-") as work:
        (Path(work) / "salvaged").mkdir()
        yield Path(work)


@contextmanager
def engine(options: EngineOptions, work: Path | None = None) -> Iterator[Engine]:
    """A connection spilling into ``work`` (a work_directory; a new one when None)."""
    if work is None:
        with work_directory() as made, engine(options, made) as eng:
            yield eng
        return
    from log_analysis.duckdb_core import duckdb

    con = duckdb.connect(
        config={
            "threads": options.threads,
            "memory_limit": options.memory_limit,
            "temp_directory": str(work / "spill"),
            "preserve_insertion_order": False,
        }
    )
    # Progress is tracked (query_progress feeds our bar on stderr) but DuckDB never prints its own.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    try:
        yield Engine(con, work / "salvaged")
    finally:
        con.close()


def scan(
    eng: Engine,
    inputs: list[LogInput],
    read: ReadOptions,
    policy: dict[str, Any] | None,
    progress: Reporter = NO_PROGRESS,
    label: str = "logs",
) -> tuple[AuditData, list[FileStats]]:
    """Aggregate every input in one pass; then count each file's lines by problem.

    A damaged gzip file (cut off by rotation, or corrupt) is read from a plain copy of its readable
    beginning, and its counts say so, so one damaged rotation never stops the audit. DuckDB either
    fails on one (a broken header) or reads it up to the damage without a word, leaving a cut line
    behind: files with an unparsable line are inflated once more here, and read again from the copy
    when damaged. Combined logs cannot show a cut line (their pattern ends at the byte count), so
    their gzip files are checked before the scan.
    """
    from log_analysis.duckdb_core import duckdb

    read = _selftest_in_span(read, inputs)
    _selftest_table(eng.con, read)
    _salvage(eng, inputs, progress, lambda index, log: log.format == COMBINED and not gzip_intact(log.path))
    try:
        data = _scan_once(eng, inputs, read, policy, progress, label)
    except duckdb.Error as error:
        if not _salvage(eng, inputs, progress, lambda index, log: True):
            raise BadInputError(
                f"reading the logs failed: {' '.join(str(error).split())[:300]}", hint="check the files named in --logs"
            ) from None
        data = _scan_once(eng, inputs, read, policy, progress, label, last_try=True)
    suspects = {row[0] for row in data.files if row[1] == "unparsable"}
    if _salvage(eng, inputs, progress, lambda index, log: index in suspects and not gzip_intact(log.path)):
        data = _scan_once(eng, inputs, read, policy, progress, label, last_try=True)
    offsets = Counter(log.utc_offset_hours for log in inputs if log.utc_offset_hours is not None)
    data.utc_offset_hours = offsets.most_common(1)[0][0] if offsets else 0
    return data, _file_stats(eng.con, inputs, data, read)


# A self-test line is logged as its request ends, the record written once its answer came: on the
# same host, within a second of each other. An hour's margin leaves room for a clock put right.
SELFTEST_MARGIN = 3600


def _selftest_in_span(read: ReadOptions, inputs: list[LogInput]) -> ReadOptions:
    """``read`` with only the self-test requests whose lines these inputs can hold: none for combined
    logs (they carry no request id), none before the first line to read or outside --since/--until.
    A daily run that read no deploy's self-test then reads no request id at all."""
    if not read.selftest:
        return read
    if not any(log.format == JSON for log in inputs):
        return replace(read, selftest=())
    firsts = [log.first_time for log in inputs if log.format == JSON]
    known = [first for first in firsts if first is not None]
    start = min(known) if len(known) == len(firsts) else None  # a file whose first time is unknown: from any time
    if read.since is not None:
        start = read.since if start is None else max(start, read.since)
    low = -math.inf if start is None else start - SELFTEST_MARGIN
    high = math.inf if read.until is None else read.until + SELFTEST_MARGIN
    times = [when for when, _ in read.selftest]
    return replace(read, selftest=read.selftest[bisect_left(times, low) : bisect_right(times, high)])


def _selftest_table(con: duckdb.DuckDBPyConnection, read: ReadOptions) -> None:
    """The table of self-test request ids the JSON reader looks its lines' ids up in. The ids go in as
    one string (binding a list of them costs a second per 15,000); they are hex digits, never commas."""
    if read.selftest:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {SELFTEST_TABLE} AS "
            "SELECT DISTINCT unnest(string_split($ids, ',')) AS request_id",
            {"ids": ",".join(request_id for _, request_id in read.selftest)},
        )


def _salvage(eng: Engine, inputs: list[LogInput], progress: Reporter, damaged: Callable[[int, LogInput], bool]) -> bool:
    """Swap in the readable part of each gzip input ``damaged`` picks (and that is damaged indeed)."""
    swapped = False
    for index, log in enumerate(inputs):
        if not log.compressed or log.salvaged_copy is not None or not damaged(index, log):
            continue
        copy = salvage_gzip(log, eng.work_dir)
        if copy is not None:
            progress.note(f"audit: {log.path}: damaged gzip file, reading the part before the damage")
            inputs[index] = copy
            swapped = True
    return swapped


def _scan_once(
    eng: Engine,
    inputs: list[LogInput],
    read: ReadOptions,
    policy: dict[str, Any] | None,
    progress: Reporter,
    label: str,
    last_try: bool = False,
) -> AuditData:
    from log_analysis.duckdb_core import duckdb

    try:
        return _with_progress(eng.con, lambda: _aggregate(eng, inputs, read, policy), progress, label, inputs)
    except duckdb.Error as error:
        if not last_try:
            raise
        raise BadInputError(
            f"reading the logs failed: {' '.join(str(error).split())[:300]}", hint="check the files named in --logs"
        ) from None


def _aggregate(eng: Engine, inputs: list[LogInput], read: ReadOptions, policy: dict[str, Any] | None) -> AuditData:
    return aggregate(eng.con, events_sql(inputs, read, policy), policy["policy_id"] if policy else None)


def _with_progress(
    con: duckdb.DuckDBPyConnection,
    work: Callable[[], AuditData],
    progress: Reporter,
    label: str,
    inputs: list[LogInput],
) -> AuditData:
    """Run the scan with a bar over the files' bytes on disk, moved by DuckDB's own progress estimate."""
    sizes = [_size(log.source) for log in inputs]
    total = sum(sizes)
    bar = progress.bar(label, total, len(inputs), noun="files")
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.5):
            fraction = con.query_progress()  # percent, -1 while DuckDB has no estimate
            if fraction >= 0:
                read = int(min(fraction, 100.0) / 100.0 * total)
                bar.update(read, sum(1 for end in accumulate(sizes) if end <= read))

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    completed = False
    try:
        result = work()
        completed = True
        return result
    finally:
        done.set()
        watcher.join()
        if completed:
            bar.update(total, len(inputs))
        bar.close(completed)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # rotated away since it was found: the scan itself will say so
        return 0


def _file_stats(
    con: duckdb.DuckDBPyConnection, inputs: list[LogInput], data: AuditData, read: ReadOptions
) -> list[FileStats]:
    stats = [
        FileStats(str(log.path), log.format, damaged_gzip=log.salvaged_copy is not None, read_from=log.read_from)
        for log in inputs
    ]
    for index, problem, n, *rest in data.files:
        entry = stats[index]
        entry.lines += n
        if problem is None:
            entry.used += n
            entry.first, entry.last = rest[-2], rest[-1]
        elif problem == "outside_window":
            entry.outside_window += n
        elif problem == "selftest":
            entry.selftest += n
        elif problem != "unparsable":
            entry.skipped[problem] = entry.skipped.get(problem, 0) + n
    for index, problem, n, *_ in data.files:
        if problem == "unparsable" and inputs[index].format == JSON:
            for reason, lines in classify_unparsable(con, index, inputs[index], n, read.max_line_bytes).items():
                stats[index].skipped[reason] = stats[index].skipped.get(reason, 0) + lines
    for index, log in enumerate(inputs):
        if log.format != JSON:
            rejected: dict[str, int] = {}
            counts_from_rejects(con, f"rejects_{index}", rejected)
            for reason, lines in rejected.items():
                stats[index].skipped[reason] = stats[index].skipped.get(reason, 0) + lines
                stats[index].lines += lines
    return stats
