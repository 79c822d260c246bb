"""Agents who see only their teams' tickets (``Agent.sees="teams"``): a ticket of another team,
not assigned to them, is for them a ticket that does not exist — in every answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.services.conftest import MakeHelpdesk

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Actor, Ticket, TicketQuery
from helpdesk_core.domain.access import Action, TicketScope, allowed
from helpdesk_core.domain.queue import Visibility
from helpdesk_core.domain.staff import Agent, AgentScope, HelpdeskStaff, Role, Team
from helpdesk_core.errors import (
    HelpdeskError,
    PermissionDenied,
    TicketNotFound,
)

TEAMS = ("returns", "billing")
STAFF = HelpdeskStaff(
    teams=(Team("returns"), Team("billing")),
    agents=(
        Agent("ann", teams=("returns",), sees=AgentScope.TEAMS),
        Agent("ben", teams=("billing",), sees="teams", role=Role.READ_ONLY),
        Agent("sue", teams=("billing", "returns"), sees="teams", role=Role.SUPERVISOR),
        Agent("dan", sees="teams", role=Role.LIGHT_AGENT),  # no team: only their own tickets
        Agent("cat", teams=("returns",)),  # sees every ticket
        Agent("rob", teams=("billing",), role=Role.READ_ONLY),
    ),
)
ACTORS = [Actor.agent(a.id) for a in STAFF.agents] + [Actor.system("host"), Actor.agent("tmp")]
ASSIGNEES = (None, "ann", "ben", "dan", "cat")
MISSING = "HD-2026-99999"


def visible(actor: Actor, ticket: Ticket) -> bool:
    """The rule, restated: who sees which ticket."""
    agent = STAFF.agent(actor.id or "")
    if agent is None or agent.sees is AgentScope.ALL:
        return True
    return ticket.team in agent.teams or ticket.assignee == agent.id


def role_of(actor: Actor) -> Role | None:
    agent = STAFF.agent(actor.id or "")
    return agent.role if agent is not None else None


@pytest.fixture(scope="module")
def desk_and_tickets() -> Any:
    # One helpdesk for every example: operations change tickets, never their team or assignee.
    from datetime import UTC, datetime

    from helpdesk_core import Settings, bootstrap
    from helpdesk_core.inmemory import FakeClock, InMemoryDirectory

    desk = bootstrap(Settings(storage="memory", autoload_plugins=False, staff=STAFF),
                     directory=InMemoryDirectory(), environ={},
                     clock=FakeClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    tickets = []
    for team in (None, *TEAMS):
        for assignee in ASSIGNEES:
            tickets.append(desk.tickets.open_by_staff(
                agent=Actor.system("host"), via="phone", subject="Kettle leaks",
                message="The kettle leaks from the bottom.", customer_email="jana@example.cz",
                team=team, assignee=assignee))
    yield desk, tickets
    desk.close()


Operation = Callable[[Helpdesk, Actor, str, str], Any]
OPERATIONS: dict[str, Operation] = {
    "get": lambda d, a, k, _: d.tickets.get(k, actor=a),
    "history": lambda d, a, k, _: d.tickets.history(k, actor=a),
    "articles": lambda d, a, k, _: d.tickets.articles(k, actor=a),
    "links": lambda d, a, k, _: d.tickets.links(k, actor=a),
    "add_note": lambda d, a, k, _: d.tickets.add_note(k, "checked", agent=a),
    "tag": lambda d, a, k, _: d.tickets.tag(k, "vip", actor=a),
    "transition": lambda d, a, k, _: d.tickets.transition(k, "open", actor=a),
    "duplicates": lambda d, a, k, _: d.tickets.duplicates(k, actor=a),
    "merge": lambda d, a, k, other: d.tickets.merge(k, [other], actor=a),
    "merge_into": lambda d, a, k, other: d.tickets.merge(other, [k], actor=a),
    "link": lambda d, a, k, other: d.tickets.link(other, k, actor=a),
    "trace": lambda d, a, k, _: d.staff.trace(k, actor=a),
}
ACTIONS = {"get": "read_ticket", "history": "read_internal", "articles": "read_internal",
           "links": "read_internal", "add_note": "add_note", "tag": "tag",
           "transition": "transition", "duplicates": "read_internal", "merge": "merge",
           "merge_into": "merge", "link": "link", "trace": "read_internal"}


def outcome(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except HelpdeskError as error:
        return error


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actor=st.sampled_from(ACTORS), index=st.integers(0, 14), other=st.integers(0, 14),
       operation=st.sampled_from(sorted(OPERATIONS)), by_id=st.booleans())
def test_every_answer_obeys_the_policy(desk_and_tickets: Any, actor: Actor, index: int,
                                       other: int, operation: str, by_id: bool) -> None:
    desk, tickets = desk_and_tickets
    ticket, second = desk.tickets.get(tickets[index].id), desk.tickets.get(tickets[other].id)
    key = ticket.id if by_id else ticket.number
    run = OPERATIONS[operation]
    before = {t.id: desk.tickets.get(t.id).version for t in (ticket, second)}
    answer = outcome(lambda: run(desk, actor, key, second.number))
    # In the operations of two tickets, the second is checked after the first (merge: the
    # target first); the first one the agent may not see is the one "not found".
    order = {"merge": [(key, ticket), (second.number, second)],
             "merge_into": [(second.number, second), (key, ticket)],
             "link": [(second.number, second), (key, ticket)]}.get(operation, [(key, ticket)])
    hidden = next(((k, t) for k, t in order if not visible(actor, t)), None)
    if hidden is not None:
        # The answer is the one for a ticket that does not exist in its place.
        hidden_key = hidden[0]
        if hidden_key == key:
            missing = outcome(lambda: run(desk, actor, MISSING, second.number))
        else:
            missing = outcome(lambda: run(desk, actor, key, MISSING))
        assert type(answer) is type(missing), (answer, missing)
        assert str(answer) == str(missing).replace(repr(MISSING), repr(hidden_key))
        if isinstance(answer, TicketNotFound):
            assert answer.key == hidden_key
            assert answer.__context__ is None
            assert answer.__cause__ is None
        after = {t.id: desk.tickets.get(t.id).version for t in (ticket, second)}
        assert after == before  # nothing written
        return
    assert not isinstance(answer, TicketNotFound), answer
    may = allowed(actor, Action(ACTIONS[operation]), TicketScope.from_ticket(ticket),
                  role=role_of(actor))
    if isinstance(answer, PermissionDenied):
        assert not may, answer
    elif not may:
        pytest.fail(f"{operation} by {actor.id} was not refused")
    if operation == "duplicates" and isinstance(answer, list):
        for suggestion in answer:
            assert visible(actor, desk.tickets.get(suggestion.ticket_id)), suggestion


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.id)
def test_the_queue_holds_exactly_the_visible_tickets(desk_and_tickets: Any,
                                                     actor: Actor) -> None:
    desk, tickets = desk_and_tickets
    seen: list[str] = []
    cursor = None
    while True:
        # whatever filter the caller sets, an agent limited to teams gets only theirs
        page = desk.tickets.queue(TicketQuery(limit=4, after=cursor,
                                              visible_to=Visibility(teams=TEAMS)),
                                  actor=actor)
        seen += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    everything = {t.id: desk.tickets.get(t.id) for t in tickets}
    agent = STAFF.agent(actor.id or "")
    if agent is not None and agent.sees is AgentScope.TEAMS:
        expected = {i for i, t in everything.items() if visible(actor, t)}
    else:  # the caller's own filter stands
        expected = {i for i, t in everything.items() if t.team in TEAMS}
    assert set(seen) & set(everything) == expected


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(staff=STAFF)


def _open(desk: Helpdesk, team: str | None, assignee: str | None = None) -> Ticket:
    return desk.tickets.open_by_staff(agent=Actor.system("host"), via="phone", subject="Kettle",
                                      message="Leaks.", customer_email="jana@example.cz",
                                      team=team, assignee=assignee)


def test_an_agent_limited_to_teams_opens_tickets_in_their_teams_only(desk: Helpdesk) -> None:
    ann = Actor.agent("ann")
    with pytest.raises(PermissionDenied, match="billing"):
        desk.tickets.open_by_staff(agent=ann, via="phone", subject="Kettle", message="Leaks.",
                                   customer_email="jana@example.cz", team="billing")
    with pytest.raises(PermissionDenied, match="billing"):
        desk.tickets.open_from_order(agent=ann, order_number="1", subject="Kettle",
                                     message="Leaks.", team="billing")
    ticket = desk.tickets.open_by_staff(agent=ann, via="phone", subject="Kettle",
                                        message="Leaks.", customer_email="jana@example.cz",
                                        team="returns")
    assert desk.tickets.get(ticket.number, actor=ann).team == "returns"


def test_an_agent_limited_to_teams_assigns_within_their_teams_only(desk: Helpdesk) -> None:
    ann = Actor.agent("ann")
    number = _open(desk, "returns").number
    for move in (desk.staff.assign, desk.staff.reassign):
        with pytest.raises(PermissionDenied, match="billing"):
            move(number, None, actor=ann, team="billing")
    assert desk.tickets.get(number).team == "returns"
    assert desk.staff.assign(number, "ann", actor=ann, team="returns").assignee == "ann"
    # handing it to someone of another team is theirs to do, as long as the team stays
    assert desk.staff.reassign(number, "ben", actor=ann).assignee == "ben"
    with pytest.raises(TicketNotFound):  # ... and then it is gone from their view
        desk.staff.assign(number, "ann", actor=Actor.agent("dan"))


def test_splitting_and_unlinking_an_invisible_ticket_is_not_found(desk: Helpdesk) -> None:
    ann = Actor.agent("ann")
    mine, theirs = _open(desk, "returns"), _open(desk, "billing")
    for attempt in (lambda: desk.tickets.split(theirs.number, [], actor=ann),
                    lambda: desk.tickets.unlink(mine.number, theirs.number, actor=ann),
                    lambda: desk.tickets.unmerge(theirs.number, actor=ann)):
        with pytest.raises(TicketNotFound) as error:
            attempt()
        assert str(error.value) == f"no ticket {theirs.number!r}"


def test_unscoped_agents_and_the_host_read_nothing_to_be_checked(
        desk: Helpdesk, monkeypatch: pytest.MonkeyPatch) -> None:
    number = _open(desk, "billing").number
    guard = desk.tickets._guard  # type: ignore[attr-defined]
    reads: list[object] = []
    original = guard.units.read
    monkeypatch.setattr(guard.units, "read", lambda work: reads.append(work) or original(work))
    desk.tickets.tag(number, "vip", actor=Actor.agent("cat"))
    desk.tickets.tag(number, "vip", actor=Actor.system("host"))
    assert reads == []
    desk.tickets.tag(number, "vip", actor=Actor.agent("sue"))
    assert len(reads) == 1


def test_screen_pop_portal_lists_and_found_calls_hold_only_visible_tickets(
        desk: Helpdesk) -> None:
    from datetime import timedelta

    from helpdesk_core.ports.messaging import CallEvent
    from helpdesk_core.telephony import Call

    ann = Actor.agent("ann")
    mine, theirs = _open(desk, "returns"), _open(desk, "billing")
    event = CallEvent(provider_call_id="c1", kind="ringing", direction="inbound",
                      from_number="+420601234567", to_number="+420800123456",
                      at=desk.clock.now())
    shown = {t.number for t in desk.calls.screen_pop(event, actor=ann).open_tickets}
    assert shown == {mine.number}
    everything = {t.number for t in desk.calls.screen_pop(event, actor=Actor.agent("cat"))
                  .open_tickets}
    assert everything == {mine.number, theirs.number}
    customer = mine.customer_id
    listed = {t.number for t in desk.portal.my_tickets(actor=ann, customer=customer).items}
    assert listed == {mine.number}
    call = Call.from_events([
        CallEvent(provider_call_id="c2", kind=kind, direction="inbound",
                  from_number="+420601234567", to_number="+420800123456",
                  at=desk.clock.now() + timedelta(seconds=i))
        for i, kind in enumerate(("ringing", "answered", "ended"))])
    desk.calls.record(call=call, agent=Actor.agent("cat"), summary="Sent a new one.",
                      ticket_key=theirs.number)
    assert desk.calls.find_recorded("c2", actor=Actor.agent("cat")) is not None
    assert desk.calls.find_recorded("c2", actor=Actor.agent("sue")) is not None
    assert desk.calls.find_recorded("c2", actor=ann) is None


def test_undoing_a_merge_into_an_invisible_ticket_is_not_found(desk: Helpdesk) -> None:
    mine, theirs = _open(desk, "returns"), _open(desk, "billing")
    desk.tickets.merge(theirs.number, [mine.number], actor=Actor.agent("cat"))
    with pytest.raises(TicketNotFound):
        desk.tickets.unmerge(mine.number, actor=Actor.agent("ann"))
    assert desk.tickets.get(mine.number).merged_into == theirs.id
    desk.tickets.unmerge(mine.number, actor=Actor.agent("sue"))
    assert desk.tickets.get(mine.number).merged_into is None
