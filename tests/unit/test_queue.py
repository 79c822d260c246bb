"""The queue definition: filters, sort orders and keyset pagination with opaque cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import (
    Actor,
    Priority,
    QueueSort,
    StatusCategory,
    Ticket,
    TicketQuery,
    Workflow,
)
from helpdesk_core.domain.keys import could_exist
from helpdesk_core.domain.queue import FAR_FUTURE, decode_cursor, encode_cursor
from helpdesk_core.errors import ValidationError
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import open_ticket

FAST = settings(max_examples=60, deadline=None)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor.agent("agent-1")
WORKFLOW = Workflow.default()


def _raw_cursor(payload: Any) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@st.composite
def ticket_sets(draw: st.DrawFn) -> list[Ticket]:
    tickets = []
    for seq, kwargs in enumerate(draw(st.lists(strategies.ticket_kwargs(), max_size=14)), 1):
        ticket = open_ticket(seq=seq, **kwargs)
        target = draw(st.sampled_from([None, "open", "waiting_on_customer", "resolved",
                                       "closed"]))
        if target is not None:
            ticket.transition(target, workflow=WORKFLOW, at=ticket.created_at, actor=AGENT)
        if draw(st.booleans()):
            due = draw(st.sampled_from([T0, T0 + timedelta(days=1)]) | strategies.instants())
            ticket.set_due(due, at=ticket.created_at, actor=AGENT)
        tickets.append(ticket)
    return tickets


def _all_pages(query: TicketQuery, tickets: list[Ticket]) -> list[list[Ticket]]:
    pages = []
    while True:
        page = query.apply(tickets)
        pages.append(list(page.items))
        assert len(pages) <= len(tickets) + 1, "paging does not terminate"
        if page.next_cursor is None:
            return pages
        query = attrs.evolve(query, after=page.next_cursor)


@settings(max_examples=40, deadline=None)
@given(tickets=ticket_sets(), query=strategies.queries())
def test_paging_visits_every_matching_ticket_once_in_sort_order(tickets, query):
    expected = sorted((t for t in tickets if query.matches(t)), key=query.sort.key,
                      reverse=query.sort.descending)
    pages = _all_pages(query, tickets)
    visited = [t for page in pages for t in page]
    assert [t.id for t in visited] == [t.id for t in expected]
    assert all(len(page) <= query.limit for page in pages)
    # only the last page may be short, and an empty page only when nothing matches
    assert all(len(page) == query.limit for page in pages[:-1])
    assert pages[-1] or not expected


@settings(max_examples=40, deadline=None)
@given(tickets=ticket_sets(), query=strategies.queries())
def test_paging_is_stable_when_tickets_are_added_between_pages(tickets, query):
    first = query.apply(tickets)
    if first.next_cursor is None:
        return
    newcomer = open_ticket(seq=10_000, at=T0 + timedelta(days=500), priority=Priority.LOW)
    rest = [t for page in _all_pages(attrs.evolve(query, after=first.next_cursor),
                                     [*tickets, newcomer]) for t in page]
    seen = [t.id for t in first.items] + [t.id for t in rest]
    assert len(seen) == len(set(seen))
    expected = {t.id for t in tickets if query.matches(t)}
    assert expected <= set(seen)


def test_priority_sort_is_most_urgent_then_oldest():
    low = open_ticket(seq=1, at=T0, priority=Priority.LOW)
    old_normal = open_ticket(seq=2, at=T0, priority=Priority.NORMAL)
    new_normal = open_ticket(seq=3, at=T0 + timedelta(hours=1), priority=Priority.NORMAL)
    urgent = open_ticket(seq=4, at=T0 + timedelta(hours=2), priority=Priority.URGENT)
    page = TicketQuery().apply([low, new_normal, urgent, old_normal])
    assert page.items == [urgent, old_normal, new_normal, low]
    assert page.next_cursor is None


def test_due_sort_puts_tickets_without_due_date_last():
    none = open_ticket(seq=1, at=T0)
    later = open_ticket(seq=2, at=T0)
    sooner = open_ticket(seq=3, at=T0)
    later.set_due(T0 + timedelta(days=2), at=T0, actor=AGENT)
    sooner.set_due(T0 + timedelta(days=1), at=T0, actor=AGENT)
    assert TicketQuery(sort=QueueSort.DUE).apply([none, later, sooner]).items == [
        sooner, later, none
    ]
    assert QueueSort.DUE.key(none)[0] == FAR_FUTURE


def test_newest_and_oldest():
    tickets = [open_ticket(seq=i, at=T0 + timedelta(minutes=i)) for i in range(1, 6)]
    newest = TicketQuery(sort=QueueSort.NEWEST, limit=2)
    page = newest.apply(tickets)
    assert page.items == [tickets[4], tickets[3]]
    page2 = attrs.evolve(newest, after=page.next_cursor).apply(tickets)
    assert page2.items == [tickets[2], tickets[1]]
    assert TicketQuery(sort=QueueSort.OLDEST, limit=1).apply(tickets).items == [tickets[0]]


def test_filters():
    a = open_ticket(seq=1, at=T0, team="returns", assignee="alice", tags=["vip"],
                    incident_type="complaint/damaged", customer_id="c1")
    b = open_ticket(seq=2, at=T0, incident_type="complaints", customer_id="c2")
    c = open_ticket(seq=3, at=T0, incident_type="complaint")
    c.transition("closed", workflow=WORKFLOW, at=T0, actor=AGENT)
    everything = [a, b, c]

    def ids(query: TicketQuery) -> set[str]:
        return {t.number for t in query.apply(everything).items}

    assert ids(TicketQuery(incident_type="complaint")) == {a.number, c.number}
    assert ids(TicketQuery.active(incident_type="complaint")) == {a.number}
    assert ids(TicketQuery(unassigned=True)) == {b.number, c.number}
    assert ids(TicketQuery(assignee="alice", team="returns")) == {a.number}
    assert ids(TicketQuery(tags=frozenset({"VIP"}))) == {a.number}
    assert ids(TicketQuery(customer_id="c2")) == {b.number}
    assert ids(TicketQuery(priorities=frozenset({Priority.HIGH}))) == set()
    assert ids(TicketQuery(status_categories=frozenset({StatusCategory.CLOSED}))) == {c.number}


def test_active_queue_means_work_is_expected():
    assert TicketQuery.active().status_categories == {
        StatusCategory.NEW, StatusCategory.OPEN, StatusCategory.WAITING_ON_CUSTOMER,
        StatusCategory.WAITING_ON_THIRD_PARTY,
    }


@pytest.mark.parametrize("limit", [0, -1, 501])
def test_limit_bounds(limit):
    with pytest.raises(ValidationError) as info:
        TicketQuery(limit=limit)
    assert info.value.field == "limit"


def test_unassigned_and_assignee_exclude_each_other():
    with pytest.raises(ValidationError):
        TicketQuery(unassigned=True, assignee="alice")


def test_invalid_tag_filter_is_refused():
    with pytest.raises(ValidationError):
        TicketQuery(tags=frozenset({"no;semicolons"}))


# -- cursors -----------------------------------------------------------------------------------


def _refused(cursor: object, sort: QueueSort) -> bool:
    """True if the cursor is refused with the right error; any other exception propagates."""
    try:
        TicketQuery(sort=sort, after=cursor)
    except ValidationError as exc:
        field = exc.field
    else:
        return False
    assert field == "after"
    return True


@FAST
@given(cursor=st.text(max_size=500), sort=st.sampled_from(list(QueueSort)))
def test_random_text_is_never_anything_but_a_validation_error(cursor, sort):
    _refused(cursor, sort)


@FAST
@given(raw=st.binary(max_size=300), sort=st.sampled_from(list(QueueSort)))
def test_random_base64_is_never_anything_but_a_validation_error(raw, sort):
    assert _refused(base64.urlsafe_b64encode(raw).decode().rstrip("="), sort)


offsets = st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=70)
    | st.datetimes(timezones=st.none() | offsets).map(lambda d: d.isoformat())
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=12)


@FAST
@given(
    head=st.sampled_from([q.value for q in QueueSort]) | json_scalars,
    tail=st.lists(json_values, max_size=4),
    sort=st.sampled_from(list(QueueSort)),
)
def test_structured_garbage_is_never_anything_but_a_validation_error(head, tail, sort):
    _refused(_raw_cursor([head, *tail]), sort)


FIXED = [open_ticket(seq=i, at=T0 + timedelta(minutes=i), priority=list(Priority)[i % 4])
         for i in range(1, 6)]


@FAST
@given(sort=st.sampled_from(list(QueueSort)), data=st.data())
def test_tampered_cursors_are_refused_or_harmless(sort, data):
    cursor = TicketQuery(sort=sort, limit=2).apply(FIXED).next_cursor
    assert cursor is not None
    position = data.draw(st.integers(0, len(cursor) - 1))
    replacement = data.draw(st.sampled_from("AZaz09-_=+/.%!é"))
    tampered = cursor[:position] + replacement + cursor[position + 1:]
    if not _refused(tampered, sort):
        # still a well-formed cursor: it must be usable
        TicketQuery(sort=sort, limit=2, after=tampered).apply(FIXED)


def test_a_cursor_from_another_sort_order_is_refused():
    tickets = [open_ticket(seq=i, at=T0 + timedelta(minutes=i)) for i in range(1, 4)]
    for sort in QueueSort:
        cursor = TicketQuery(sort=sort, limit=1).apply(tickets).next_cursor
        assert cursor is not None
        assert not _refused(cursor, sort)
        for other in QueueSort:
            if other is not sort:
                assert _refused(cursor, other), (sort, other)


@pytest.mark.parametrize(
    "payload",
    [
        ["priority", 4, "2026-03-02T09:00:00+00:00", "id"],  # rank out of range
        ["priority", "0", "2026-03-02T09:00:00+00:00", "id"],
        ["priority", 0, "2026-03-02T09:00:00", "id"],  # naive
        ["priority", 0, "2026-03-02T09:00:00+00:00"],  # too short
        ["priority", 0, "2026-03-02T09:00:00+00:00", "id", "extra"],
        ["priority", 0, "2026-03-02T09:00:00+00:00", 12],
        ["priority", 0, "2026-03-02T09:00:00+00:00", "x" * 65],
        ["due", "9999-12-31T23:59:59-01:00", "id"],  # past year 9999 in UTC
        ["due", "0001-01-01T00:00:00+01:00", "id"],  # before year 1 in UTC
        ["due", 1767225600, "id"],
        ["due", None, "id"],
        ["due", ["2026-03-02T09:00:00+00:00"], "id"],
        ["newest"],
        [],
        {"sort": "due"},
        "due",
        None,
    ],
)
def test_hand_made_cursors_are_refused(payload):
    sort = QueueSort(payload[0]) if isinstance(payload, list) and payload else QueueSort.DUE
    assert _refused(_raw_cursor(payload), sort)


@pytest.mark.parametrize("cursor", ["", "=", "!!!", "é", "a" * 401, 42, b"bytes", ["x"]])
def test_malformed_cursor_values_are_refused(cursor):
    for sort in QueueSort:
        assert _refused(cursor, sort)


def test_cursor_round_trip():
    key = (1, T0, "abc")
    assert decode_cursor(encode_cursor(key, QueueSort.PRIORITY), QueueSort.PRIORITY) == key
    key2 = (FAR_FUTURE, "abc")
    assert decode_cursor(encode_cursor(key2, QueueSort.DUE), QueueSort.DUE) == key2


# -- every field checked when the query is built (issue 12) ----------------------------------


@FAST
@given(fields=strategies.hostile_query_fields())
def test_hostile_fields_give_a_validation_error_or_a_query_of_checked_values(fields):
    try:
        query = TicketQuery(**fields)
    except ValidationError as refused:
        named = refused.field
        query = None
    if query is None:
        assert named in {f.name for f in attrs.fields(TicketQuery)}
        return
    for name in ("team", "assignee", "incident_type", "customer_id", "organisation_id"):
        value = getattr(query, name)
        assert value is None or (isinstance(value, str) and could_exist(value))
    assert isinstance(query.sort, QueueSort)
    assert query.status_categories is None or all(
        isinstance(c, StatusCategory) for c in query.status_categories)
    assert query.priorities is None or all(isinstance(p, Priority) for p in query.priorities)
    assert isinstance(query.unassigned, bool)
    assert query.apply([]).items == []


def test_a_sort_that_is_not_one_of_the_orders_is_refused_at_construction():
    with pytest.raises(ValidationError) as refused:
        TicketQuery(sort="id; DROP TABLE tickets")
    assert refused.value.field == "sort"


def test_categories_priorities_and_sort_may_be_given_by_value():
    query = TicketQuery(status_categories=["open", StatusCategory.NEW], priorities=("high",),
                        sort="newest")
    assert query == TicketQuery(status_categories=frozenset({StatusCategory.OPEN,
                                                             StatusCategory.NEW}),
                                priorities=frozenset({Priority.HIGH}), sort=QueueSort.NEWEST)


@pytest.mark.parametrize(("fields", "field"), [
    ({"status_categories": ["archived"]}, "status_categories"),
    ({"status_categories": "open"}, "status_categories"),
    ({"priorities": [2]}, "priorities"),
    ({"team": "returns\x00"}, "team"),
    ({"assignee": 7}, "assignee"),
    ({"customer_id": "c\ud800"}, "customer_id"),
    ({"incident_type": "x" * 1001}, "incident_type"),
    ({"unassigned": 1}, "unassigned"),
    ({"tags": ["vip\x00"]}, "tags"),
    ({"limit": 2.0}, "limit"),
    ({"after": 5}, "after"),
])
def test_each_bad_field_is_named(fields, field):
    with pytest.raises(ValidationError) as refused:
        TicketQuery(**fields)
    assert refused.value.field == field


def test_a_cursor_whose_id_holds_a_control_character_is_refused():
    forged = encode_cursor((T0, "id\x00"), QueueSort.NEWEST)
    with pytest.raises(ValidationError) as refused:
        TicketQuery(sort=QueueSort.NEWEST, after=forged)
    assert refused.value.field == "after"
