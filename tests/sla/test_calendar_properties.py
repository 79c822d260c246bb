"""Properties of business-time arithmetic, over calendars with holidays, lunch breaks, night
shifts and boundaries inside the hours the clocks skip or repeat."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sla.support import ALWAYS, CZ_LUNCH, CZ_OFFICE

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.sla import BusinessCalendar

FAST = settings(max_examples=150, deadline=None)
_MICRO = timedelta(microseconds=1)

CALENDARS = [
    CZ_OFFICE,
    CZ_LUNCH,
    ALWAYS,
    BusinessCalendar.weekly("Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="DE",
                            subdivision="BY"),
    BusinessCalendar.weekly("Europe/Vienna", {"mon-thu": "07:30-12:00, 13:00-16:00",
                                              "fri": "07:30-13:00"}, country="AT"),
    # A night shift and a Sunday whose boundaries fall into the skipped or repeated hour.
    BusinessCalendar.weekly("Europe/Prague", {"mon-sat": "00:00-06:00, 22:00-24:00",
                                              "sun": "01:00-02:30, 02:40-02:50, 03:10-05:00"},
                            country="CZ"),
    BusinessCalendar.weekly("America/New_York", {"mon-fri": "01:30-02:30, 09:00-17:00"},
                            country="US"),
]

calendars = st.sampled_from(CALENDARS)
# Minute-aligned instants over four years with two clock changes each, biased towards the
# change weekends and the turn of the year.
_base = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                     timezones=st.just(UTC))
_near = st.sampled_from([datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC),
                         datetime(2026, 12, 22, tzinfo=UTC), datetime(2027, 3, 27, tzinfo=UTC),
                         datetime(2026, 3, 7, tzinfo=UTC)])
instants = st.one_of(
    _base,
    st.builds(lambda day, minutes: day + timedelta(minutes=minutes), _near,
              st.integers(0, 3 * 24 * 60)),
).map(lambda d: d.replace(second=0, microsecond=0))
durations = st.one_of(
    st.integers(0, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(0, 2500 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 10**6).map(lambda s: timedelta(seconds=s)),
)


@FAST
@given(calendars, instants, instants, durations)
def test_add_is_monotonic_in_the_start(calendar: BusinessCalendar, a: datetime, b: datetime,
                                       duration: timedelta) -> None:
    early, late = sorted((a, b))
    assert calendar.add(early, duration) <= calendar.add(late, duration)


@FAST
@given(calendars, instants, durations, durations)
def test_add_is_monotonic_in_the_duration(calendar: BusinessCalendar, start: datetime,
                                          d1: timedelta, d2: timedelta) -> None:
    short, long = sorted((d1, d2))
    assert calendar.add(start, short) <= calendar.add(start, long)


@FAST
@given(calendars, instants, durations)
def test_elapsed_undoes_add(calendar: BusinessCalendar, start: datetime,
                            duration: timedelta) -> None:
    assert calendar.elapsed(start, calendar.add(start, duration)) == duration


@FAST
@given(calendars, instants, durations.filter(lambda d: d > timedelta(0)))
def test_a_positive_duration_lands_inside_business_hours(
        calendar: BusinessCalendar, start: datetime, duration: timedelta) -> None:
    due = calendar.add(start, duration)
    # The instant just before the due instant is business time: due is in a period or at its
    # closing instant.
    assert calendar.is_open(due - _MICRO)
    assert calendar.elapsed(due - _MICRO, due) == _MICRO
    assert due > start


@FAST
@given(calendars, instants)
def test_zero_duration_gives_the_next_opening(calendar: BusinessCalendar,
                                              start: datetime) -> None:
    opening = calendar.add(start, timedelta(0))
    assert opening == calendar.next_open(start)
    assert calendar.is_open(opening)
    assert calendar.elapsed(start, opening) == timedelta(0)
    if calendar.is_open(start):
        assert opening == start
    else:
        assert opening > start
        assert not calendar.is_open(opening - _MICRO) or calendar.elapsed(
            start, opening) == timedelta(0)


@FAST
@given(calendars, instants, instants, instants)
def test_elapsed_adds_up_over_consecutive_stretches(calendar: BusinessCalendar, a: datetime,
                                                    b: datetime, c: datetime) -> None:
    first, middle, last = sorted((a, b, c))
    assert calendar.elapsed(first, last) == (calendar.elapsed(first, middle)
                                             + calendar.elapsed(middle, last))
    assert calendar.elapsed(first, last) <= last - first


@FAST
@given(instants, durations)
def test_round_the_clock_business_time_is_real_time(start: datetime,
                                                    duration: timedelta) -> None:
    assert ALWAYS.add(start, duration) == start + duration
    assert ALWAYS.elapsed(start, start + duration) == duration


# -- every calendar accepted when built finds a deadline (issue 11) -------------------------
# A calendar open only on extra days was accepted and then refused every ticket at intake once
# they had passed; one closed for more than three years in a row failed the same way.


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _spec(points: list[int]) -> str:
    """Sorted distinct minutes of the day, paired into intervals: ``08:00-12:00, 13:00-24:00``."""
    pairs = zip(points[::2], points[1::2], strict=False)
    return ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in pairs)


_day_hours = st.one_of(
    st.just(""),
    st.lists(st.integers(0, 24 * 60).map(lambda m: m - m % 10), min_size=2, max_size=6,
             unique=True).map(sorted).map(lambda p: _spec(p[: len(p) // 2 * 2])),
)
_weeks = st.lists(_day_hours, min_size=7, max_size=7).map(
    lambda days: {day: hours for day, hours in zip(("mon", "tue", "wed", "thu", "fri", "sat",
                                                    "sun"), days, strict=True) if hours})
_ranges = st.lists(st.tuples(st.dates(date(2000, 1, 1), date(2099, 1, 1)),
                             st.integers(0, 1500)), max_size=3)
_extra = st.dictionaries(st.dates(date(2000, 1, 1), date(2100, 1, 1)), _day_hours, max_size=3)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["UTC", "Europe/Prague", "America/New_York", "Australia/Lord_Howe"]),
       _weeks, st.sampled_from([None, "CZ", "US"]), _ranges, _extra,
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                    timezones=st.just(UTC)),
       st.none() | st.integers(0, 1600 * 24 * 60),
       st.integers(0, 400 * 60).map(lambda m: timedelta(minutes=m)))
def test_a_calendar_accepted_when_built_yields_a_deadline_from_any_start(
        zone: str, week: dict[str, str], country: str | None,
        ranges: list[tuple[date, int]], extra: dict[date, str], anywhere: datetime,
        into_closed: int | None, duration: timedelta) -> None:
    """Starts anywhere in the century, or inside (or just after) a closed stretch."""
    closed = {first + timedelta(days=n) for first, length in ranges for n in range(length)}
    extra = {day: hours for day, hours in extra.items() if day not in closed}
    if not week:  # refused exactly when no weekday has hours
        with pytest.raises(ConfigurationError, match="no business hours on any weekday"):
            BusinessCalendar.weekly(zone, week, country=country, closed_days=closed,
                                    extra_days=extra)
        return
    calendar = BusinessCalendar.weekly(zone, week, country=country, closed_days=closed,
                                       extra_days=extra)
    start = anywhere
    if ranges and into_closed is not None:
        first = datetime.combine(ranges[0][0], datetime.min.time(), tzinfo=UTC)
        start = first + timedelta(minutes=into_closed)
    due = calendar.add(start, duration)
    assert due >= start
    assert calendar.elapsed(start, due) == duration
    if duration:
        assert calendar.is_open(due - _MICRO)
