"""Working on a ticket through the facade: changes, history, concurrency, notes, queue."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from helpdesk_core import hookimpl
from helpdesk_core.domain import (
    Actor,
    Channel,
    Direction,
    EntityKind,
    EntityRef,
    EventKind,
    Priority,
    QueueSort,
    StaffVia,
    StatusCategory,
    TicketQuery,
)
from helpdesk_core.domain.extensions import FollowUpRequest
from helpdesk_core.errors import (
    ConcurrencyError,
    InvalidTransition,
    NotFound,
    TicketNotFound,
    ValidationError,
)
from helpdesk_core.inmemory.blobs import blob_key

EVA = Actor.agent("eva", "Eva Agentová")
RMA = EntityRef(EntityKind.RMA, "erp", "RMA-2026-7")


@pytest.fixture
def ticket(helpdesk, clock):
    opened = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Kettle broken",
                                    message="Customer called", customer_email="jana@example.cz")
    clock.advance(minutes=5)
    return opened


def kinds(helpdesk, key):
    return [e.kind for e in helpdesk.tickets.history(key)]


def test_reading_by_number_and_by_id(helpdesk, ticket):
    assert helpdesk.tickets.get(ticket.number).id == ticket.id
    assert helpdesk.tickets.get(ticket.id).number == ticket.number
    with pytest.raises(TicketNotFound):
        helpdesk.tickets.get("HD-2026-999999")
    with pytest.raises(NotFound):
        helpdesk.tickets.history("nope")


def test_manual_changes_are_recorded_in_history(helpdesk, ticket, clock):
    helpdesk.tickets.transition(ticket.number, "open", actor=EVA)
    helpdesk.staff.assign(ticket.number, "karel", actor=EVA, team="returns")
    helpdesk.tickets.set_priority(ticket.number, Priority.URGENT, actor=EVA)
    helpdesk.tickets.tag(ticket.number, "VIP", "b2b", actor=EVA)
    helpdesk.tickets.untag(ticket.number, "b2b", actor=EVA)
    helpdesk.tickets.set_field(ticket.number, "serial_no", "SN-77", actor=EVA)
    helpdesk.tickets.link(ticket.number, RMA, actor=EVA)
    stored = helpdesk.tickets.get(ticket.number)
    assert stored.status == "open"
    assert stored.status_category is StatusCategory.OPEN
    assert (stored.assignee, stored.team, stored.priority) == ("karel", "returns",
                                                               Priority.URGENT)
    assert stored.tags == {"vip"}
    assert stored.custom_fields == {"serial_no": "SN-77"}
    assert RMA in stored.links
    assert stored.updated_at == clock.now()
    history = helpdesk.tickets.history(ticket.number)
    assert [e.kind for e in history[-9:]] == [
        EventKind.STATUS_CHANGED, EventKind.TEAM_CHANGED, EventKind.ASSIGNED,
        EventKind.PRIORITY_CHANGED, EventKind.TAG_ADDED, EventKind.TAG_ADDED,
        EventKind.TAG_REMOVED, EventKind.FIELD_CHANGED, EventKind.LINK_ADDED,
    ]
    assert all(e.actor == EVA for e in history[-9:])
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    manual = next(e for e in history if e.kind is EventKind.ASSIGNED)
    assert manual.data == {"reason": {"winner": "manual"}}
    assert history[-1].new == str(RMA)


def test_every_committed_change_bumps_the_version_once(helpdesk, ticket):
    assert helpdesk.tickets.get(ticket.id).version == 1
    helpdesk.tickets.tag(ticket.id, "a", "b", "c", actor=EVA)
    assert helpdesk.tickets.get(ticket.id).version == 2
    helpdesk.tickets.tag(ticket.id, "a", actor=EVA)  # nothing new: nothing written
    assert helpdesk.tickets.get(ticket.id).version == 2


def test_stale_expected_version_raises_and_changes_nothing(helpdesk, ticket):
    seen = helpdesk.tickets.get(ticket.number)
    helpdesk.tickets.set_priority(ticket.number, Priority.HIGH, actor=EVA,
                          expected_version=seen.version)
    history_before = helpdesk.tickets.history(ticket.number)
    with pytest.raises(ConcurrencyError):
        helpdesk.tickets.transition(ticket.number, "resolved", actor=EVA,
                            expected_version=seen.version)
    with pytest.raises(ConcurrencyError):
        helpdesk.staff.assign(ticket.number, "karel", actor=EVA, team="x",
                        expected_version=seen.version)
    with pytest.raises(ConcurrencyError):
        helpdesk.tickets.set_priority(ticket.number, Priority.LOW, actor=EVA,
                              expected_version=seen.version)
    stored = helpdesk.tickets.get(ticket.number)
    assert (stored.status, stored.assignee, stored.team, stored.priority) == (
        "new", None, None, Priority.HIGH
    )
    assert stored.version == seen.version + 1
    assert helpdesk.tickets.history(ticket.number) == history_before


def test_refused_transition_changes_nothing(helpdesk, ticket):
    helpdesk.tickets.transition(ticket.id, "closed", actor=EVA)
    before = helpdesk.tickets.history(ticket.id)
    with pytest.raises(InvalidTransition):
        helpdesk.tickets.transition(ticket.id, "resolved", actor=EVA)
    with pytest.raises(InvalidTransition):
        helpdesk.tickets.transition(ticket.id, "merged", actor=EVA)
    assert helpdesk.tickets.get(ticket.id).status == "closed"
    assert helpdesk.tickets.history(ticket.id) == before


def test_a_returned_ticket_is_a_copy(helpdesk, ticket):
    copy = helpdesk.tickets.get(ticket.id)
    copy.set_priority(Priority.URGENT, at=copy.updated_at, actor=EVA)
    assert helpdesk.tickets.get(ticket.id).priority is Priority.NORMAL


def test_a_note_is_internal_and_hidden_from_the_customer(helpdesk, ticket):
    note = helpdesk.tickets.add_note(ticket.number, "Customer sounded angry", agent=EVA)
    reply = helpdesk.tickets.add_article(ticket.number, direction=Direction.OUTBOUND,
                                 channel=Channel.EMAIL, author=EVA, body_text="We are on it")
    assert note.direction is Direction.INTERNAL
    assert not note.public
    assert reply.public
    everything = helpdesk.tickets.articles(ticket.number)
    public = helpdesk.tickets.articles(ticket.number, public_only=True)
    assert [a.id for a in everything][-2:] == [note.id, reply.id]
    assert note.id not in {a.id for a in public}
    assert reply.id in {a.id for a in public}
    added = [e for e in helpdesk.tickets.history(ticket.number)
             if e.kind is EventKind.ARTICLE_ADDED]
    assert added[-2].data["public"] is False
    assert added[-1].data["article_id"] == reply.id


def test_an_internal_article_cannot_be_made_public(helpdesk, ticket):
    with pytest.raises(ValidationError):
        helpdesk.tickets.add_article(ticket.number, direction=Direction.INTERNAL,
                             channel=Channel.STAFF, author=EVA, body_text="x", public=True)


def test_attachments_are_stored_in_the_blob_store(helpdesk, ticket):
    data = b"%PDF-1.7\x00\xff binary"
    meta = helpdesk.tickets.add_attachment(data=data, filename="../../faktura.html",
                                   content_type="text/html")
    assert helpdesk.blob_store.get(meta.blob_key) == data
    assert meta.size == len(data)
    assert meta.filename == "faktura.html.txt"
    note = helpdesk.tickets.add_note(ticket.number, "Invoice attached", agent=EVA,
                                     attachments=[meta])
    [stored] = [a for a in helpdesk.tickets.articles(ticket.number) if a.id == note.id]
    assert stored.attachments == (meta,)


@pytest.mark.parametrize("content_type", ["", "text", "'; DROP TABLE blobs; --", "a/b\r\nX: y"])
def test_an_attachment_with_a_refused_content_type_stores_no_bytes(helpdesk, content_type):
    with pytest.raises(ValidationError) as refused:
        helpdesk.tickets.add_attachment(data=b"bytes nobody refers to", filename="a.pdf",
                                        content_type=content_type)
    assert refused.value.field == "attachment.content_type"
    assert not helpdesk.blob_store.exists(blob_key(b"bytes nobody refers to"))


# -- queue -------------------------------------------------------------------------------------


def test_the_default_queue_is_the_active_work_by_priority(helpdesk, clock):
    low = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="low", message="x",
                                 priority=Priority.LOW)
    clock.advance(minutes=1)
    urgent = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="urgent",
                                    message="x", priority=Priority.URGENT)
    clock.advance(minutes=1)
    closed = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="done",
                                    message="x", priority=Priority.URGENT)
    helpdesk.tickets.transition(closed.id, "closed", actor=EVA)
    page = helpdesk.tickets.queue()
    assert [t.id for t in page.items] == [urgent.id, low.id]
    assert page.next_cursor is None
    everything = helpdesk.tickets.queue(TicketQuery(sort=QueueSort.OLDEST))
    assert [t.id for t in everything.items] == [low.id, urgent.id, closed.id]


def test_due_dates_order_the_due_queue(helpdesk, clock):
    a = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="a", message="x")
    b = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="b", message="x")
    c = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="c", message="x")
    helpdesk.tickets.set_due(a.id, clock.now() + timedelta(days=2), actor=EVA, reason="promised")
    helpdesk.tickets.set_due(b.id, clock.now() + timedelta(hours=4), actor=EVA)
    page = helpdesk.tickets.queue(TicketQuery.active(sort=QueueSort.DUE))
    assert [t.id for t in page.items] == [b.id, a.id, c.id]
    event = helpdesk.tickets.history(a.id)[-1]
    assert (event.kind, event.data) == (EventKind.DUE_CHANGED, {"reason": "promised"})
    helpdesk.tickets.set_due(a.id, None, actor=EVA)
    assert helpdesk.tickets.get(a.id).due_at is None


def test_queue_pages_through_the_facade(helpdesk, clock):
    opened = []
    for i in range(7):
        opened.append(helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject=f"#{i}",
                                             message="x", team="returns" if i % 2 else None))
        clock.advance(timedelta(seconds=30))
    query = TicketQuery(sort=QueueSort.NEWEST, team="returns", limit=2)
    seen = []
    while True:
        page = helpdesk.tickets.queue(query)
        seen += [t.id for t in page.items]
        if page.next_cursor is None:
            break
        query = attrs.evolve(query, after=page.next_cursor)
    assert seen == [t.id for t in reversed(opened) if t.team == "returns"]


# -- follow-up processes -----------------------------------------------------------------------


class ExchangeOrders:
    def __init__(self) -> None:
        self.requests: list[FollowUpRequest] = []

    key = "exchange"
    label = "Exchange order"

    def start(self, request: FollowUpRequest) -> EntityRef:
        self.requests.append(request)
        return EntityRef(EntityKind.ORDER, "eshop", f"EX-{len(self.requests)}")


class ExchangePlugin:
    def __init__(self) -> None:
        self.action = ExchangeOrders()

    @hookimpl
    def helpdesk_followup_actions(self):
        return [self.action]


def test_start_followup_links_the_host_record(make_helpdesk):
    plugin = ExchangePlugin()
    helpdesk = make_helpdesk(plugins=(plugin,))
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Broken",
                                          "order_number": "2026-00042"})
    ref = helpdesk.tickets.start_followup(ticket.number, "exchange", actor=EVA, data={"sku": "K-1"})
    assert ref == EntityRef(EntityKind.ORDER, "eshop", "EX-1")
    assert ref in helpdesk.tickets.get(ticket.id).links
    [request] = plugin.action.requests
    assert (request.action, request.ticket_id, request.ticket_number, request.customer_id) == (
        "exchange", ticket.id, ticket.number, ticket.customer_id
    )
    assert request.links == (EntityRef(EntityKind.ORDER, "eshop", "2026-00042"),)
    assert dict(request.data) == {"sku": "K-1"}
    last = helpdesk.tickets.history(ticket.id)[-1]
    assert (last.kind, last.new, last.actor) == (EventKind.LINK_ADDED, str(ref), EVA)


def test_unknown_followup_action_is_refused(make_helpdesk):
    helpdesk = make_helpdesk(plugins=(ExchangePlugin(),))
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="x", message="x")
    with pytest.raises(ValidationError, match="exchange") as info:
        helpdesk.tickets.start_followup(ticket.id, "refund", actor=EVA)
    assert info.value.field == "action"
    assert helpdesk.tickets.get(ticket.id).links == frozenset()


def test_followup_without_any_actions(helpdesk, ticket):
    with pytest.raises(ValidationError, match="none"):
        helpdesk.tickets.start_followup(ticket.id, "exchange", actor=EVA)


def test_followup_action_must_return_an_entity_ref(make_helpdesk):
    class Sloppy:
        key, label = "rma", "RMA"

        def start(self, request):
            return "RMA-1"

    class SloppyPlugin:
        @hookimpl
        def helpdesk_followup_actions(self):
            return [Sloppy()]

    helpdesk = make_helpdesk(plugins=(SloppyPlugin(),))
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="x", message="x")
    with pytest.raises(ValidationError):
        helpdesk.tickets.start_followup(ticket.id, "rma", actor=EVA)
    assert helpdesk.tickets.get(ticket.id).links == frozenset()
