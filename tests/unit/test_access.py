"""The access policy: who may do what, on which ticket, and how a refusal looks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import Actor, ActorKind, Direction, Status, StatusCategory, Workflow
from helpdesk_core.domain.access import (
    NOT_VISIBLE,
    RULES,
    Action,
    TicketScope,
    Who,
    allowed,
    article_action,
    check,
    sees,
    status_action,
    transition_action,
)
from helpdesk_core.domain.staff import Agent, AgentScope, Role
from helpdesk_core.domain.status import DEFAULT_TRANSITIONS
from helpdesk_core.errors import HelpdeskError, PermissionDenied
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import open_ticket

FAST = settings(max_examples=200, deadline=None)
A, C = Action, StatusCategory

# What a customer may do, written out here so that widening the table in the code has to be
# done deliberately in both places.
CUSTOMER_ACTIONS = {
    A.READ_TICKET, A.READ_PUBLIC_ARTICLES, A.REPLY, A.ATTACH, A.REOPEN, A.CLOSE,
    A.OPEN_OWN_TICKET, A.LIST_OWN_TICKETS,
}
WITHOUT_A_TICKET = {A.ATTACH, A.OPEN_OWN_TICKET, A.LIST_OWN_TICKETS}
# What everyone may do, anonymous visitors included (what they see is the action's own rule).
EVERYONE = {A.READ_KB}
AGENT_ONLY = set(Action) - CUSTOMER_ACTIONS - EVERYONE

actions = st.sampled_from(list(Action))
staff = strategies.actors([ActorKind.AGENT, ActorKind.SYSTEM])
customers = strategies.actors([ActorKind.CUSTOMER])
scopes = strategies.ticket_scopes()
maybe_scopes = st.none() | scopes


def involved(actor: Actor, scope: TicketScope) -> bool:
    """The rule, restated independently of TicketScope.involves."""
    return actor.id is not None and actor.id in (
        {scope.customer_id, *scope.participant_ids} - {None}
    )


# -- the table ------------------------------------------------------------------------------


def test_the_table_names_every_action_once():
    assert set(RULES) == set(Action)
    assert len(RULES) == len(Action)


def test_customers_may_do_exactly_the_customer_actions():
    assert {a for a, who in RULES.items()
            if who not in (Who.STAFF, Who.EVERYONE)} == CUSTOMER_ACTIONS
    assert {a for a, who in RULES.items() if who is Who.EVERYONE} == EVERYONE
    assert {a for a, who in RULES.items() if who is Who.OWN_TICKET_OR_NONE} == WITHOUT_A_TICKET


def test_the_table_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        RULES[A.ASSIGN] = Who.OWN_TICKET  # type: ignore[index]


DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "access.md"
DOC_ROW = re.compile(r"^\| `([a-z_]+)` \| ([^|]+) \|", re.MULTILINE)


def test_the_reference_lists_every_action_once_with_who_may_do_it():
    rows = DOC_ROW.findall(DOC.read_text(encoding="utf-8"))
    listed = [value for value, _ in rows]
    assert sorted(listed) == sorted(a.value for a in Action)  # each exactly once
    assert {value: who.strip() for value, who in rows} == {
        action.value: who.value for action, who in RULES.items()
    }


# -- properties over actions x actors x scopes -----------------------------------------------


@FAST
@given(staff, actions, maybe_scopes)
def test_agents_and_the_system_may_do_everything(actor, action, scope):
    assert allowed(actor, action, scope)
    check(actor, action, scope)


@FAST
@given(customers, st.sampled_from(sorted(AGENT_ONLY, key=lambda a: a.value)), maybe_scopes)
def test_every_agent_only_action_is_refused_to_any_customer(actor, action, scope):
    assert not allowed(actor, action, scope)
    with pytest.raises(PermissionDenied) as refused:
        check(actor, action, scope)
    assert refused.value.action == action.value
    assert refused.value.actor == actor
    assert refused.value.ticket == (scope.number if scope else None)


@FAST
@given(customers, st.sampled_from(sorted(EVERYONE, key=lambda a: a.value)), maybe_scopes)
def test_everyone_may_read_the_knowledge_base(actor, action, scope):
    assert allowed(actor, action, scope)
    check(actor, action, scope)


@FAST
@given(customers, st.sampled_from(sorted(CUSTOMER_ACTIONS, key=lambda a: a.value)), scopes)
def test_customer_actions_are_allowed_exactly_on_own_and_participant_tickets(
    actor, action, scope
):
    assert allowed(actor, action, scope) is involved(actor, scope)


@FAST
@given(customers, st.sampled_from(sorted(CUSTOMER_ACTIONS, key=lambda a: a.value)))
def test_without_a_ticket_a_customer_may_only_open_one_and_attach(actor, action):
    assert allowed(actor, action) is (action in WITHOUT_A_TICKET)


@FAST
@given(strategies.actors(), actions, maybe_scopes)
def test_check_raises_exactly_when_allowed_says_no(actor, action, scope):
    if allowed(actor, action, scope):
        check(actor, action, scope)
    else:
        with pytest.raises(PermissionDenied):
            check(actor, action, scope)


@FAST
@given(customers, actions, maybe_scopes)
def test_a_refusal_is_a_permission_error_that_names_actor_and_action(actor, action, scope):
    assume(not allowed(actor, action, scope))
    with pytest.raises(PermissionError) as refused:
        check(actor, action, scope)
    error = refused.value
    assert isinstance(error, PermissionDenied)
    assert isinstance(error, HelpdeskError)
    message = str(error)
    assert message.startswith(f"customer {actor.id or 'without an id'} may not ")
    assert action.value.replace("_", " ") in message
    assert scope is None or f"(ticket {scope.number})" in message
    assert error.reason
    assert message.endswith(f": {error.reason}")


# -- the examples: a customer on their own ticket ------------------------------------

CUSTOMER = Actor.customer("c-1", "Jana")
OTHER = Actor.customer("c-2", "Petr")
TICKET = open_ticket(customer_id="c-1", organisation_id="org-1")
OWN = TicketScope.from_ticket(TICKET)
WORKFLOW = Workflow.with_custom([Status("awaiting_parts", C.WAITING_ON_THIRD_PARTY),
                                 Status("fixed", C.RESOLVED)])


@pytest.mark.parametrize(
    "action",
    [A.ASSIGN, A.SET_PRIORITY, A.SET_DUE, A.TAG, A.SET_FIELD, A.ADD_NOTE, A.LINK,
     A.START_FOLLOWUP, A.SEND_REPLY, A.READ_INTERNAL,
     transition_action(WORKFLOW, "open", "waiting_on_third_party"),
     transition_action(WORKFLOW, "new", "open"),
     transition_action(WORKFLOW, "open", "awaiting_parts"),
     transition_action(WORKFLOW, "awaiting_parts", "open")],
    ids=lambda a: a.value,
)
def test_a_customer_on_their_own_ticket_is_refused_agent_only_actions(action):
    expected = rf"^customer c-1 may not .*\(ticket {TICKET.number}\)"
    with pytest.raises(PermissionDenied, match=expected):
        check(CUSTOMER, action, OWN)


@pytest.mark.parametrize("action", [A.VIEW_QUEUE, A.CONFIGURE, A.MANAGE_TEMPLATES,
                                    A.RUN_BACKGROUND_WORK, A.OPEN_FOR_CUSTOMER,
                                    A.LOOK_UP_CALLER, A.RECEIVE_INBOUND],
                         ids=lambda a: a.value)
def test_a_customer_is_refused_the_helpdesk_wide_actions(action):
    with pytest.raises(PermissionDenied, match="only agents and the system may"):
        check(CUSTOMER, action)


def test_assigning_is_refused_with_a_message_that_says_who_what_and_why():
    with pytest.raises(PermissionDenied) as refused:
        check(CUSTOMER, A.ASSIGN, OWN)
    assert str(refused.value) == (
        f"customer c-1 may not assign (ticket {TICKET.number}): only agents and the system may"
    )


@pytest.mark.parametrize(
    "action",
    [A.READ_TICKET, A.READ_PUBLIC_ARTICLES, A.REPLY, A.ATTACH,
     transition_action(WORKFLOW, "resolved", "open"),
     transition_action(WORKFLOW, "open", "closed"),
     transition_action(WORKFLOW, "open", "fixed")],
    ids=lambda a: a.value,
)
def test_a_customer_may_do_the_customer_actions_on_their_own_ticket(action):
    check(CUSTOMER, action, OWN)
    with pytest.raises(PermissionDenied, match="neither the ticket's customer nor a participant"):
        check(OTHER, action, OWN)


def test_a_participant_acts_like_the_customer():
    shared = TicketScope.from_ticket(TICKET, participant_ids=["c-2"])
    assert shared.participant_ids == frozenset({"c-2"})
    check(OTHER, A.REPLY, shared)
    check(OTHER, A.REOPEN, shared)
    with pytest.raises(PermissionDenied):
        check(OTHER, A.SET_PRIORITY, shared)
    with pytest.raises(PermissionDenied):
        check(Actor.customer("c-3"), A.READ_TICKET, shared)


def test_a_customer_without_an_id_owns_no_ticket():
    anonymous = Actor.customer(None)
    orphan = TicketScope(ticket_id="t1", number="HD-1", customer_id=None)
    for scope in (OWN, orphan):
        with pytest.raises(PermissionDenied, match="without an id has no tickets"):
            check(anonymous, A.READ_TICKET, scope)
    with pytest.raises(PermissionDenied):
        check(Actor.customer(""), A.REPLY, TicketScope(ticket_id="t1", number="HD-1",
                                                          customer_id="",
                                                          participant_ids=[""]))
    check(anonymous, A.OPEN_OWN_TICKET)
    check(anonymous, A.ATTACH)


def test_a_customer_needs_a_ticket_for_ticket_actions():
    with pytest.raises(PermissionDenied, match="only on a ticket of theirs"):
        check(CUSTOMER, A.READ_PUBLIC_ARTICLES)


def test_the_scope_takes_what_the_rule_needs_from_the_ticket():
    before = TICKET.snapshot(), len(TICKET.pending_events)
    scope = TicketScope.from_ticket(TICKET, participant_ids=("c-5", "", "c-5"))
    assert (scope.ticket_id, scope.number, scope.customer_id, scope.organisation_id) == (
        TICKET.id, TICKET.number, "c-1", "org-1"
    )
    assert scope.participant_ids == frozenset({"c-5"})
    assert [scope.involves(c) for c in ("c-1", "c-5", "c-2", "", None)] == [
        True, True, False, False, False
    ]
    check(CUSTOMER, A.REPLY, scope)
    assert (TICKET.snapshot(), len(TICKET.pending_events)) == before  # nothing touched


# -- naming status changes and articles -----------------------------------------------------

REOPENS = {(C.WAITING_ON_CUSTOMER, C.OPEN), (C.RESOLVED, C.OPEN), (C.CLOSED, C.OPEN)}
CLOSES = {
    (C.NEW, C.RESOLVED), (C.OPEN, C.RESOLVED), (C.WAITING_ON_CUSTOMER, C.RESOLVED),
    (C.WAITING_ON_THIRD_PARTY, C.RESOLVED),
    (C.NEW, C.CLOSED), (C.OPEN, C.CLOSED), (C.WAITING_ON_CUSTOMER, C.CLOSED),
    (C.WAITING_ON_THIRD_PARTY, C.CLOSED), (C.RESOLVED, C.CLOSED),
}


@pytest.mark.parametrize("current", list(C), ids=lambda c: c.value)
@pytest.mark.parametrize("target", list(C), ids=lambda c: c.value)
def test_status_action_names_reopen_close_and_everything_else(current, target):
    expected = (A.REOPEN if (current, target) in REOPENS
                else A.CLOSE if (current, target) in CLOSES else A.TRANSITION)
    assert status_action(current, target) is expected


def test_what_a_customer_may_do_to_the_status_is_a_move_the_default_workflow_has():
    assert REOPENS | CLOSES <= DEFAULT_TRANSITIONS


def test_a_customer_does_not_end_a_wait_on_a_third_party():
    assert status_action(C.WAITING_ON_THIRD_PARTY, C.OPEN) is A.TRANSITION
    assert not allowed(CUSTOMER, transition_action(WORKFLOW, "awaiting_parts", "open"), OWN)


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [("fixed", "open", A.REOPEN), ("fixed", "closed", A.CLOSE), ("open", "fixed", A.CLOSE),
     ("resolved", "fixed", A.TRANSITION), ("closed", "closed", A.TRANSITION),
     ("open", "no_such_status", A.TRANSITION), ("no_such_status", "open", A.TRANSITION),
     ("merged", "open", A.TRANSITION)],
)
def test_transition_action_looks_the_keys_up_in_the_workflow(current, target, expected):
    assert transition_action(WORKFLOW, current, target) is expected


@pytest.mark.parametrize(
    ("direction", "public", "expected"),
    [(Direction.INBOUND, None, A.REPLY), (Direction.INBOUND, True, A.REPLY),
     (Direction.INBOUND, False, A.ADD_NOTE), (Direction.INTERNAL, None, A.ADD_NOTE),
     (Direction.INTERNAL, False, A.ADD_NOTE), (Direction.OUTBOUND, None, A.SEND_REPLY),
     (Direction.OUTBOUND, True, A.SEND_REPLY)],
)
def test_article_action(direction, public, expected):
    assert article_action(direction, public=public) is expected


# -- roles -----------------------------------------------------------------------------------

def test_every_action_names_the_least_role_it_takes() -> None:
    from helpdesk_core.domain.access import LEAST_ROLE
    from helpdesk_core.domain.staff import Role

    assert set(LEAST_ROLE) == set(Action)
    ranks = [r.rank for r in Role]
    assert ranks == sorted(ranks)
    assert LEAST_ROLE[A.READ_INTERNAL] is Role.READ_ONLY
    assert LEAST_ROLE[A.ADD_NOTE] is Role.LIGHT_AGENT
    assert LEAST_ROLE[A.SEND_REPLY] is Role.AGENT
    assert LEAST_ROLE[A.MANAGE_TEMPLATES] is Role.SUPERVISOR
    assert LEAST_ROLE[A.CONFIGURE] is Role.ADMIN


def test_a_role_may_do_what_it_and_the_roles_below_it_may() -> None:
    from helpdesk_core.domain.access import LEAST_ROLE
    from helpdesk_core.domain.staff import Role

    agent = Actor.agent("eva")
    for role in Role:
        for action in Action:
            assert allowed(agent, action, role=role) is (role.rank >= LEAST_ROLE[action].rank)
    # an agent without a known role (no staff listed) and the system may do everything
    assert all(allowed(agent, action) for action in Action)
    assert all(allowed(Actor.system("x"), action, role=Role.READ_ONLY) for action in Action)


ROLE_ROW = re.compile(r"^\| \*\*`([a-z_]+)`\*\* \| (.+) \|$", re.MULTILINE)


def test_the_reference_lists_the_least_role_of_every_action():
    from helpdesk_core.domain.access import LEAST_ROLE
    from helpdesk_core.domain.staff import Role

    rows = dict(ROLE_ROW.findall(DOC.read_text(encoding="utf-8")))
    assert list(rows) == [r.value for r in Role]
    listed = {action: role for role, cell in rows.items()
              for action in re.findall(r"`([a-z_]+)`", cell)}
    assert listed == {a.value: r.value for a, r in LEAST_ROLE.items()}


# -- team visibility ------------------------------------------------------------------------

team_sets = st.none() | st.frozensets(st.sampled_from(strategies.TEAMS))
roles = st.none() | st.sampled_from(list(Role))


@FAST
@given(strategies.actors([ActorKind.AGENT]), actions, scopes, team_sets, roles)
def test_an_agent_limited_to_teams_sees_their_teams_and_own_tickets_only(
        actor, action, scope, teams, role):
    visible = (teams is None or (scope.team is not None and scope.team in teams)
               or scope.assignee == actor.id)
    assert sees(actor, scope, teams) is visible
    if not visible:
        with pytest.raises(PermissionDenied) as refused:
            check(actor, action, scope, role=role, teams=teams)
        assert refused.value.reason == NOT_VISIBLE  # before the role: nothing else is said
    else:
        assert allowed(actor, action, scope, role=role, teams=teams) is allowed(
            actor, action, scope, role=role)


@FAST
@given(strategies.actors([ActorKind.SYSTEM, ActorKind.CUSTOMER]), actions, scopes, team_sets)
def test_teams_limit_agents_only(actor, action, scope, teams):
    assert allowed(actor, action, scope, teams=teams) is allowed(actor, action, scope)


@FAST
@given(strategies.actors([ActorKind.AGENT]), actions, team_sets, roles)
def test_without_a_ticket_teams_change_nothing(actor, action, teams, role):
    assert allowed(actor, action, None, role=role, teams=teams) is allowed(
        actor, action, None, role=role)


def test_the_scope_takes_the_team_and_the_assignee():
    ticket = open_ticket(team="returns", assignee="alice")
    scope = TicketScope.from_ticket(ticket)
    assert (scope.team, scope.assignee) == ("returns", "alice")
    assert sees(Actor.agent("bob"), scope, frozenset({"returns"}))
    assert sees(Actor.agent("alice"), scope, frozenset())
    assert not sees(Actor.agent("bob"), scope, frozenset({"billing"}))
    assert not sees(Actor.agent("bob"), TicketScope.from_ticket(open_ticket()), frozenset())


def test_an_agent_sees_every_ticket_unless_limited_to_teams():
    assert Agent("eva", teams=("returns",)).visible_teams is None
    limited = Agent("eva", teams=("returns",), sees="teams")
    assert limited.sees is AgentScope.TEAMS
    assert limited.visible_teams == frozenset({"returns"})
    with pytest.raises(HelpdeskError, match="sees"):
        Agent("eva", sees="some")
