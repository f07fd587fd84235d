"""Retention: days older than the retention are deleted, and every run that deleted any says so in
one ``store.expired`` event (the store's own record of the policy acting).

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

from airgapctl.events import Settings, emit_or_warn
from airgapctl.logstore.layout import DayFile, Note, Scan

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


def expired_days(found: Scan, today: dt.date, days: int) -> list[DayFile]:
    """The days of ``found`` older than a retention of ``days`` (none for 0: kept forever)."""
    if days == 0:
        return []
    return [item for item in found.days if (today - item.day).days > days]


def expire(found: Scan, today: dt.date, days: int, *, dry_run: bool = False) -> Expiry:
    """Delete the expired days (only name them in a dry run)."""
    result = Expiry(days)
    for item in expired_days(found, today, days):
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


def event_fields(expiry: Expiry) -> dict[str, Any] | None:
    """The store.expired event's fields for what was deleted; None when nothing was."""
    if not expiry.files:
        return None
    days = sorted(item.day for item in expiry.files)
    return {
        "files": len(expiry.files),
        "bytes": expiry.bytes,
        "oldest": days[0],
        "newest": days[-1],
        "streams": sorted({item.stream for item in expiry.files}),
        "retention_days": expiry.retention_days,
    }


def record(expiry: Expiry, settings: Settings | None = None) -> None:
    """Emit the run's one store.expired event, when it deleted anything."""
    fields = event_fields(expiry)
    if fields is not None:
        emit_or_warn(EVENT, fields, settings=settings)
