"""Calendar expressions of sync windows: a subset of systemd.time's, ``[DOW ]YYYY-MM-DD HH:MM``."""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

ACCEPTED_FORM = (
    "[DOW ]YYYY-MM-DD HH:MM, each field a number, '*', a list (1,15) or a range (1..5), "
    'DOW names such as Mon..Fri or Sat,Sun, e.g. "Mon..Fri *-*-* 22:30" or "*-*-01 09:00"'
)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Long names are accepted too, as systemd does ("Monday").
_LONG_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FIELD = r"[0-9*.,]+"
_SHAPE = re.compile(
    rf"^(?:(?P<dow>[A-Za-z.,]+)\s+)?(?P<y>{_FIELD})-(?P<mo>{_FIELD})-(?P<d>{_FIELD})\s+(?P<h>{_FIELD}):(?P<mi>{_FIELD})$"
)
# The weekday and date fields repeat every 400 years (the Gregorian cycle): a search that finds
# nothing in that span finds nothing ever.
CYCLE_YEARS = 400


@dataclass(frozen=True)
class Calendar:
    """When a window starts: None for a field written '*' (any value)."""

    expression: str
    weekdays: frozenset[int] | None  # 0 is Monday, as date.weekday()
    years: frozenset[int] | None
    months: frozenset[int] | None
    days: frozenset[int] | None
    times: tuple[tuple[int, int], ...]  # (hour, minute), sorted

    def matches(self, day: date) -> bool:
        return all(
            values is None or value in values
            for values, value in (
                (self.weekdays, day.weekday()),
                (self.years, day.year),
                (self.months, day.month),
                (self.days, day.day),
            )
        )

    def dates(self, first: date) -> Iterator[date]:
        """Every matching date from ``first`` on, in order; ends when no later date can match."""
        if self.years is None:
            years: list[int] = list(range(first.year, min(first.year + CYCLE_YEARS, 9999) + 1))
        else:
            years = sorted(y for y in self.years if y >= first.year)
        for year in years:
            for month in sorted(self.months) if self.months is not None else range(1, 13):
                last = monthrange(year, month)[1]
                for day in sorted(self.days) if self.days is not None else range(1, last + 1):
                    if day > last:  # *-*-31 skips the months without a 31st
                        continue
                    candidate = date(year, month, day)
                    if candidate >= first and self.matches(candidate):
                        yield candidate


def parse_calendar(expression: str) -> Calendar:
    """Parse a calendar expression; a ValueError says what is wrong and the accepted form."""
    match = _SHAPE.match(expression.strip())
    if not match:
        raise ValueError(f"calendar {expression!r} is not of the form {ACCEPTED_FORM}")
    try:
        weekdays = None if match["dow"] is None else _weekdays(match["dow"])
        years = _field(match["y"], 1970, 9999, "year", width=4)
        months = _field(match["mo"], 1, 12, "month")
        days = _field(match["d"], 1, 31, "day")
        hours = _field(match["h"], 0, 23, "hour")
        minutes = _field(match["mi"], 0, 59, "minute")
    except ValueError as error:
        raise ValueError(f"calendar {expression!r}: {error}; the accepted form is {ACCEPTED_FORM}") from None
    hour_values = sorted(hours) if hours is not None else range(24)
    minute_values = sorted(minutes) if minutes is not None else range(60)
    times = tuple((h, m) for h in hour_values for m in minute_values)
    calendar = Calendar(expression, weekdays, years, months, days, times)
    if next(calendar.dates(date(min(years) if years else 2000, 1, 1)), None) is None:
        raise ValueError(f"calendar {expression!r} matches no date (such as 02-30, or weekdays its dates miss)")
    return calendar


def _field(text: str, low: int, high: int, what: str, width: int | None = None) -> frozenset[int] | None:
    if text == "*":
        return None
    values: set[int] = set()
    for item in text.split(","):
        first, dots, last = item.partition("..")
        for part in (first, last) if dots else (first,):
            if not part.isdigit() or (width and len(part) != width):
                raise ValueError(f"{what} {item!r} is not a number, '*', a list or a range a..b")
        start, end = int(first), int(last if dots else first)
        if not low <= start <= end <= high:
            raise ValueError(f"{what} {item!r} is outside {low}..{high} (or a range running backwards)")
        values.update(range(start, end + 1))
    return frozenset(values)


def _weekdays(text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        first, dots, last = item.partition("..")
        start, end = _day_number(first), _day_number(last if dots else first)
        if end < start:
            raise ValueError(f"weekday range {item!r} runs backwards (write Sat,Sun rather than Sat..Sun wrapping)")
        values.update(range(start, end + 1))
    return frozenset(values)


def _day_number(name: str) -> int:
    lowered = name.lower()
    if lowered in DAY_NAMES:
        return DAY_NAMES.index(lowered)
    if lowered in _LONG_NAMES:
        return _LONG_NAMES.index(lowered)
    raise ValueError(f"weekday {name!r} is not one of Mon Tue Wed Thu Fri Sat Sun")
