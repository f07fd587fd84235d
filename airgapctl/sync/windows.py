"""Sync windows: when a route may carry calls out of the site, from calendars and operator events.

Pure functions over aware datetimes; intervals are half-open, [start, end): open at the start
instant, closed at the end. Durations are elapsed time, so a 2h window across a clock change
lasts two real hours. Every instant returned is in UTC: Python compares and adds to two
datetimes of one zone by their wall clocks, which is wrong across a clock change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airgapctl.sync.calendars import Calendar, parse_calendar

__all__ = [
    "Calendar",
    "CalendarWindow",
    "EventWindow",
    "Opening",
    "RouteState",
    "format_duration",
    "next_window",
    "open_at",
    "parse_calendar",
    "parse_duration",
    "parse_timezone",
    "route_state",
    "window_from_policy",
]

MIN_DURATION = 60
MAX_DURATION = 7 * 86400
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^([1-9][0-9]*)([smhd])$")
# How far ahead route_state follows windows that keep a route open back to back.
HORIZON = timedelta(days=366)

Interval = tuple[datetime, datetime]


def parse_duration(text: str) -> int:
    """Seconds in "90s", "30m", "2h" or "1d", from 1m to 7d; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"duration {text!r} is not a number and a unit (s, m, h or d), e.g. 30m or 2h")
    seconds = int(match[1]) * UNITS[match[2]]
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise ValueError(f"duration {text!r} is outside 1m..7d")
    return seconds


def format_duration(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA time zone of that name; ValueError for anything else (paths, unknown names)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"time zone {name!r} is not an IANA time zone name such as Europe/Berlin or UTC") from None


@dataclass(frozen=True)
class CalendarWindow:
    """Open for ``duration`` seconds from every calendar match, read in ``timezone``."""

    name: str
    calendar: Calendar
    timezone: ZoneInfo
    duration: int


@dataclass(frozen=True)
class Opening:
    """An operator's opening of an event window."""

    start: datetime
    end: datetime
    reason: str
    who: str


@dataclass(frozen=True)
class EventWindow:
    """Opened by an operator, never by a calendar, for at most ``max_duration`` seconds.

    Immutable: open and close return the new state, which the caller stores.
    """

    name: str
    max_duration: int
    opening: Opening | None = None

    def open(self, at: datetime, duration: int, reason: str, who: str) -> EventWindow:
        at = _utc(at)
        if duration <= 0:
            raise ValueError(f"event window {self.name}: a duration must be positive")
        if duration > self.max_duration:
            raise ValueError(
                f"event window {self.name}: {format_duration(duration)} is longer than its maximum, "
                f"{format_duration(self.max_duration)}"
            )
        current = self.interval(at)
        if current is not None:
            raise ValueError(f"event window {self.name} is already open until {current[1].isoformat()}; close it first")
        return replace(self, opening=Opening(at, at + timedelta(seconds=duration), reason, who))

    def close(self, at: datetime) -> EventWindow:
        """End the opening at ``at``, early; refused when the window is not open then."""
        current = self.interval(at)
        if current is None or self.opening is None:
            raise ValueError(f"event window {self.name} is not open")
        return replace(self, opening=replace(self.opening, end=_utc(at)))

    def interval(self, at: datetime) -> Interval | None:
        """The opening covering ``at``, cut at start + max_duration whatever end was stored."""
        at = _utc(at)
        if self.opening is None:
            return None
        start = _utc(self.opening.start)
        end = min(_utc(self.opening.end), start + timedelta(seconds=self.max_duration))  # fail closed
        return (start, end) if start <= at < end else None


Window = CalendarWindow | EventWindow


def window_from_policy(entry: Mapping[str, Any]) -> Window:
    """A window as policy.json's sync.windows holds it."""
    if entry["kind"] == "event":
        return EventWindow(entry["name"], entry["max_duration"])
    return CalendarWindow(
        entry["name"], parse_calendar(entry["calendar"]), parse_timezone(entry["timezone"]), entry["duration"]
    )


def starts(window: CalendarWindow, since: datetime) -> Iterator[datetime]:
    """Every start at or after ``since``, in order."""
    since = _utc(since)
    local_since = since.astimezone(window.timezone)
    # From the day before: a start on the previous local date can still be at or after ``since``
    # when it was moved forward over a gap.
    for day in window.calendar.dates(local_since.date() - timedelta(days=1)):
        for hour, minute in window.calendar.times:
            start = _local_instant(day, time(hour, minute), window.timezone)
            if start >= since:
                yield start


def next_window(window: CalendarWindow, after: datetime) -> Interval | None:
    """The first occurrence starting at or after ``after``; None when the calendar has no more."""
    start = next(starts(window, after), None)
    return None if start is None else (start, start + timedelta(seconds=window.duration))


def open_at(window: Window, at: datetime) -> Interval | None:
    """The occurrence open at ``at`` (the latest started, if several overlap), or None.

    A window that began before ``at`` counts: one that started yesterday 23:00 for 3h is open at 01:00.
    """
    if isinstance(window, EventWindow):
        return window.interval(at)
    at = _utc(at)
    length = timedelta(seconds=window.duration)
    found = None
    for start in starts(window, at - length):
        if start > at:
            break
        if start + length > at:
            found = (start, start + length)
    return found


@dataclass(frozen=True)
class RouteState:
    open: bool
    window: str | None  # the open window that stays open longest; None when closed
    open_windows: tuple[str, ...]  # every window open now, sorted
    until: datetime | None  # when the route closes, following overlapping and adjoining windows
    next_open: datetime | None  # the next opening after now (closed) or after ``until`` (open)


def route_state(route_windows: Sequence[Window], events: Mapping[str, EventWindow], at: datetime) -> RouteState:
    """Open when any of the route's windows is open (their union).

    ``events`` holds the stored state of event windows by name; the route's definition sets
    their maximum, so a stored state cannot stretch one beyond it.
    """
    at = _utc(at)
    windows = [_with_state(w, events) for w in route_windows]
    now = {w.name: iv for w in windows if (iv := open_at(w, at)) is not None}
    if not now:
        return RouteState(False, None, (), None, _next_start(windows, at))
    window = max(sorted(now), key=lambda name: now[name][1])
    until = now[window][1]
    # Follow the union: a window open at the instant another closes keeps the route open.
    while until < at + HORIZON:
        ends = [iv[1] for w in windows if (iv := open_at(w, until)) is not None]
        if not ends:
            break
        until = max(ends)
    return RouteState(True, window, tuple(sorted(now)), until, _next_start(windows, until))


def _with_state(window: Window, events: Mapping[str, EventWindow]) -> Window:
    if isinstance(window, EventWindow) and window.name in events:
        return replace(window, opening=events[window.name].opening)
    return window


def _next_start(windows: Sequence[Window], after: datetime) -> datetime | None:
    found = [iv[0] for w in windows if isinstance(w, CalendarWindow) and (iv := next_window(w, after))]
    return min(found, default=None)


def _local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time happens on a day: the first of two in an autumn overlap
    (fold=0); for a time a spring-forward gap skips, the first instant after the gap."""
    candidate = datetime.combine(day, wall, zone)
    utc = candidate.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == candidate.replace(tzinfo=None):
        return utc
    # In a gap, fold=0 reads the wall time with the offset from before the change, which puts it
    # after the change; fold=1 with the one from after, before the change. The change lies between.
    low = candidate.replace(fold=1).astimezone(UTC)
    high = utc
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("sync windows need aware datetimes (with a time zone)")
    return moment.astimezone(UTC)
