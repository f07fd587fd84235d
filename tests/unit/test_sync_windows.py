"""Sync windows: calendar starts in their zone, clock changes, union of windows, operator events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airgapctl.sync.windows import (
    CalendarWindow,
    EventWindow,
    next_window,
    open_at,
    parse_calendar,
    parse_duration,
    parse_timezone,
    route_state,
    window_from_policy,
)

H = 3600


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def local(zone, *parts, fold=0):
    return datetime(*parts, tzinfo=ZoneInfo(zone), fold=fold)


def window(expr, zone="UTC", duration=H, name="w"):
    return CalendarWindow(name, parse_calendar(expr), parse_timezone(zone), duration)


def starts(win, after, count):
    found = []
    for _ in range(count):
        start, _end = next_window(win, after)
        found.append(start)
        after = start + timedelta(seconds=1)
    return found


# --- calendar expressions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "times", "weekdays", "days"),
    [
        ("*-*-* 02:00", ((2, 0),), None, None),
        ("Mon..Fri *-*-* 22:30", ((22, 30),), frozenset(range(5)), None),
        ("Sat,Sun *-*-* 01,13:00,45", ((1, 0), (1, 45), (13, 0), (13, 45)), frozenset({5, 6}), None),
        ("*-*-01 09:00", ((9, 0),), None, frozenset({1})),
        ("Mon,Wed..Fri 2026-*-1..3,15 08..09:00", ((8, 0), (9, 0)), frozenset({0, 2, 3, 4}), frozenset({1, 2, 3, 15})),
        ("monday *-*-* 00:00", ((0, 0),), frozenset({0}), None),
    ],
)
def test_calendar_subset_parses(expr, times, weekdays, days):
    calendar = parse_calendar(expr)
    assert (calendar.times, calendar.weekdays, calendar.days) == (times, weekdays, days)


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("daily", "is not of the form"),
        ("*-*-* 02:00:00", "is not of the form"),
        ("*-*-* 24:00", "hour '24' is outside 0..23"),
        ("*-13-* 02:00", "month '13' is outside 1..12"),
        ("*-*-5..1 02:00", "running backwards"),
        ("26-*-* 02:00", "year '26' is not a number"),
        ("Fri..Mon *-*-* 02:00", "runs backwards"),
        ("Mo *-*-* 02:00", "weekday 'Mo' is not one of"),
        ("*-02-30 10:00", "matches no date"),
        ("*-*-*/2 10:00", "is not of the form"),
    ],
)
def test_calendar_errors_say_what_and_the_accepted_form(expr, fragment):
    with pytest.raises(ValueError, match="calendar") as exc:
        parse_calendar(expr)
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)
    if "matches no date" not in fragment:
        assert "[DOW ]YYYY-MM-DD HH:MM" in str(exc.value)


def test_durations():
    assert [parse_duration(t) for t in ("60s", "30m", "2h", "7d")] == [60, 1800, 7200, 604800]
    for text, fragment in (("59s", "outside 1m..7d"), ("8d", "outside 1m..7d"), ("1h30m", "not a number and a unit")):
        with pytest.raises(ValueError, match=fragment):
            parse_duration(text)


def test_time_zones_must_be_iana_names():
    assert str(parse_timezone("Asia/Kathmandu")) == "Asia/Kathmandu"
    for name in ("Mars/Olympus", "/etc/localtime", "../zoneinfo/UTC"):
        with pytest.raises(ValueError, match="not an IANA time zone name"):
            parse_timezone(name)


# --- starts in the window's zone ------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", utc(2026, 1, 15, 1, 0)),  # CET, +01:00
        ("Europe/Berlin", utc(2026, 7, 15, 0, 0)),  # CEST, +02:00
        ("America/New_York", utc(2026, 1, 15, 7, 0)),  # EST, -05:00
        ("America/New_York", utc(2026, 7, 15, 6, 0)),  # EDT, -04:00
        ("UTC", utc(2026, 1, 15, 2, 0)),
        ("Asia/Kathmandu", utc(2026, 1, 14, 20, 15)),  # +05:45: the previous UTC day
    ],
)
def test_starts_are_read_in_the_windows_zone(zone, start):
    day = start.astimezone(ZoneInfo(zone)).date()
    after = local(zone, day.year, day.month, day.day, 0, 0)
    assert next_window(window("*-*-* 02:00", zone), after) == (start, start + timedelta(hours=1))
    assert next_window(window("*-*-* 02:00", zone), start) == (start, start + timedelta(hours=1))  # inclusive


def test_spring_forward_start_in_the_gap_is_the_first_instant_after_it():
    # Europe/Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    win = window("*-*-* 02:30", "Europe/Berlin", 2 * H)
    start, end = next_window(win, local("Europe/Berlin", 2026, 3, 29, 0, 0))
    assert start == local("Europe/Berlin", 2026, 3, 29, 3, 0) == utc(2026, 3, 29, 1, 0)
    assert end - start == timedelta(hours=2)
    assert next_window(win, end)[0] == local("Europe/Berlin", 2026, 3, 30, 2, 30)
    # America/New_York 2026-03-08: 02:00 EST becomes 03:00 EDT.
    win = window("*-*-* 02:30", "America/New_York")
    assert next_window(win, utc(2026, 3, 8, 0, 0))[0] == local("America/New_York", 2026, 3, 8, 3, 0)
    assert open_at(win, utc(2026, 3, 8, 6, 59)) is None
    assert open_at(win, utc(2026, 3, 8, 7, 0)) == (utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 8, 0))


def test_fall_back_start_that_happens_twice_opens_once_at_the_first():
    # Europe/Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    win = window("*-*-* 02:30", "Europe/Berlin", H)
    # Python never finds a time of the repeated hour equal to one of another zone: compare in UTC.
    first = local("Europe/Berlin", 2026, 10, 25, 2, 30, fold=0).astimezone(UTC)
    assert first == utc(2026, 10, 25, 0, 30)
    after = local("Europe/Berlin", 2026, 10, 25, 0, 0)
    assert starts(win, after, 2) == [first, local("Europe/Berlin", 2026, 10, 26, 2, 30)]
    second = local("Europe/Berlin", 2026, 10, 25, 2, 30, fold=1)  # 01:30Z, one hour later
    assert open_at(win, second) is None
    assert open_at(win, utc(2026, 10, 25, 1, 45)) is None
    assert open_at(win, utc(2026, 10, 25, 1, 0)) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))
    # In New York the change is at 02:00 EDT -> 01:00 EST: 02:30 happens once, 01:30 twice.
    assert next_window(window("*-*-* 02:30", "America/New_York"), utc(2026, 11, 1, 0, 0))[0] == utc(2026, 11, 1, 7, 30)
    assert next_window(window("*-*-* 01:30", "America/New_York"), utc(2026, 11, 1, 0, 0))[0] == utc(2026, 11, 1, 5, 30)


def test_durations_are_elapsed_time_across_a_clock_change():
    win = window("*-*-* 01:00", "Europe/Berlin", 3 * H)
    start, end = next_window(win, utc(2026, 10, 24, 12, 0))
    assert end - start == timedelta(hours=3)
    assert end.astimezone(ZoneInfo("Europe/Berlin")).hour == 3  # wall clock 01:00 -> 03:00 CET, 3 real hours


# --- open at an instant ---------------------------------------------------------------------


def test_window_crossing_midnight_is_open_the_next_day():
    win = window("*-*-* 22:00", "Europe/Berlin", 4 * H)
    start = local("Europe/Berlin", 2026, 5, 4, 22, 0)
    assert open_at(win, local("Europe/Berlin", 2026, 5, 5, 1, 0)) == (start, start + timedelta(hours=4))
    assert open_at(win, start) is not None  # open from its start
    assert open_at(win, start + timedelta(hours=4)) is None  # closed at its end
    assert open_at(win, start - timedelta(seconds=1)) is None


def test_window_that_began_before_the_query_is_open():
    win = window("*-*-* 23:00", "UTC", 3 * H)
    assert open_at(win, utc(2026, 5, 5, 1, 0)) == (utc(2026, 5, 4, 23, 0), utc(2026, 5, 5, 2, 0))


def test_next_window_after_the_last_one_of_a_day():
    win = window("*-*-* 09,17:00", "UTC")
    assert next_window(win, utc(2026, 5, 5, 17, 30))[0] == utc(2026, 5, 6, 9, 0)
    weekdays = window("Mon..Fri *-*-* 09,17:00", "UTC")
    assert next_window(weekdays, utc(2026, 5, 8, 17, 0, 1))[0] == utc(2026, 5, 11, 9, 0)  # Friday -> Monday


def test_weekday_lists_and_ranges():
    after = utc(2026, 6, 1, 0, 0)  # a Monday
    assert [s.weekday() for s in starts(window("Mon,Wed,Fri *-*-* 12:00"), after, 4)] == [0, 2, 4, 0]
    assert [s.weekday() for s in starts(window("Sat,Sun *-*-* 12:00"), after, 3)] == [5, 6, 5]
    assert [s.weekday() for s in starts(window("Tue..Thu *-*-* 12:00"), after, 4)] == [1, 2, 3, 1]


def test_month_day_windows_skip_months_without_that_day():
    found = starts(window("*-*-31 12:00"), utc(2026, 1, 1), 7)
    assert [(s.month, s.day) for s in found] == [(1, 31), (3, 31), (5, 31), (7, 31), (8, 31), (10, 31), (12, 31)]
    assert next_window(window("*-02-29 00:00"), utc(2026, 1, 1))[0] == utc(2028, 2, 29)
    assert next_window(window("*-*-01 09:00", "Europe/Berlin"), utc(2026, 5, 2))[0] == utc(2026, 6, 1, 7, 0)


def test_a_calendar_of_past_years_has_no_next_window():
    win = window("2025-01-01 00:00")
    assert next_window(win, utc(2026, 1, 1)) is None
    assert open_at(win, utc(2026, 1, 1)) is None
    assert open_at(win, utc(2025, 1, 1, 0, 30)) == (utc(2025, 1, 1), utc(2025, 1, 1, 1))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        open_at(window("*-*-* 02:00"), datetime(2026, 1, 1))


# --- routes: the union of their windows -----------------------------------------------------


def test_overlapping_windows_of_a_route_are_open_as_their_union():
    late = window("*-*-* 22:00", "UTC", 4 * H, name="late")
    early = window("*-*-* 01:00", "UTC", 3 * H, name="early")
    state = route_state([late, early], {}, utc(2026, 5, 4, 23, 0))
    assert (state.open, state.window, state.open_windows) == (True, "late", ("late",))
    assert state.until == utc(2026, 5, 5, 4, 0)  # late closes at 02:00, early keeps it open to 04:00
    assert state.next_open == utc(2026, 5, 5, 22, 0)
    both = route_state([late, early], {}, utc(2026, 5, 5, 1, 30))
    assert (both.window, both.open_windows, both.until) == ("early", ("early", "late"), utc(2026, 5, 5, 4, 0))
    closed = route_state([late, early], {}, utc(2026, 5, 5, 12, 0))
    assert (closed.open, closed.window, closed.until, closed.next_open) == (False, None, None, utc(2026, 5, 5, 22, 0))


def test_adjoining_windows_keep_a_route_open():
    first = window("*-*-* 08:00", "UTC", H, name="first")
    second = window("*-*-* 09:00", "UTC", H, name="second")
    state = route_state([first, second], {}, utc(2026, 5, 4, 8, 30))
    assert (state.until, state.next_open) == (utc(2026, 5, 4, 10, 0), utc(2026, 5, 5, 8, 0))


# --- operator event windows -----------------------------------------------------------------


AT = utc(2026, 5, 4, 10, 0)


def test_event_window_open_close_and_reopen():
    win = EventWindow("emergency", 30 * 60)
    assert win.interval(AT) is None
    opened = win.open(AT, 20 * 60, "regulator asked", "alice")
    assert opened.interval(AT + timedelta(minutes=19)) == (AT, AT + timedelta(minutes=20))
    assert opened.interval(AT + timedelta(minutes=20)) is None
    assert (opened.opening.reason, opened.opening.who) == ("regulator asked", "alice")
    with pytest.raises(ValueError, match="already open until"):
        opened.open(AT + timedelta(minutes=5), 60, "again", "bob")
    closed = opened.close(AT + timedelta(minutes=5))
    assert closed.interval(AT + timedelta(minutes=5)) is None
    assert closed.interval(AT + timedelta(minutes=4)) is not None
    with pytest.raises(ValueError, match="emergency is not open"):
        closed.close(AT + timedelta(minutes=6))
    reopened = closed.open(AT + timedelta(minutes=6), 10 * 60, "second try", "bob")
    assert open_at(reopened, AT + timedelta(minutes=10)) == (AT + timedelta(minutes=6), AT + timedelta(minutes=16))


def test_event_window_refuses_more_than_its_maximum():
    with pytest.raises(ValueError) as exc:
        EventWindow("emergency", 30 * 60).open(AT, 31 * 60, "long", "alice")
    assert str(exc.value) == "event window emergency: 31m is longer than its maximum, 30m"
    with pytest.raises(ValueError, match="positive"):
        EventWindow("emergency", 30 * 60).open(AT, 0, "none", "alice")


def test_event_window_past_its_maximum_is_closed_from_start_plus_maximum():
    win = EventWindow("emergency", 30 * 60).open(AT, 30 * 60, "ok", "alice")
    stretched = EventWindow("emergency", 30 * 60, type(win.opening)(AT, AT + timedelta(hours=5), "edited", "mallory"))
    assert stretched.interval(AT + timedelta(minutes=29)) == (AT, AT + timedelta(minutes=30))
    assert stretched.interval(AT + timedelta(minutes=30)) is None
    # The route's definition sets the maximum, whatever the stored state says.
    stored = EventWindow("emergency", 7 * 86400, stretched.opening)
    state = route_state([EventWindow("emergency", 30 * 60)], {"emergency": stored}, AT + timedelta(hours=1))
    assert not state.open
    state = route_state([EventWindow("emergency", 30 * 60)], {"emergency": stored}, AT + timedelta(minutes=10))
    assert (state.open, state.window, state.until) == (True, "emergency", AT + timedelta(minutes=30))


def test_event_and_calendar_windows_of_one_route():
    nightly = window("*-*-* 02:00", "UTC", 2 * H, name="nightly")
    emergency = EventWindow("emergency", 30 * 60)
    events = {"emergency": emergency.open(utc(2026, 5, 4, 1, 45), 30 * 60, "late report", "alice")}
    state = route_state([nightly, emergency], events, utc(2026, 5, 4, 1, 50))
    assert (state.window, state.until, state.next_open) == ("emergency", utc(2026, 5, 4, 4, 0), utc(2026, 5, 5, 2))
    assert not route_state([nightly, emergency], {}, utc(2026, 5, 4, 1, 50)).open


def test_windows_from_the_policy():
    cal = window_from_policy(
        {"name": "n", "kind": "calendar", "calendar": "*-*-* 02:00", "timezone": "UTC", "duration": 60}
    )
    assert isinstance(cal, CalendarWindow) and cal.duration == 60
    assert window_from_policy({"name": "e", "kind": "event", "max_duration": 1800}) == EventWindow("e", 1800)


# --- property: open_at agrees with a minute-by-minute scan ----------------------------------

EXPRESSIONS = (
    "*-*-* 02:30",
    "*-*-* 22:00",
    "Mon..Fri *-*-* 22:30",
    "Sat,Sun *-*-* 01,13:00,45",
    "*-*-31 12:00",
    "*-*-01 09:00",
    "*-*-* *:00",
    "*-3,10,11-* 1..3:30",
)
ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kathmandu", "Australia/Lord_Howe")
# Clock changes in 2026, where a scan and the arithmetic are most likely to disagree.
CHANGES = (utc(2026, 3, 29, 1), utc(2026, 10, 25, 1), utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), utc(2026, 4, 4, 15))


def scanned_open(expr, zone, duration, at):
    """Open when some UTC minute in (at - duration, at] is a start, found by walking the wall clock:
    a minute whose wall time matches (the first time it is shown), or the first minute after a
    gap that skipped a matching wall time."""
    calendar, tz = parse_calendar(expr), ZoneInfo(zone)
    minute = timedelta(minutes=1)
    moment = (at - timedelta(seconds=duration)).replace(second=0, microsecond=0)
    previous = (moment - minute).astimezone(tz).replace(tzinfo=None)
    while moment <= at:
        wall = moment.astimezone(tz)
        naive = wall.replace(tzinfo=None)
        shown = []
        if naive > previous:  # a wall clock run backwards shows times a second time: no new starts
            step = previous + minute
            while step <= naive:
                shown.append(step)
                step += minute
        previous = max(previous, naive)
        if moment > at - timedelta(seconds=duration) and any(
            calendar.matches(w.date()) and (w.hour, w.minute) in calendar.times for w in shown
        ):
            return True
        moment += minute
    return False


@settings(max_examples=150, deadline=None)
@given(
    expr=st.sampled_from(EXPRESSIONS),
    zone=st.sampled_from(ZONES),
    duration=st.sampled_from((60, 30 * 60, 2 * H, 4 * H, 86400, 3 * 86400, 7 * 86400)),
    at=st.one_of(
        st.builds(lambda c, s: c + timedelta(seconds=s), st.sampled_from(CHANGES), st.integers(-4 * 86400, 4 * 86400)),
        st.builds(lambda s: utc(2026, 1, 1) + timedelta(seconds=s), st.integers(0, 2 * 365 * 86400)),
    ),
)
def test_open_at_agrees_with_a_minute_by_minute_scan(expr, zone, duration, at):
    assert (open_at(window(expr, zone, duration), at) is not None) == scanned_open(expr, zone, duration, at)
