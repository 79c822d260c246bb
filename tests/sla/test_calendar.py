"""Business calendars: the tracker's example, clock changes, Easter, lunch breaks, year ends."""

from __future__ import annotations

import pickle
import time as timer
from datetime import UTC, date, datetime, timedelta

import pytest
from tests.sla.support import ALWAYS, CZ_LUNCH, CZ_OFFICE, hours, prague, shown

from helpdesk_core.errors import ConfigurationError, ValidationError
from helpdesk_core.sla import BusinessCalendar, Interval


def test_the_tracker_example_skips_christmas_holidays_and_the_weekend() -> None:
    start = prague(2026, 12, 23, 15)  # Wednesday; 24th-26th are Czech public holidays
    due = CZ_OFFICE.add(start, hours(8))
    assert shown(due) == "Mon 2026-12-28 15:00"
    assert due == datetime(2026, 12, 28, 14, 0, tzinfo=UTC)
    assert CZ_OFFICE.elapsed(start, due) == hours(8)


def test_czech_christmas_days_are_named_holidays() -> None:
    assert CZ_OFFICE.holiday_name(date(2026, 12, 24)) == "Christmas Eve"
    assert CZ_OFFICE.hours_on(date(2026, 12, 24)) == ()
    assert CZ_OFFICE.hours_on(date(2026, 12, 23)) == (Interval.parse("08:00-16:00"),)


def test_year_end_runs_over_new_year_into_the_next_year() -> None:
    # Thursday 31 December 15:00, two hours: one left on New Year's Eve, 1 January is a
    # holiday (Friday), then the weekend.
    assert shown(CZ_OFFICE.add(prague(2026, 12, 31, 15), hours(2))) == "Mon 2027-01-04 09:00"
    assert CZ_OFFICE.elapsed(prague(2026, 12, 31, 8), prague(2027, 1, 5, 8)) == hours(16)


def test_easter_good_friday_and_easter_monday_are_closed_in_czechia() -> None:
    # Easter Sunday 2026 is 5 April: Thursday 2 April 15:00 + 2 h → Tuesday 7 April 09:00.
    assert shown(CZ_OFFICE.add(prague(2026, 4, 2, 15), hours(2))) == "Tue 2026-04-07 09:00"
    assert CZ_OFFICE.holiday_name(date(2026, 4, 3)) == "Good Friday"
    assert CZ_OFFICE.holiday_name(date(2026, 4, 6)) == "Easter Monday"


def test_austria_keeps_good_friday_as_a_working_day() -> None:
    vienna = BusinessCalendar.weekly("Europe/Vienna", {"mon-fri": "08:00-16:00"}, country="AT")
    assert vienna.holiday_name(date(2026, 4, 3)) is None
    assert vienna.holiday_name(date(2026, 4, 6)) == "Easter Monday"
    assert vienna.holiday_name(date(2026, 12, 8)) == "Immaculate Conception"


def test_german_subdivisions_have_different_holidays() -> None:
    munich = BusinessCalendar.weekly("Europe/Berlin", {"mon-fri": "09:00-17:00"},
                                     country="DE", subdivision="BY")
    berlin = BusinessCalendar.weekly("Europe/Berlin", {"mon-fri": "09:00-17:00"},
                                     country="DE", subdivision="BE")
    corpus_christi = datetime(2026, 6, 4, 10, tzinfo=UTC)  # Thursday, 12:00 in Germany
    assert not munich.is_open(corpus_christi)
    assert berlin.is_open(corpus_christi)
    for city in (munich, berlin):  # Easter is everywhere
        assert city.hours_on(date(2026, 4, 3)) == ()
        assert city.hours_on(date(2026, 4, 6)) == ()
    assert munich.hours_on(date(2026, 1, 6)) == ()  # Epiphany in Bavaria only
    assert berlin.hours_on(date(2026, 1, 6)) != ()


def test_slovak_holidays() -> None:
    bratislava = BusinessCalendar.weekly("Europe/Bratislava", {"mon-fri": "08:00-16:00"},
                                         country="SK")
    assert bratislava.hours_on(date(2026, 8, 31)) != ()
    assert bratislava.holiday_name(date(2026, 1, 6)) is not None
    assert bratislava.holiday_name(date(2026, 12, 24)) == "Christmas Eve"


def test_lunch_break_is_not_business_time() -> None:
    # 11:00 + 2 h: one hour before lunch, the second after it.
    assert shown(CZ_LUNCH.add(prague(2026, 3, 4, 11), hours(2))) == "Wed 2026-03-04 13:30"
    assert CZ_LUNCH.elapsed(prague(2026, 3, 4, 11), prague(2026, 3, 4, 14)) == hours(2.5)
    assert not CZ_LUNCH.is_open(prague(2026, 3, 4, 12, 15))
    assert shown(CZ_LUNCH.next_open(prague(2026, 3, 4, 12, 15))) == "Wed 2026-03-04 12:30"
    assert CZ_LUNCH.is_open(prague(2026, 3, 4, 12, 30))
    assert not CZ_LUNCH.is_open(prague(2026, 3, 4, 12))  # a period's end is closed


def test_lunch_break_calendar_over_the_spring_clock_change() -> None:
    # Saturday 28 March 2026 11:00 CET, 3 h: 1 h on Saturday, Sunday is the change (closed),
    # 2 h on Monday in summer time.
    due = CZ_LUNCH.add(prague(2026, 3, 28, 11), hours(3))
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert shown(due) == "Mon 2026-03-30 10:00"


def test_lunch_break_calendar_over_the_autumn_clock_change() -> None:
    due = CZ_LUNCH.add(prague(2026, 10, 24, 11), hours(3))
    assert due == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert shown(due) == "Mon 2026-10-26 10:00"


def test_round_the_clock_days_are_23_and_25_hours_long_on_the_change_weekends() -> None:
    assert ALWAYS.elapsed(prague(2026, 3, 29), prague(2026, 3, 30)) == hours(23)
    assert ALWAYS.elapsed(prague(2026, 10, 25), prague(2026, 10, 26)) == hours(25)
    # Business time is real time: 24 h after Saturday noon is Sunday 13:00 summer time.
    assert shown(ALWAYS.add(prague(2026, 3, 28, 12), hours(24))) == "Sun 2026-03-29 13:00"


def test_an_interval_boundary_in_the_skipped_hour_moves_to_the_jump() -> None:
    odd = BusinessCalendar.weekly("Europe/Prague", {"sun": "01:00-02:30, 02:40-02:50"})
    sunday = date(2026, 3, 29)
    # 01:00 CET (00:00 UTC) until the clock jumps at 02:00 CET (01:00 UTC); the second
    # interval lies wholly in the skipped hour and does not exist this Sunday.
    assert list(odd.periods(prague(2026, 3, 29), prague(2026, 3, 30))) == [
        (datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC))]
    assert odd.elapsed(prague(2026, 3, 29), prague(2026, 3, 30)) == hours(1)
    assert odd.hours_on(sunday) == (Interval.parse("01:00-02:30"), Interval.parse("02:40-02:50"))
    # A week later both exist again: 1.5 h + 10 min.
    assert odd.elapsed(prague(2026, 4, 5), prague(2026, 4, 6)) == hours(1.5) + timedelta(
        minutes=10)


def test_an_interval_in_the_repeated_hour_counts_its_first_pass() -> None:
    odd = BusinessCalendar.weekly("Europe/Prague", {"sun": "02:15-02:45"})
    (start, end), = odd.periods(prague(2026, 10, 25), prague(2026, 10, 26))
    assert (start, end) == (datetime(2026, 10, 25, 0, 15, tzinfo=UTC),
                            datetime(2026, 10, 25, 0, 45, tzinfo=UTC))
    night = BusinessCalendar.weekly("Europe/Prague", {"mon-sun": "00:00-06:00, 22:00-24:00"})
    assert night.elapsed(prague(2026, 10, 25), prague(2026, 10, 26)) == hours(9)
    assert night.elapsed(prague(2026, 3, 29), prague(2026, 3, 30)) == hours(7)


def test_closed_days_and_extra_working_days() -> None:
    office = BusinessCalendar.weekly(
        "Europe/Prague", {"mon-fri": "08:00-16:00"}, country="CZ",
        closed_days=[date(2026, 12, 21)],  # a company day off (Monday)
        extra_days={date(2026, 12, 19): "09:00-13:00",  # a working Saturday
                    date(2026, 12, 24): ["08:00-11:00"]})  # Christmas Eve morning, on duty
    # Friday 18 December 15:00 + 6 h: 1 h Friday, 4 h Saturday, Monday closed, 1 h Tuesday.
    assert shown(office.add(prague(2026, 12, 18, 15), hours(6))) == "Tue 2026-12-22 09:00"
    assert office.elapsed(prague(2026, 12, 23, 8), prague(2026, 12, 28, 8)) == hours(11)
    assert office.holiday_name(date(2026, 12, 24)) == "Christmas Eve"


def test_zero_duration_from_a_closed_instant_is_the_next_opening() -> None:
    friday_evening = prague(2026, 12, 18, 17)
    assert shown(CZ_OFFICE.add(friday_evening, timedelta(0))) == "Mon 2026-12-21 08:00"
    assert CZ_OFFICE.next_open(friday_evening) == CZ_OFFICE.add(friday_evening, timedelta(0))
    assert CZ_OFFICE.next_open(prague(2026, 12, 21, 9)) == prague(2026, 12, 21, 9)
    assert shown(CZ_OFFICE.next_open(prague(2026, 12, 23, 16))) == "Mon 2026-12-28 08:00"


def test_a_duration_that_fills_a_day_ends_at_closing_time() -> None:
    assert shown(CZ_OFFICE.add(prague(2026, 12, 21, 8), hours(8))) == "Mon 2026-12-21 16:00"


def test_elapsed_is_zero_backwards_and_outside_hours() -> None:
    assert CZ_OFFICE.elapsed(prague(2026, 12, 22, 9), prague(2026, 12, 21, 9)) == timedelta(0)
    assert CZ_OFFICE.elapsed(prague(2026, 12, 24, 9), prague(2026, 12, 27, 9)) == timedelta(0)


def test_inputs_must_be_aware_and_durations_not_negative() -> None:
    with pytest.raises(ValidationError):
        CZ_OFFICE.add(datetime(2026, 12, 21, 9), hours(1))
    with pytest.raises(ValidationError):
        CZ_OFFICE.add(prague(2026, 12, 21, 9), -hours(1))
    with pytest.raises(ValidationError):
        CZ_OFFICE.is_open(datetime(2026, 12, 21, 9))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"zone": "Europe/Atlantis", "hours": {"mon": "08:00-16:00"}}, "time zone"),
        ({"zone": "UTC", "hours": {"mon": "08:00-16:00"}, "country": "XX"}, "XX"),
        ({"zone": "UTC", "hours": {"mon": "08:00-16:00"}, "country": "DE",
          "subdivision": "ZZ"}, "ZZ"),
        ({"zone": "UTC", "hours": {"mon": "08:00-12:00, 11:00-16:00"}}, "overlap"),
        ({"zone": "UTC", "hours": {"mon": "16:00-08:00"}}, "ends before"),
        ({"zone": "UTC", "hours": {"mon": "08:00-25:00"}}, "time of day"),
        ({"zone": "UTC", "hours": {"mon-fri": "08:00-16:00", "fri": "08:00-12:00"}}, "twice"),
        ({"zone": "UTC", "hours": {"fri-mon": "08:00-16:00"}}, "backwards"),
        ({"zone": "UTC", "hours": {"holiday": "08:00-16:00"}}, "weekday"),
        ({"zone": "UTC", "hours": {}}, "business hours"),
        ({"zone": "UTC", "hours": {"mon": "08:00-16:00"}, "closed_days": [date(2026, 1, 5)],
          "extra_days": {date(2026, 1, 5): "08:00-12:00"}}, "both"),
    ],
)
def test_impossible_calendars_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BusinessCalendar.weekly(**kwargs)  # type: ignore[arg-type]


# -- calendars that never open again (issue 11: accepted, then every intake failed) ----------


def test_a_calendar_open_only_on_extra_days_is_refused_when_built() -> None:
    """It would work until its last extra day and then refuse every new ticket."""
    with pytest.raises(ConfigurationError, match=r"calendar 'events' has no business hours on "
                                                 r"any weekday.*after 2026-01-05 it never opens"):
        BusinessCalendar.weekly("UTC", {}, extra_days={date(2026, 1, 5): "08:00-09:00"},
                                name="events")


@pytest.mark.parametrize("week", [{}, {"mon-fri": ""}, {"mon": [], "tue-sun": " , "}])
def test_weekly_hours_that_are_all_empty_are_refused(week: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="calendar Europe/Prague has no business hours"):
        BusinessCalendar.weekly("Europe/Prague", week,  # type: ignore[arg-type]
                                extra_days={date(2026, 1, 5): ""})


def test_a_long_closed_stretch_only_delays_the_next_opening() -> None:
    """Closed days are finite: after the last one the weekly hours count again, however long
    the closed stretch (it was refused at intake after three years)."""
    first = date(2026, 1, 1)
    closed = [first + timedelta(days=n) for n in range(4 * 366)]
    shut = BusinessCalendar.weekly("UTC", {"mon-fri": "08:00-16:00"}, closed_days=closed)
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    due = shut.add(start, hours(9))
    assert due == datetime(2030, 1, 7, 9, tzinfo=UTC)  # Fri 4 Jan 2030: 8 h, Monday: 1 h
    assert shut.elapsed(start, due) == hours(9)


def test_a_calendar_that_escaped_the_check_fails_instead_of_looping() -> None:
    """Built by an older version and unpickled, say: it fails with the reason, never loops."""
    once = BusinessCalendar.weekly("UTC", {"mon": "08:00-09:00"},
                                   extra_days={date(2026, 1, 5): "08:00-09:00"})
    restored = pickle.loads(pickle.dumps(once))
    object.__setattr__(restored, "week", ((),) * 7)
    restored._spans_memo.clear()
    assert restored.add(datetime(2026, 1, 1, tzinfo=UTC), hours(1)) == datetime(
        2026, 1, 5, 9, tzinfo=UTC)
    with pytest.raises(ConfigurationError, match="never opens again after 2026-01-05"):
        restored.add(datetime(2026, 1, 1, tzinfo=UTC), hours(2))
    with pytest.raises(ConfigurationError, match="no business hours on any weekday"):
        restored.check()


def test_24_00_is_the_end_of_the_day() -> None:
    whole = Interval.parse("00:00-24:00")
    assert whole.ends_at_midnight
    assert str(whole) == "00:00-24:00"
    with pytest.raises(ConfigurationError):
        Interval.parse("24:00-24:00")


def test_a_year_of_business_time_is_added_fast() -> None:
    start = prague(2026, 1, 5, 9)
    began = timer.perf_counter()
    due = CZ_LUNCH.add(start, hours(2200))
    took = timer.perf_counter() - began
    assert CZ_LUNCH.elapsed(start, due) == hours(2200)
    assert due.year == 2027
    assert took < 0.25, took
    began = timer.perf_counter()
    far = CZ_OFFICE.add(start, hours(8 * 250 * 10))  # about ten working years
    assert timer.perf_counter() - began < 1.0
    assert far.year >= 2035


# -- days given as text (issue: closed days as ISO strings were silently ignored) ------------


def test_closed_and_extra_days_given_as_iso_text_count_like_dates() -> None:
    as_text = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"},
                                      closed_days=["2026-06-16"],
                                      extra_days={"2026-06-20": "09:00-12:00"})
    as_dates = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"},
                                       closed_days=[date(2026, 6, 16)],
                                       extra_days={date(2026, 6, 20): "09:00-12:00"})
    assert as_text == as_dates
    assert as_text.hours_on(date(2026, 6, 16)) == ()
    assert as_text.hours_on(date(2026, 6, 20)) != ()  # a Saturday with hours


@pytest.mark.parametrize("closed", [["16.6.2026"], ["2026-06-31"], [20260616],
                                    [datetime(2026, 6, 16, tzinfo=UTC)], "2026-06-16"])
def test_a_closed_day_that_is_not_a_day_is_refused(closed: object) -> None:
    with pytest.raises(ConfigurationError):
        BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"},
                                closed_days=closed)  # type: ignore[arg-type]


# -- hours and zones in other shapes (they were AttributeError and TypeError) ----------------


def test_hours_given_as_pairs_of_times_count_like_text() -> None:
    from zoneinfo import ZoneInfo

    as_text = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-12:00, 12:30-16:30"})
    as_pairs = BusinessCalendar.weekly(ZoneInfo("Europe/Prague"),  # type: ignore[arg-type]
                                       {"mon-fri": [("08:00", "12:00"), ("12:30", "16:30")]})
    one_pair = BusinessCalendar.weekly("Europe/Prague",
                                       {"mon-fri": ("08:00", "16:30")})  # type: ignore[dict-item]
    assert as_pairs == as_text
    assert one_pair.hours_on(date(2026, 6, 15)) == (Interval.parse("08:00-16:30"),)


@pytest.mark.parametrize("hours", [[(8, 12)], [("08:00",)], [("08:00", "12:00", "13:00")],
                                   [None], 42])
def test_hours_that_are_no_interval_are_a_configuration_error(hours: object) -> None:
    with pytest.raises(ConfigurationError):
        BusinessCalendar.weekly("Europe/Prague", {"mon-fri": hours})  # type: ignore[dict-item]


@pytest.mark.parametrize("zone", [None, "", 7, "Mars/Olympus"])
def test_a_zone_that_is_no_zone_is_a_configuration_error(zone: object) -> None:
    with pytest.raises(ConfigurationError):
        BusinessCalendar.weekly(zone, {"mon-fri": "08:00-16:00"})  # type: ignore[arg-type]
