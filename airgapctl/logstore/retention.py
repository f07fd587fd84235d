"""Retention: days older than the retention are deleted, and every run that deletes any says so in
one ``store.expired`` event (the store's own record of the policy acting).

The event is emitted before the first file goes, so that it is at least in the events spool when
anything is deleted; a run whose event neither the collector nor the spool took deletes nothing
(the next run tries again). With events off the days are deleted unrecorded but for the run's
own output, which names each.

A day's age is today (UTC) minus the date in its name; a file goes once its age exceeds the
retention, so ``--retention-days 90`` keeps today and the 90 days before it. 0 keeps every day.
Only day-named files are deleted (airgapctl.logstore.layout): a file the store does not name is
never touched, whatever its age.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from airgapctl.errors import AirgapError
from airgapctl.events import Settings, emit
from airgapctl.logstore.layout import DayFile, Note, Scan
from airgapctl.output import progress

EVENT = "store.expired"


@dataclass(frozen=True)
class Expired:
    path: str  # below the store's root
    stream: str
    day: str
    bytes: int


@dataclass
class Expiry:
    retention_days: int
    files: list[Expired] = field(default_factory=list)
    failed: list[Note] = field(default_factory=list)
    bytes: int = 0
    # Nothing was deleted: the run's store.expired event could not be recorded.
    error: str | None = None


def expired_days(found: Scan, today: dt.date, days: int) -> list[DayFile]:
    """The days of ``found`` older than a retention of ``days`` (none for 0: kept forever)."""
    if days == 0:
        return []
    return [item for item in found.days if (today - item.day).days > days]


def expire(
    found: Scan, today: dt.date, days: int, *, dry_run: bool = False, settings: Settings | None = None
) -> Expiry:
    """Record, then delete the expired days (only name them in a dry run)."""
    result = Expiry(days)
    due = expired_days(found, today, days)
    if due and not dry_run:
        result.error = _record(due, days, settings)
        if result.error is not None:
            return result
    for item in due:
        if not dry_run:
            try:
                os.unlink(item.path)
            except FileNotFoundError:  # gone meanwhile: nothing of ours was deleted
                continue
            except OSError as error:
                result.failed.append(Note(item.name, error.strerror or str(error)))
                continue
        result.files.append(Expired(item.name, item.stream, item.day.isoformat(), item.size))
        result.bytes += item.size
    return result


def event_fields(items: list[DayFile], retention_days: int) -> dict[str, Any]:
    """The store.expired event's fields for the days about to be deleted."""
    days = sorted(item.day.isoformat() for item in items)
    return {
        "files": len(items),
        "bytes": sum(item.size for item in items),
        "oldest": days[0],
        "newest": days[-1],
        "streams": sorted({item.stream for item in items}),
        "retention_days": retention_days,
    }


def _record(items: list[DayFile], retention_days: int, settings: Settings | None) -> str | None:
    """Emit the store.expired event; None when delivered, spooled or events are off, else the problem."""
    try:
        outcome = emit(EVENT, event_fields(items, retention_days), settings=settings)
    except AirgapError as error:
        return (
            f"not deleting {len(items)} file(s) past the retention: the {EVENT} event was neither delivered"
            f" nor spooled ({error.message}); the next run tries again"
        )
    for warning in outcome.warnings if outcome else ():
        progress(f"warning: {warning}")
    return None
