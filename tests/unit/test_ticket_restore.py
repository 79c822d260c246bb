"""``Ticket.restore``: a stored ticket rebuilt from the fields of its snapshot, by keyword."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import Channel, EntityRef, Priority, StatusCategory, Ticket, Workflow
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import AGENT, open_ticket

WORKFLOW = Workflow.default()


def stored_values(ticket: Ticket) -> dict[str, Any]:
    """The snapshot's fields with the typed values a storage gives back."""
    values = ticket.snapshot()
    values.update(
        status_category=StatusCategory(values["status_category"]),
        priority=Priority(values["priority"]),
        channel=Channel(values["channel"]),
        links=frozenset(EntityRef.parse(ref) for ref in values["links"]),
        tags=frozenset(values["tags"]),
    )
    return values


@st.composite
def stored_tickets(draw: st.DrawFn) -> Ticket:
    """Tickets as they look once stored: changed a few times, events collected."""
    ticket = open_ticket(**draw(strategies.ticket_kwargs()))
    at = ticket.created_at
    for _ in range(draw(st.integers(0, 3))):
        at += timedelta(minutes=draw(st.integers(0, 600)))
        targets = [s.key for s in WORKFLOW.allowed_targets(ticket.status)]
        ticket.transition(draw(st.sampled_from(targets)), workflow=WORKFLOW, at=at, actor=AGENT)
    if draw(st.booleans()):
        ticket.set_due(draw(strategies.instants()), at=at, actor=AGENT)
    ticket.collect()
    ticket.version = draw(st.integers(1, 10**6))
    if draw(st.booleans()):
        ticket.merged_into = draw(st.sampled_from(["t-1", "t-2"]))
    return ticket


@settings(max_examples=150, deadline=None)
@given(stored_tickets())
def test_restore_round_trips_the_snapshot(ticket: Ticket) -> None:
    restored = Ticket.restore(**stored_values(ticket))
    assert restored.snapshot() == ticket.snapshot()
    assert (restored.pending_events, restored.pending_articles,
            restored.pending_arrivals) == ([], [], [])
    assert not restored.has_changes
    for field in attrs.fields(Ticket):  # the same values, of the same types
        assert type(getattr(restored, field.name)) is type(getattr(ticket, field.name))


def test_restore_takes_exactly_the_snapshots_keys() -> None:
    persisted = {f.name for f in attrs.fields(Ticket)} - {"pending_events", "pending_articles",
                                                          "pending_arrivals"}
    assert set(open_ticket().snapshot()) == persisted
    assert set(stored_values(open_ticket())) == persisted


def test_an_unknown_key_is_a_type_error() -> None:
    values = stored_values(open_ticket())
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Ticket.restore(**values, colour="red")


@pytest.mark.parametrize("missing", ["due_at", "tags", "event_seq"])
def test_a_missing_key_is_a_type_error(missing: str) -> None:
    values = stored_values(open_ticket())
    del values[missing]
    with pytest.raises(TypeError, match=f"missing 1 required keyword-only argument: '{missing}'"):
        Ticket.restore(**values)


def test_values_are_taken_by_keyword_only() -> None:
    with pytest.raises(TypeError, match="positional"):
        Ticket.restore(*stored_values(open_ticket()).values())  # type: ignore[misc]


def test_restore_keeps_the_stored_values_as_given() -> None:
    """Nothing is cleaned or validated again: a storage gives back what it was given."""
    values = stored_values(open_ticket(custom_fields={"weight": 2.5}))
    values["subject"] = "  stored long ago,\tbefore a rule changed  "
    restored = Ticket.restore(**values)
    assert restored.subject == values["subject"]
    assert restored.custom_fields is values["custom_fields"]


# -- the restorer: the same ticket, the fields in an order of the storage's choosing ---------


@settings(max_examples=100, deadline=None)
@given(ticket=stored_tickets(), order=st.permutations(sorted(Ticket.open(
    number="HD-1", subject="x", channel=Channel.EMAIL, at=open_ticket().created_at,
    actor=AGENT).snapshot())))
def test_a_restorer_builds_what_restore_builds_for_any_order_of_the_fields(
        ticket: Ticket, order: list[str]) -> None:
    values = stored_values(ticket)
    built = Ticket.restorer(order)([values[name] for name in order])
    assert built.snapshot() == Ticket.restore(**values).snapshot() == ticket.snapshot()
    assert built.pending_events == []
    assert built.pending_articles == []


@pytest.mark.parametrize("names", [
    ["id"],  # most fields missing
    [*stored_values(open_ticket()), "colour"],  # one unknown
    [*stored_values(open_ticket()), "id"],  # one twice
    [n for n in stored_values(open_ticket()) if n != "tags"],  # one missing
])
def test_a_restorer_refuses_names_that_are_not_every_persisted_field_once(
        names: list[str]) -> None:
    with pytest.raises(TypeError, match="every persisted field once"):
        Ticket.restorer(names)
