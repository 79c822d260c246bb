"""Manual reassignment is recorded with its reason and the previous assignee."""

from __future__ import annotations

from datetime import timedelta

import pytest
from assign_support import EVA, T0, open_ticket, staff

from helpdesk_core import ConcurrencyError
from helpdesk_core.domain import Actor, EventKind
from helpdesk_core.domain.staff import Absence

SUPERVISOR = Actor.agent("sofie", "Sofie")


def test_reassignment_records_reason_previous_assignee_and_actor(make_helpdesk):
    helpdesk = make_helpdesk()
    ticket = open_ticket(helpdesk, customer_email="petr@example.cz")  # olga, automatically
    helpdesk.staff.reassign(ticket.number, "hana", actor=SUPERVISOR, reason="olga is overloaded")
    assert helpdesk.tickets.get(ticket.id).assignee == "hana"
    last = [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.ASSIGNED][-1]
    assert last.actor == SUPERVISOR
    assert (last.old, last.new) == ("olga", "hana")
    assert last.data["reason"] == {"winner": "manual", "why": "olga is overloaded",
                                   "previous": "olga"}


def test_the_trace_lists_automatic_and_manual_assignments_in_order(make_helpdesk):
    helpdesk = make_helpdesk()
    ticket = open_ticket(helpdesk, customer_email="petr@example.cz")
    helpdesk.staff.reassign(ticket.id, "hana", actor=SUPERVISOR, reason="language")
    helpdesk.staff.reassign(ticket.id, None, actor=SUPERVISOR, reason="back to the queue")
    traces = helpdesk.staff.trace(ticket.id)
    assert [(t["winner"], t["old"], t["new"]) for t in traces] == [
        ("account_owner", None, "olga"), ("manual", "olga", "hana"), ("manual", "hana", None)]
    assert traces[1]["actor"]["id"] == "sofie"
    assert [t["seq"] for t in traces] == sorted(t["seq"] for t in traces)


def test_reassigning_to_an_absent_agent_is_allowed_but_noted(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(absences=(
        Absence("hana", T0, T0 + timedelta(days=2), "holiday"),)))
    ticket = open_ticket(helpdesk)
    helpdesk.staff.reassign(ticket.id, "hana", actor=SUPERVISOR, reason="she knows the customer")
    [trace] = helpdesk.staff.trace(ticket.id)
    assert trace["note"] == "hana is absent until 2026-03-04T09:00:00+00:00 (holiday)"


def test_reassignment_can_move_the_team_and_checks_the_version(make_helpdesk):
    helpdesk = make_helpdesk()
    ticket = open_ticket(helpdesk)
    moved = helpdesk.staff.reassign(ticket.id, "bara", actor=EVA, team="returns",
                              expected_version=ticket.version)
    assert (moved.assignee, moved.team) == ("bara", "returns")
    with pytest.raises(ConcurrencyError):
        helpdesk.staff.reassign(ticket.id, "ales", actor=EVA, expected_version=ticket.version)


def test_the_existing_assign_stays_a_manual_assignment(make_helpdesk):
    helpdesk = make_helpdesk()
    ticket = open_ticket(helpdesk)
    helpdesk.staff.assign(ticket.id, "ales", actor=EVA)
    [trace] = helpdesk.staff.trace(ticket.id)
    assert (trace["winner"], trace["new"]) == ("manual", "ales")
