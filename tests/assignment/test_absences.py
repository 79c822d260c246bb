"""Absent agents are skipped: out of office, outside their working hours, inactive — for a
person a resolver names and for the members of a team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from assign_support import AGENTS, T0, open_ticket, staff, steps, the_reason

from helpdesk_core.domain import EventKind, IncidentType
from helpdesk_core.domain.staff import Absence, Agent, WorkingHours

PRAGUE_OFFICE = WorkingHours.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"})


def with_agent(agent: Agent) -> tuple[Agent, ...]:
    return tuple(agent if a.id == agent.id else a for a in AGENTS)


def complaint_desk(make_helpdesk, **staff_changes):
    """petr is responsible for complaints, olga owns Petr's account."""
    helpdesk = make_helpdesk(staff=staff(**staff_changes))
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             responsible="petr"))
    return helpdesk


def complaint(helpdesk):
    return open_ticket(helpdesk, incident_type="complaint", customer_email="petr@example.cz")


# -- a person named by a resolver --------------------------------------------------------------


def test_a_person_out_of_office_is_skipped_and_the_chain_continues(make_helpdesk):
    helpdesk = complaint_desk(make_helpdesk, absences=(
        Absence("petr", T0 - timedelta(days=1), T0 + timedelta(days=4), "holiday"),))
    ticket = complaint(helpdesk)
    assert helpdesk.tickets.get(ticket.id).assignee == "olga"
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "account_owner"
    assert steps(reason) == ["incident_type", "account_owner"]
    assert reason["trace"][0]["answer"]["assignee"] == "petr"
    assert reason["trace"][0]["skipped"] == [
        {"agent": "petr", "why": "absent until 2026-03-06T09:00:00+00:00 (holiday)"}]


def test_an_absence_that_ended_or_has_not_begun_does_not_count(make_helpdesk, clock):
    helpdesk = complaint_desk(make_helpdesk, absences=(
        Absence("petr", T0 - timedelta(days=3), T0 - timedelta(hours=1), "sick"),
        Absence("petr", T0 + timedelta(hours=1), T0 + timedelta(days=2), "training"),))
    assert helpdesk.tickets.get(complaint(helpdesk).id).assignee == "petr"
    clock.set(T0 + timedelta(hours=1))  # the training starts now
    assert helpdesk.tickets.get(complaint(helpdesk).id).assignee == "olga"


def test_an_absence_reported_at_run_time_counts_at_once(make_helpdesk):
    helpdesk = complaint_desk(make_helpdesk)
    helpdesk.staff.directory.add_absence(Absence("petr", T0, T0 + timedelta(hours=8), "sick"))
    assert helpdesk.tickets.get(complaint(helpdesk).id).assignee == "olga"


def test_outside_working_hours_in_the_agents_own_zone(make_helpdesk, clock):
    # 15:30 UTC is inside 08:00-16:00 in UTC, but 16:30 in Prague (CET in March)
    clock.set(datetime(2026, 3, 2, 15, 30, tzinfo=UTC))
    helpdesk = complaint_desk(make_helpdesk, agents=with_agent(
        Agent("petr", "Petr", working_hours=PRAGUE_OFFICE)))
    ticket = complaint(helpdesk)
    assert helpdesk.tickets.get(ticket.id).assignee == "olga"
    assert the_reason(helpdesk, ticket)["trace"][0]["skipped"] == [
        {"agent": "petr", "why": "outside working hours (mon 16:30 Europe/Prague)"}]
    # 07:30 UTC is 08:30 in Prague: he works
    clock.set(datetime(2026, 3, 3, 7, 30, tzinfo=UTC))
    assert helpdesk.tickets.get(complaint(helpdesk).id).assignee == "petr"


def test_working_hours_follow_daylight_saving_time(make_helpdesk, clock):
    helpdesk = complaint_desk(make_helpdesk, agents=with_agent(
        Agent("petr", "Petr", working_hours=PRAGUE_OFFICE)))
    clock.set(datetime(2026, 7, 6, 14, 30, tzinfo=UTC))  # 16:30 CEST: gone home
    assert helpdesk.tickets.get(complaint(helpdesk).id).assignee == "olga"
    clock.set(datetime(2026, 7, 6, 6, 30, tzinfo=UTC))  # 08:30 CEST
    assert helpdesk.tickets.get(complaint(helpdesk).id).assignee == "petr"


def test_weekends_are_outside_working_hours(make_helpdesk, clock):
    clock.set(datetime(2026, 3, 7, 10, 0, tzinfo=UTC))  # Saturday
    helpdesk = complaint_desk(make_helpdesk, agents=with_agent(
        Agent("petr", "Petr", working_hours=PRAGUE_OFFICE)))
    ticket = complaint(helpdesk)
    assert helpdesk.tickets.get(ticket.id).assignee == "olga"
    assert "sat 11:00" in the_reason(helpdesk, ticket)["trace"][0]["skipped"][0]["why"]


def test_an_inactive_agent_is_skipped(make_helpdesk):
    helpdesk = complaint_desk(make_helpdesk, agents=with_agent(
        Agent("petr", "Petr", active=False)))
    ticket = complaint(helpdesk)
    assert helpdesk.tickets.get(ticket.id).assignee == "olga"
    assert the_reason(helpdesk, ticket)["trace"][0]["skipped"] == [
        {"agent": "petr", "why": "inactive"}]


def test_without_agents_configured_any_person_is_taken_as_named(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(agents=(), teams=()))
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                               responsible="external-lead"))
    ticket = open_ticket(helpdesk, incident_type="complaint")
    assert helpdesk.tickets.get(ticket.id).assignee == "external-lead"


def test_an_absent_person_with_a_team_hands_over_to_the_team(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(absences=(
        Absence("petr", T0, T0 + timedelta(days=1), "holiday"),)))
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             responsible="petr",
                                               team="returns"))
    ticket = complaint(helpdesk)
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == ("ales", "returns")
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "incident_type"
    entry = reason["trace"][0]
    assert entry["skipped"][0]["agent"] == "petr"
    assert entry["team_pick"]["picked"] == "ales"


def test_when_every_absent_the_skip_is_in_every_step(make_helpdesk):
    away = (Absence("petr", T0, T0 + timedelta(days=1)), Absence("olga", T0, T0 + timedelta(
        days=1)), Absence("hana", T0, T0 + timedelta(days=1)))
    helpdesk = complaint_desk(make_helpdesk, absences=away, helpdesk_owner="hana")
    ticket = complaint(helpdesk)
    assert helpdesk.tickets.get(ticket.id).assignee is None
    assert not [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.ASSIGNED]


# -- members of a team -------------------------------------------------------------------------


def test_absent_team_members_are_skipped_in_the_team_pick(make_helpdesk):
    agents = with_agent(Agent("cyril", "Cyril", active=False))
    helpdesk = make_helpdesk(staff=staff(agents=agents, helpdesk_team="returns", absences=(
        Absence("ales", T0, T0 + timedelta(days=1), "holiday"),)))
    picked = [helpdesk.tickets.get(open_ticket(helpdesk).id).assignee for _ in range(3)]
    assert picked == ["bara", "bara", "bara"]
    pick = the_reason(helpdesk, open_ticket(helpdesk))["trace"][-1]["team_pick"]
    assert pick["candidates"] == ["bara"]
    assert pick["unavailable"] == [
        {"agent": "ales", "why": "absent until 2026-03-03T09:00:00+00:00 (holiday)"},
        {"agent": "cyril", "why": "inactive"},
    ]


def test_round_robin_stays_fair_among_the_members_who_are_present(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(helpdesk_team="returns", absences=(
        Absence("bara", T0, T0 + timedelta(days=1)),)))
    picked = [helpdesk.tickets.get(open_ticket(helpdesk).id).assignee for _ in range(4)]
    assert picked == ["ales", "cyril", "ales", "cyril"]


def test_a_team_member_outside_working_hours_is_skipped(make_helpdesk, clock):
    night = WorkingHours.weekly("America/New_York", {"mon-fri": "09:00-17:00"})
    agents = with_agent(Agent("ales", "Aleš", working_hours=night))
    helpdesk = make_helpdesk(staff=staff(agents=agents, helpdesk_team="returns"))
    ticket = open_ticket(helpdesk)  # 09:00 UTC is 04:00 in New York
    pick = the_reason(helpdesk, ticket)["trace"][-1]["team_pick"]
    assert pick["candidates"] == ["bara", "cyril"]
    assert pick["unavailable"] == [
        {"agent": "ales", "why": "outside working hours (mon 04:00 America/New_York)"}]


def test_a_team_with_nobody_available_passes_to_the_next_step(make_helpdesk):
    away = tuple(Absence(m, T0, T0 + timedelta(days=1)) for m in ("ales", "bara", "cyril"))
    helpdesk = make_helpdesk(staff=staff(absences=away))
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             team="returns"))
    ticket = complaint(helpdesk)
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == ("olga", "returns")
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "account_owner"
    assert reason["trace"][0]["team_pick"]["picked"] is None
    assert reason["trace"][0]["team_pick"]["candidates"] == []


def test_with_nobody_available_anywhere_the_ticket_waits_in_the_teams_queue(make_helpdesk):
    away = tuple(Absence(m, T0, T0 + timedelta(days=1)) for m in ("ales", "bara", "cyril"))
    helpdesk = make_helpdesk(staff=staff(absences=away))
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             team="returns"))
    ticket = open_ticket(helpdesk, incident_type="complaint", customer_email="jana@example.cz")
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == (None, "returns")
    [team] = [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.TEAM_CHANGED]
    reason = team.data["reason"]
    assert reason["winner"] == "incident_type"
    assert "nobody in team returns is available" in reason["why"]
    assert steps(reason) == ["incident_type", "account_owner", "channel_owner",
                             "helpdesk_owner"]


def test_the_staff_value_can_be_replaced_at_run_time(make_helpdesk):
    helpdesk = complaint_desk(make_helpdesk)
    current = helpdesk.staff.directory.staff
    helpdesk.staff.directory.replace(attrs.evolve(current, agents=with_agent(
        Agent("petr", "Petr", active=False))))
    assert helpdesk.tickets.get(complaint(helpdesk).id).assignee == "olga"
