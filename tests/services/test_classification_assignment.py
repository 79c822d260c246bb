"""Automatic classification by keyword rules and the assignment chain, as seen in history."""

from __future__ import annotations

import pytest

from helpdesk_core.domain import (
    Actor,
    ActorKind,
    EventKind,
    IncidentType,
    Priority,
    StaffVia,
)
from helpdesk_core.domain.extensions import KeywordRule

EVA = Actor.agent("eva", "Eva Agentová")
RULES = (
    KeywordRule(keywords=("reklamace", "beschädigt"), incident_type="complaint/damaged",
                priority=Priority.HIGH, team="returns", tags=("claim",)),
    KeywordRule(keywords=("faktura",), incident_type="billing", tags=("invoice",)),
)


@pytest.fixture
def classifying(make_helpdesk):
    helpdesk = make_helpdesk(classification_rules=RULES)
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint"))
    helpdesk.configuration.define_incident_type(IncidentType("complaint/damaged", "Damaged"))
    helpdesk.configuration.define_incident_type(IncidentType("billing", "Billing"))
    return helpdesk


def by_classifier(helpdesk, ticket):
    return [e for e in helpdesk.tickets.history(ticket.id)
            if e.actor.kind is ActorKind.SYSTEM and e.actor.name == "classifier"]


def test_rules_set_incident_type_priority_team_and_tags(classifying):
    ticket = classifying.tickets.open_from_web_form({
        "email": "jana@example.cz", "message": "Reklamace: konvice dorazila rozbitá",
    })
    stored = classifying.tickets.get(ticket.id)
    assert stored.incident_type == "complaint/damaged"
    assert stored.priority is Priority.HIGH
    assert stored.team == "returns"
    assert stored.tags == {"claim"}
    changes = {(e.kind, e.new) for e in by_classifier(classifying, ticket)}
    assert changes == {
        (EventKind.INCIDENT_TYPE_CHANGED, "complaint/damaged"),
        (EventKind.PRIORITY_CHANGED, "high"),
        (EventKind.TEAM_CHANGED, "returns"),
        (EventKind.TAG_ADDED, "claim"),
    }
    seqs = [e.seq for e in classifying.tickets.history(ticket.id)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_two_rules_add_up_their_tags(classifying):
    ticket = classifying.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Faktura",
                                       message="Reklamace a faktura")
    assert classifying.tickets.get(ticket.id).tags == {"claim", "invoice"}


def test_rules_never_override_explicit_values(classifying):
    ticket = classifying.tickets.open_by_staff(
        agent=EVA, via=StaffVia.PHONE, subject="Reklamace", message="Lieferung beschädigt",
        priority=Priority.LOW, incident_type="billing", team="front-desk",
    )
    stored = classifying.tickets.get(ticket.id)
    assert stored.priority is Priority.LOW
    assert stored.incident_type == "billing"
    assert stored.team == "front-desk"
    assert stored.tags == {"claim"}  # tags only add, they override nothing
    kinds = {e.kind for e in by_classifier(classifying, ticket)}
    assert kinds == {EventKind.TAG_ADDED}


def test_an_explicit_normal_priority_is_also_kept(classifying):
    ticket = classifying.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Reklamace",
                                       message="x", priority=Priority.NORMAL)
    assert classifying.tickets.get(ticket.id).priority is Priority.NORMAL


def test_no_keyword_no_classification(classifying):
    ticket = classifying.tickets.open_from_web_form({"email": "jana@example.cz",
                                                     "message": "Hello"})
    assert by_classifier(classifying, ticket) == []
    assert classifying.tickets.get(ticket.id).incident_type is None


def test_a_suggested_incident_type_that_is_not_defined_is_ignored(make_helpdesk):
    helpdesk = make_helpdesk(classification_rules=RULES)  # no incident types defined
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz",
                                                  "message": "Reklamace"})
    stored = helpdesk.tickets.get(ticket.id)
    assert stored.incident_type is None
    assert stored.priority is Priority.HIGH


# -- assignment chain --------------------------------------------------------------------------


def assigned_events(helpdesk, ticket):
    return [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.ASSIGNED]


def test_assignment_from_the_incident_types_responsible_person(helpdesk):
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             responsible="petr",
                                               team="returns"))
    helpdesk.configuration.define_incident_type(IncidentType("complaint/damaged", "Damaged"))
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="x", message="x",
                                    incident_type="complaint/damaged",
                                    customer_email="petr@example.cz")
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == ("petr", "returns")
    [event] = assigned_events(helpdesk, ticket)
    assert event.actor == Actor.system("assignment")
    assert (event.old, event.new) == (None, "petr")
    reason = event.data["reason"]
    assert reason["winner"] == "incident_type"
    assert "complaint/damaged" in reason["why"]
    # the first resolver answered, so the chain stopped there
    assert reason["trace"] == [{"resolver": "incident_type", "answer": {
        "assignee": "petr", "team": "returns", "reason": reason["why"]}}]


def test_assignment_falls_back_to_the_customers_account_owner(helpdesk):
    helpdesk.configuration.define_incident_type(IncidentType("question", "Question"))
    ticket = helpdesk.tickets.open_from_web_form({"email": "petr@example.cz", "message": "Dotaz"})
    stored = helpdesk.tickets.get(ticket.id)
    assert stored.assignee == "olga"
    [event] = assigned_events(helpdesk, ticket)
    reason = event.data["reason"]
    assert reason["winner"] == "account_owner"
    assert [step["resolver"] for step in reason["trace"]] == ["incident_type", "account_owner"]
    assert reason["trace"][0]["answer"] is None
    assert reason["trace"][1]["answer"]["assignee"] == "olga"


def test_a_team_only_responsibility_sets_the_team_and_ends_the_chain(helpdesk):
    helpdesk.configuration.define_incident_type(IncidentType("billing", "Billing",
                                                             team="accounting"))
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="x", message="x",
                                    incident_type="billing", customer_email="petr@example.cz")
    stored = helpdesk.tickets.get(ticket.id)
    assert stored.team == "accounting"
    assert stored.assignee is None
    assert assigned_events(helpdesk, ticket) == []
    [team] = [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.TEAM_CHANGED]
    assert team.actor == Actor.system("assignment")
    assert team.data["reason"]["winner"] == "incident_type"


def test_nobody_to_assign(helpdesk):
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Dotaz"})
    assert helpdesk.tickets.get(ticket.id).assignee is None
    assert assigned_events(helpdesk, ticket) == []


def test_an_explicit_assignee_is_not_replaced(helpdesk):
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="x", message="x",
                                    customer_email="petr@example.cz", assignee="karel")
    assert helpdesk.tickets.get(ticket.id).assignee == "karel"
    assert assigned_events(helpdesk, ticket) == []


def test_classification_feeds_the_assignment_chain(make_helpdesk):
    helpdesk = make_helpdesk(classification_rules=RULES)
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             responsible="zdenek"))
    helpdesk.configuration.define_incident_type(IncidentType("complaint/damaged", "Damaged"))
    ticket = helpdesk.tickets.open_from_web_form({"email": "petr@example.cz",
                                          "message": "Reklamace toustovače"})
    stored = helpdesk.tickets.get(ticket.id)
    assert stored.incident_type == "complaint/damaged"
    assert stored.assignee == "zdenek"  # the incident type wins over the account owner
    history = helpdesk.tickets.history(ticket.id)
    classified = next(e for e in history if e.kind is EventKind.INCIDENT_TYPE_CHANGED)
    assigned = next(e for e in history if e.kind is EventKind.ASSIGNED)
    assert classified.seq < assigned.seq
