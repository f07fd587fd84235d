"""Which access log lines are the gateway self-test's own: the request ids of its record.

After each deploy the self-test sends the policy's negative cases (unknown paths, wrong methods,
deprecated operations) to the live gateway as real policy clients; judged, they would be reported as
probing and zombie routes every time. ``airgapctl gateway selftest --record`` writes down the id the
gateway gave each request (airgapctl.contracts.selftest_record), and the JSON reader marks lines with
those ids 'selftest': counted, never judged, never learned, never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airgapctl.contracts import selftest_record
from airgapctl.errors import BadInputError

DEFAULT_RECORD = selftest_record.DEFAULT_PATH


@dataclass(frozen=True)
class SelftestRequests:
    record: Path | None  # the record read; None when there was none
    requests: tuple[tuple[float, str], ...] = ()  # (epoch seconds, request id), oldest first
    notes: tuple[str, ...] = ()


def selftest_requests(option: Path | None) -> SelftestRequests:
    """The record --selftest-record names, else DEFAULT_RECORD when it exists.

    A record named explicitly must be readable; the default one that cannot be read is a note: the
    run goes on, judging the self-test's requests as any client's, and says so."""
    if option is None and not DEFAULT_RECORD.exists():
        return SelftestRequests(None)
    path = option if option is not None else DEFAULT_RECORD
    try:
        requests, unreadable = selftest_record.load(path)
    except OSError as error:
        why = error.strerror or str(error)
        if option is not None:
            raise BadInputError(
                f"--selftest-record {path}: cannot read: {why}",
                hint="give the file 'airgapctl gateway selftest --record' writes, readable by the audit's user",
            ) from None
        return SelftestRequests(
            None,
            notes=(f"the gateway self-test's record {path} could not be read ({why}): its requests were judged",),
        )
    notes = (f"{path}: {unreadable:,} line(s) name no request id or time and were ignored",) if unreadable else ()
    return SelftestRequests(path, tuple(requests), notes)
