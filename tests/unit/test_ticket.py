"""The Ticket aggregate: one event per change, ordered history, validation, refusals."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import (
    Actor,
    Channel,
    Direction,
    EntityKind,
    EntityRef,
    EventKind,
    Priority,
    Status,
    StatusCategory,
    Ticket,
    Workflow,
)
from helpdesk_core.errors import DomainError, InvalidTransition, ValidationError
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import open_ticket

FAST = settings(max_examples=60, deadline=None)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor.agent("agent-7", "Eva")
WORKFLOW = Workflow.with_custom([Status("awaiting_parts", StatusCategory.WAITING_ON_THIRD_PARTY)])
ORDER = EntityRef(EntityKind.ORDER, "eshop", "2026-00042")
RMA = EntityRef(EntityKind.RMA, "erp", "R-7")

# Characters that must never survive into a one-line value such as a subject.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def new_ticket(**kwargs: Any) -> Ticket:
    kwargs.setdefault("at", T0)
    return open_ticket(**kwargs)


# -- creation ----------------------------------------------------------------------------------


def test_open_records_one_created_event():
    ticket = Ticket.open(number="HD-2026-000001", subject="Broken kettle", channel=Channel.EMAIL,
                         at=T0, actor=AGENT, data={"via": "phone"})
    assert ticket.status == "new"
    assert ticket.status_category is StatusCategory.NEW
    assert ticket.created_at == ticket.updated_at == T0
    [event] = ticket.pending_events
    assert event.kind is EventKind.CREATED
    assert event.seq == 1 == ticket.event_seq
    assert event.ticket_id == ticket.id
    assert event.actor == AGENT
    assert event.data == {"number": "HD-2026-000001", "channel": "email", "via": "phone"}


def test_open_normalises_the_instant_to_utc():
    prague = timezone(timedelta(hours=1))
    ticket = new_ticket(at=datetime(2026, 3, 2, 10, 0, tzinfo=prague))
    assert ticket.created_at == T0
    assert ticket.created_at.utcoffset() == timedelta(0)


def test_open_refuses_a_naive_datetime():
    with pytest.raises(ValidationError) as info:
        new_ticket(at=datetime(2026, 3, 2, 9, 0))
    assert info.value.field == "at"


def test_ids_are_unique():
    assert len({new_ticket().id for _ in range(50)}) == 50


# -- one event per change ----------------------------------------------------------------------

refs = st.sampled_from([ORDER, RMA, EntityRef(EntityKind.INVOICE, "erp", "F-1")])
operations = st.one_of(
    st.tuples(st.just("priority"), st.sampled_from(list(Priority))),
    st.tuples(st.just("subject"), st.sampled_from(["Kettle", " Kettle  ", "Kettle broke"])),
    st.tuples(st.just("assign"), st.sampled_from([None, "alice", "bob"])),
    st.tuples(st.just("team"), st.sampled_from([None, "returns", "billing"])),
    st.tuples(st.just("incident_type"), st.sampled_from([None, "complaint", "question"])),
    st.tuples(st.just("customer"), st.sampled_from([(None, None), ("c1", None), ("c1", "o1")])),
    st.tuples(st.just("add_tag"), st.sampled_from(["vip", "VIP", " b2b "])),
    st.tuples(st.just("remove_tag"), st.sampled_from(["vip", "b2b"])),
    st.tuples(st.just("field"), st.sampled_from(["serial_no", "weight"]),
              st.sampled_from([None, 1, 1.0, True, "1", "x"])),
    st.tuples(st.just("link"), refs),
    st.tuples(st.just("unlink"), refs),
    st.tuples(st.just("due"), st.none() | st.sampled_from([later(60), later(120)])),
    st.tuples(st.just("transition"), st.sampled_from(list(WORKFLOW.statuses))),
    st.tuples(st.just("article"), st.sampled_from(list(Direction))),
)


def _typed(value: Any) -> Any:
    return (type(value).__name__, value)


def _state(ticket: Ticket) -> dict[str, Any]:
    snap = ticket.snapshot()
    snap["custom_fields"] = {k: _typed(v) for k, v in snap["custom_fields"].items()}
    for volatile in ("updated_at", "event_seq", "version"):
        del snap[volatile]
    return snap


def _apply(ticket: Ticket, op: tuple[Any, ...], at: datetime) -> None:
    name, *args = op
    if name == "priority":
        ticket.set_priority(args[0], at=at, actor=AGENT)
    elif name == "subject":
        ticket.set_subject(args[0], at=at, actor=AGENT)
    elif name == "assign":
        ticket.assign(args[0], at=at, actor=AGENT, reason={"winner": "manual"})
    elif name == "team":
        ticket.set_team(args[0], at=at, actor=AGENT)
    elif name == "incident_type":
        ticket.set_incident_type(args[0], at=at, actor=AGENT)
    elif name == "customer":
        ticket.set_customer(args[0][0], organisation_id=args[0][1], at=at, actor=AGENT)
    elif name == "add_tag":
        ticket.add_tag(args[0], at=at, actor=AGENT)
    elif name == "remove_tag":
        ticket.remove_tag(args[0], at=at, actor=AGENT)
    elif name == "field":
        ticket.set_field(args[0], args[1], at=at, actor=AGENT)
    elif name == "link":
        ticket.link(args[0], at=at, actor=AGENT)
    elif name == "unlink":
        ticket.unlink(args[0], at=at, actor=AGENT)
    elif name == "due":
        ticket.set_due(args[0], at=at, actor=AGENT)
    elif name == "transition":
        ticket.transition(args[0], workflow=WORKFLOW, at=at, actor=AGENT)
    elif name == "article":
        ticket.add_article(direction=args[0], channel=Channel.EMAIL, author=AGENT,
                           body_text="Hello", at=at)
    else:  # pragma: no cover
        raise AssertionError(name)


EXPECTED_KIND = {
    "priority": EventKind.PRIORITY_CHANGED, "subject": EventKind.SUBJECT_CHANGED,
    "assign": EventKind.ASSIGNED, "team": EventKind.TEAM_CHANGED,
    "incident_type": EventKind.INCIDENT_TYPE_CHANGED, "customer": EventKind.CUSTOMER_CHANGED,
    "add_tag": EventKind.TAG_ADDED, "remove_tag": EventKind.TAG_REMOVED,
    "field": EventKind.FIELD_CHANGED, "link": EventKind.LINK_ADDED,
    "unlink": EventKind.LINK_REMOVED, "due": EventKind.DUE_CHANGED,
    "transition": EventKind.STATUS_CHANGED, "article": EventKind.ARTICLE_ADDED,
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _expected_old_new(op: tuple[Any, ...], before: dict[str, Any],
                      after: dict[str, Any]) -> tuple[Any, Any]:
    name = op[0]
    simple = {"priority": "priority", "subject": "subject", "assign": "assignee", "team": "team",
              "incident_type": "incident_type", "transition": "status"}
    if name in simple:
        key = simple[name]
        return before[key], after[key]
    if name == "customer":
        keys = ("customer_id", "organisation_id")
        return {k: before[k] for k in keys}, {k: after[k] for k in keys}
    if name == "add_tag":
        return None, (after["tags"] and (set(after["tags"]) - set(before["tags"])).pop())
    if name == "remove_tag":
        return (set(before["tags"]) - set(after["tags"])).pop(), None
    if name == "field":
        old = before["custom_fields"].get(op[1])
        return (old[1] if old else None), after["custom_fields"][op[1]][1]
    if name == "link":
        return None, str(op[1])
    if name == "unlink":
        return str(op[1]), None
    if name == "due":
        return _iso(before["due_at"]), _iso(after["due_at"])
    raise AssertionError(name)  # pragma: no cover


@FAST
@given(steps=st.lists(st.tuples(operations, st.integers(-600, 600)), max_size=25))
def test_each_change_records_exactly_one_event_and_no_op_records_none(steps):
    ticket = new_ticket()
    latest = ticket.updated_at
    for op, offset in steps:
        at = later(offset)
        before, seq_before, updated_before = _state(ticket), ticket.event_seq, ticket.updated_at
        events_before = len(ticket.pending_events)
        try:
            _apply(ticket, op, at)
        except InvalidTransition:
            assert op[0] == "transition"
            assert _state(ticket) == before
            assert len(ticket.pending_events) == events_before
            assert ticket.updated_at == updated_before
            continue
        after = _state(ticket)
        new_events = ticket.pending_events[events_before:]
        if after == before and op[0] != "article":
            assert new_events == [], op
            assert ticket.event_seq == seq_before
            assert ticket.updated_at == updated_before
            continue
        [event] = new_events
        assert event.kind is EXPECTED_KIND[op[0]]
        assert event.seq == seq_before + 1 == ticket.event_seq
        assert event.at == at
        assert event.actor == AGENT
        if op[0] != "article":
            assert (event.old, event.new) == _expected_old_new(op, before, after)
        latest = max(latest, at)
        # the ticket's clock never runs backwards, even when the caller's does
        assert ticket.updated_at == latest >= updated_before
    assert [e.seq for e in ticket.pending_events] == list(range(1, ticket.event_seq + 1))


def test_transition_records_old_and_new_status_and_categories():
    ticket = new_ticket()
    ticket.transition("awaiting_parts", workflow=WORKFLOW, at=later(1), actor=AGENT)
    assert ticket.status == "awaiting_parts"
    assert ticket.status_category is StatusCategory.WAITING_ON_THIRD_PARTY
    event = ticket.pending_events[-1]
    assert (event.field, event.old, event.new) == ("status", "new", "awaiting_parts")
    assert event.data == {"from_category": "new", "to_category": "waiting_on_third_party"}


def test_refused_transition_changes_nothing():
    ticket = new_ticket()
    with pytest.raises(InvalidTransition):
        ticket.transition("merged", workflow=WORKFLOW, at=later(1), actor=AGENT)
    assert ticket.status == "new"
    assert len(ticket.pending_events) == 1


def test_assign_keeps_the_reason_in_the_event():
    ticket = new_ticket()
    ticket.assign("alice", at=later(1), actor=AGENT, reason={"winner": "manual"})
    event = ticket.pending_events[-1]
    assert (event.old, event.new, event.data) == (None, "alice", {"reason": {"winner": "manual"}})
    ticket.assign(None, at=later(2), actor=AGENT)
    assert ticket.assignee is None
    assert (ticket.pending_events[-1].old, ticket.pending_events[-1].new) == ("alice", None)


def test_set_field_distinguishes_types():
    ticket = new_ticket()
    ticket.set_field("count", 1, at=later(1), actor=AGENT)
    ticket.set_field("count", 1, at=later(2), actor=AGENT)  # no-op
    ticket.set_field("count", True, at=later(3), actor=AGENT)  # 1 == True, still a change
    assert [(e.old, e.new) for e in ticket.pending_events[1:]] == [(None, 1), (1, True)]
    assert ticket.custom_fields["count"] is True


def test_collect_hands_over_events_and_articles_once():
    ticket = new_ticket()
    article = ticket.add_article(direction=Direction.INBOUND, channel=Channel.EMAIL,
                                 author=AGENT, body_text="Hi", at=later(1))
    events, articles = ticket.collect()
    assert [e.seq for e in events] == [1, 2]
    assert articles == [article]
    assert not ticket.has_changes
    assert ticket.collect() == ([], [])
    ticket.set_priority(Priority.HIGH, at=later(2), actor=AGENT)
    assert [e.seq for e in ticket.pending_events] == [3]  # no gap after a hand-over


def test_internal_articles_are_never_public():
    ticket = new_ticket()
    note = ticket.add_article(direction=Direction.INTERNAL, channel=Channel.STAFF,
                              author=AGENT, body_text="between us", at=later(1))
    assert note.public is False
    assert ticket.pending_events[-1].data["public"] is False
    with pytest.raises(ValidationError):
        ticket.add_article(direction=Direction.INTERNAL, channel=Channel.STAFF, author=AGENT,
                           body_text="leak", at=later(2), public=True)
    assert len(ticket.pending_events) == 2


# -- hostile text ------------------------------------------------------------------------------


def test_subject_is_cleaned_of_control_line_separator_and_bidi_characters():
    ticket = new_ticket(subject="  Refund\x00\x07 now\u2028\u2029please\ufeff \u202eexe.pdf"
                                "\u2066x\u2069\r\nBcc: victim@example.com\x85\x9b  ")
    assert "\n" not in ticket.subject
    assert not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in ticket.subject)
    assert not BIDI_CONTROLS & set(ticket.subject)
    assert "\ufeff" not in ticket.subject
    assert ticket.subject.startswith("Refund now")
    assert ticket.subject.endswith("Bcc: victim@example.com")


@FAST
@given(text=st.text(max_size=80) | strategies.hostile_text())
def test_any_subject_is_either_refused_or_clean(text):
    try:
        ticket = new_ticket(subject=text)
    except ValidationError as exc:
        refused_field = exc.field
    else:
        refused_field = None
    if refused_field is not None:
        assert refused_field == "subject"
        return
    subject = ticket.subject
    assert subject
    assert subject == subject.strip()
    assert "  " not in subject
    assert not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in subject)
    assert not BIDI_CONTROLS & set(subject)
    assert unicodedata.is_normalized("NFC", subject)
    # cleaning is idempotent: saving the subject again is a no-op
    ticket.set_subject(subject, at=later(1), actor=AGENT)
    assert len(ticket.pending_events) == 1


@pytest.mark.parametrize("subject", ["", "   ", "\x00\x01", "\u2028", 42, None])
def test_empty_or_non_text_subject_is_refused(subject):
    with pytest.raises(ValidationError) as info:
        new_ticket(subject=subject)
    assert info.value.field == "subject"


def test_subject_length_limit():
    assert len(new_ticket(subject="x" * 500).subject) == 500
    with pytest.raises(ValidationError):
        new_ticket(subject="x" * 501)
    ticket = new_ticket()
    with pytest.raises(ValidationError):
        ticket.set_subject("y" * 501, at=later(1), actor=AGENT)
    assert len(ticket.pending_events) == 1


# -- tags, custom fields, links ----------------------------------------------------------------


def test_tags_are_normalised():
    ticket = new_ticket(tags=["  VIP   Customer ", "Rückgabe"])
    assert ticket.tags == {"vip-customer", "rückgabe"}


@pytest.mark.parametrize("tag", ["", "   ", "-leading-dash", "a" * 65, "semi;colon", "tab\tinside;",
                                 7, None])
def test_invalid_tags_are_refused(tag):
    ticket = new_ticket()
    with pytest.raises(ValidationError) as info:
        ticket.add_tag(tag, at=later(1), actor=AGENT)
    assert info.value.field == "tag"
    assert ticket.tags == frozenset()
    assert len(ticket.pending_events) == 1


def test_tag_limit():
    tags = [f"tag{i}" for i in range(50)]
    ticket = new_ticket(tags=tags)
    with pytest.raises(ValidationError) as info:
        ticket.add_tag("one-too-many", at=later(1), actor=AGENT)
    assert info.value.field == "tags"
    assert len(ticket.tags) == 50
    assert len(ticket.pending_events) == 1
    ticket.add_tag("tag0", at=later(2), actor=AGENT)  # already there: fine, no event
    assert len(ticket.pending_events) == 1
    with pytest.raises(ValidationError):
        new_ticket(tags=[*tags, "tag50"])


def test_link_limit():
    links = [EntityRef(EntityKind.ORDER, "eshop", f"O-{i}") for i in range(100)]
    ticket = new_ticket(links=links)
    with pytest.raises(ValidationError) as info:
        ticket.link(RMA, at=later(1), actor=AGENT)
    assert info.value.field == "links"
    assert RMA not in ticket.links
    assert len(ticket.pending_events) == 1
    with pytest.raises(ValidationError):
        new_ticket(links=[*links, RMA])


@pytest.mark.parametrize("name", ["Serial", "1st", "with-dash", "a" * 64, "", "x\n", 5])
def test_invalid_custom_field_names_are_refused(name):
    with pytest.raises(ValidationError) as info:
        new_ticket(custom_fields={name: "v"})
    assert info.value.field == "custom_fields"
    ticket = new_ticket()
    with pytest.raises(ValidationError):
        ticket.set_field(name, "v", at=later(1), actor=AGENT)
    assert ticket.custom_fields == {}


@pytest.mark.parametrize(
    "value", [["list"], {"nested": 1}, b"bytes", float("nan"), float("inf"), float("-inf"),
              "x" * 4001, T0],
)
def test_invalid_custom_field_values_are_refused(value):
    ticket = new_ticket()
    with pytest.raises(ValidationError) as info:
        ticket.set_field("serial_no", value, at=later(1), actor=AGENT)
    assert info.value.field == "custom_fields.serial_no"
    assert ticket.custom_fields == {}
    assert len(ticket.pending_events) == 1


def test_custom_field_text_is_cleaned():
    ticket = new_ticket(custom_fields={"note": " fragile\x00\r\nhandle with care\u2028 "})
    assert ticket.custom_fields == {"note": "fragile\nhandle with care"}


@pytest.mark.parametrize("value", [None, True, 0, -(2**53), 2.5, "", "ok"])
def test_valid_custom_field_values(value):
    ticket = new_ticket()
    ticket.set_field("serial_no", value, at=later(1), actor=AGENT)
    assert ticket.custom_fields["serial_no"] == value


# -- instants ----------------------------------------------------------------------------------

NAIVE = datetime(2026, 3, 2, 10, 0)

CHANGES = {
    "transition": lambda t, at: t.transition("open", workflow=WORKFLOW, at=at, actor=AGENT),
    "priority": lambda t, at: t.set_priority(Priority.URGENT, at=at, actor=AGENT),
    "subject": lambda t, at: t.set_subject("Another subject", at=at, actor=AGENT),
    "assign": lambda t, at: t.assign("alice", at=at, actor=AGENT),
    "team": lambda t, at: t.set_team("returns", at=at, actor=AGENT),
    "incident_type": lambda t, at: t.set_incident_type("complaint", at=at, actor=AGENT),
    "customer": lambda t, at: t.set_customer("c9", organisation_id=None, at=at, actor=AGENT),
    "add_tag": lambda t, at: t.add_tag("new-tag", at=at, actor=AGENT),
    "remove_tag": lambda t, at: t.remove_tag("existing", at=at, actor=AGENT),
    "field": lambda t, at: t.set_field("serial_no", "SN-1", at=at, actor=AGENT),
    "link": lambda t, at: t.link(RMA, at=at, actor=AGENT),
    "unlink": lambda t, at: t.unlink(ORDER, at=at, actor=AGENT),
    "due": lambda t, at: t.set_due(later(600), at=at, actor=AGENT),
    "article": lambda t, at: t.add_article(direction=Direction.INBOUND, channel=Channel.EMAIL,
                                           author=AGENT, body_text="Hello", at=at),
}


def _ticket_with_something_to_remove() -> Ticket:
    ticket = new_ticket(tags=["existing"], links=[ORDER])
    ticket.collect()
    return ticket


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_naive_datetimes_are_refused_and_nothing_changes(change):
    ticket = _ticket_with_something_to_remove()
    before = _state(ticket)
    with pytest.raises(ValidationError):
        CHANGES[change](ticket, NAIVE)
    assert _state(ticket) == before
    assert ticket.pending_events == []
    assert ticket.pending_articles == []
    assert ticket.event_seq == 1


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_works_on_an_active_ticket(change):
    ticket = _ticket_with_something_to_remove()
    CHANGES[change](ticket, later(5))
    [event] = ticket.pending_events
    assert event.seq == 2
    assert ticket.updated_at == later(5)


def test_naive_due_date_is_refused():
    ticket = new_ticket()
    with pytest.raises(ValidationError) as info:
        ticket.set_due(NAIVE, at=later(1), actor=AGENT)
    assert info.value.field == "due_at"
    assert ticket.due_at is None


# -- merged tickets ----------------------------------------------------------------------------


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_merged_ticket_refuses_every_change(change):
    ticket = _ticket_with_something_to_remove()
    ticket.status, ticket.status_category = "merged", StatusCategory.MERGED
    before = _state(ticket)
    with pytest.raises(DomainError, match="merged"):
        CHANGES[change](ticket, later(5))
    assert _state(ticket) == before
    assert ticket.pending_events == []
    assert ticket.pending_articles == []
