"""The staff values: working hours, absences, teams and the configuration's checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_core import ValidationError
from helpdesk_core.domain.staff import (
    Absence,
    Agent,
    HelpdeskStaff,
    Team,
    TeamStrategy,
    WeeklyInterval,
    WorkingHours,
    round_robin_pick,
    skill_match,
    unavailability,
)

MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_weekly_hours_with_a_lunch_break():
    hours = WorkingHours.weekly("UTC", {"mon-fri": "08:00-12:00, 12:30-16:30"})
    assert len(hours.intervals) == 10
    assert hours.contains(MONDAY.replace(hour=11, minute=59))
    assert not hours.contains(MONDAY.replace(hour=12, minute=15))
    assert hours.contains(MONDAY.replace(hour=12, minute=30))
    assert not hours.contains(MONDAY.replace(hour=16, minute=30))  # the end is exclusive


def test_an_overnight_shift_runs_into_the_next_day():
    hours = WorkingHours.weekly("Europe/Prague", {"sun": "22:00-06:00"})
    assert hours.intervals == (WeeklyInterval(0, 0, 360), WeeklyInterval(6, 1320, 1440))
    assert hours.contains(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))  # Monday 05:00 in Prague
    assert not hours.contains(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))


def test_day_ranges_lists_and_the_end_of_day():
    hours = WorkingHours.weekly("UTC", {"sat,sun": "00:00-24:00", "fri-mon": "10:00-11:00"})
    assert sorted({i.weekday for i in hours.intervals}) == [0, 4, 5, 6]  # fri-mon wraps
    assert WeeklyInterval(5, 0, 1440).describe() == "sat 00:00-24:00"
    assert hours.contains(datetime(2026, 3, 7, 23, 59, tzinfo=UTC))  # Saturday night
    assert hours.contains(MONDAY.replace(hour=10, minute=30))
    assert not hours.contains(MONDAY.replace(hour=9))
    assert not hours.contains(MONDAY.replace(day=3, hour=10, minute=30))  # Tuesday


@pytest.mark.parametrize("spec", [{"mon": "8-16"}, {"mon": "08:00-08:00"}, {"xyz": "08:00-16:00"},
                                  {"mon": "25:00-26:00"}, {"mon": "08:61-09:00"}])
def test_malformed_hours_are_refused(spec):
    with pytest.raises(ValidationError):
        WorkingHours.weekly("UTC", spec)


def test_an_unknown_zone_is_refused():
    with pytest.raises(ValidationError) as error:
        WorkingHours(zone="Europe/Atlantis")
    assert error.value.field == "zone"


def test_absences_need_aware_instants_and_a_positive_length():
    with pytest.raises(ValidationError):
        Absence("a", MONDAY, MONDAY)
    with pytest.raises(ValidationError):
        Absence("a", MONDAY.replace(tzinfo=None), MONDAY + timedelta(hours=1))
    away = Absence("a", MONDAY, MONDAY + timedelta(hours=1))
    assert away.covers(MONDAY)
    assert not away.covers(MONDAY + timedelta(hours=1))


def test_unavailability_gives_the_first_reason():
    agent = Agent("a", active=False)
    assert unavailability(agent, MONDAY, ()) == "inactive"
    assert unavailability(Agent("a"), MONDAY, [Absence("b", MONDAY, MONDAY + timedelta(
        hours=1))]) is None


def test_teams_take_strategies_by_name():
    assert Team("t", strategy="least_load").strategy is TeamStrategy.LEAST_LOAD
    with pytest.raises(ValueError):
        Team("t", strategy="random")


def test_the_configuration_is_checked():
    with pytest.raises(ValidationError):
        HelpdeskStaff(agents=(Agent("a"), Agent("a")))
    with pytest.raises(ValidationError):
        HelpdeskStaff(teams=(Team("t", members=("ghost",)),))
    with pytest.raises(ValidationError):
        HelpdeskStaff(teams=(Team("t"), Team("t")))
    with pytest.raises(ValidationError):
        HelpdeskStaff(helpdesk_team="nobody")
    with pytest.raises(ValidationError):
        HelpdeskStaff(chain=("incident_type", "incident_type"))
    with pytest.raises(ValidationError):
        HelpdeskStaff(chain=())
    with pytest.raises(ValidationError):
        Agent("a", skills="billing")  # a string, not a list of skills
    with pytest.raises(ValidationError):
        Agent("")


def test_skill_match_is_case_insensitive():
    agent = Agent("a", skills=("Billing",), languages=("CS",))
    assert skill_match(agent, language="cs", tags={"billing"}, incident_type="billing/refund"
                       ) == ["language:cs", "tag:billing", "incident_type:billing"]


def test_round_robin_positions_wrap_around():
    assert [round_robin_pick(["a", "b", "c"], p) for p in range(1, 8)] == list("abcabca")
