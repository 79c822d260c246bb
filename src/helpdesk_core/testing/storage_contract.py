"""The storage contract: what every Storage adapter must do, as tests it runs itself.

Usage in an adapter's test suite::

    from helpdesk_core.testing import StorageContract, storage_state_machine

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            storage = MyStorage(tmp_path / "db")
            storage.migrate()
            yield storage
            storage.close()

    TestMyStorageMachine = storage_state_machine(make_fresh_storage).TestCase

Capability flags (class attributes) switch off checks a backend cannot offer; none exist yet.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from helpdesk_core.domain.article import AttachmentMeta, Direction
from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.mailbox import MessageRecord, StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.domain.queue import QueueSort, TicketQuery
from helpdesk_core.domain.status import StatusCategory, Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, EntityKind, EntityRef, Priority, new_id
from helpdesk_core.errors import (
    ConcurrencyError,
    ContactNotFound,
    InvalidTransition,
    NotFound,
    StorageError,
    TicketNotFound,
    ValidationError,
)
from helpdesk_core.inmemory.storage import InMemoryStorage
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.storage import Storage
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import AGENT, T0, open_ticket, store_tickets

__all__ = ["BlobStoreContract", "StorageContract", "storage_state_machine"]

WORKFLOW = Workflow.default()


def _all_pages(storage: Storage, query: TicketQuery) -> list[Ticket]:
    items: list[Ticket] = []
    cursor = None
    for _ in range(10_000):
        with storage.unit_of_work(read_only=True) as uow:
            page = uow.tickets.query(
                TicketQuery(**{**_query_fields(query), "after": cursor})
            )
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def _query_fields(query: TicketQuery) -> dict[str, Any]:
    return {
        "status_categories": query.status_categories, "team": query.team,
        "assignee": query.assignee, "unassigned": query.unassigned,
        "incident_type": query.incident_type, "customer_id": query.customer_id,
        "organisation_id": query.organisation_id, "priorities": query.priorities,
        "tags": query.tags, "sort": query.sort, "limit": query.limit,
    }


class StorageContract:
    """Subclass and provide a ``storage`` fixture yielding a fresh, migrated Storage."""

    @pytest.fixture
    def storage(self) -> Storage:
        raise NotImplementedError("override the storage fixture")

    # -- tickets --------------------------------------------------------------------------

    def test_add_then_get_round_trips_every_field(self, storage: Storage) -> None:
        ticket = open_ticket(
            subject="Reklamace: poškozená zásilka — Lieferung beschädigt 🙂",
            channel=Channel.EMAIL, priority=Priority.HIGH, customer_id="cust-1",
            organisation_id="org-1", incident_type="complaint/damaged",
            links=[EntityRef(EntityKind.ORDER, "eshop", "2026-0042")],
            tags=["VIP", "rückgabe"], custom_fields={"serial_no": "SN-1", "weight": 2.5,
                                                     "fragile": True, "count": 3, "x": None},
            team="returns", assignee="alice", language="cs",
        )
        ticket.set_due(T0 + timedelta(hours=8), at=T0, actor=AGENT)
        expected = ticket.snapshot()
        store_tickets(storage, [ticket])
        with storage.unit_of_work(read_only=True) as uow:
            loaded = uow.tickets.get(ticket.id)
            by_number = uow.tickets.get_by_number(ticket.number)
        expected["version"] = 1
        assert loaded.snapshot() == expected
        assert by_number.snapshot() == expected
        assert loaded.created_at.tzinfo is not None
        assert loaded.pending_events == []
        assert loaded.pending_articles == []

    def test_unknown_ticket_raises_ticket_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work(read_only=True) as uow:
            with pytest.raises(TicketNotFound):
                uow.tickets.get("no-such-id")
            with pytest.raises(LookupError):
                uow.tickets.get_by_number("HD-1999-000001")

    def test_save_persists_changes_and_increments_version(self, storage: Storage) -> None:
        (ticket,) = store_tickets(storage, [open_ticket()])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(ticket.id)
            loaded.transition("open", workflow=WORKFLOW, at=T0, actor=AGENT)
            loaded.set_priority(Priority.URGENT, at=T0, actor=AGENT)
            loaded.add_tag("b2b", at=T0, actor=AGENT)
            loaded.remove_tag("b2b", at=T0, actor=AGENT)
            loaded.add_tag("vip", at=T0, actor=AGENT)
            loaded.set_field("note", "řeší Bob", at=T0, actor=AGENT)
            uow.tickets.save(loaded)
            uow.commit()
        assert loaded.version == 2
        with storage.unit_of_work(read_only=True) as uow:
            again = uow.tickets.get(ticket.id)
        assert again.snapshot() == loaded.snapshot()
        assert again.status_category is StatusCategory.OPEN
        assert again.tags == frozenset({"vip"})

    def test_save_without_changes_writes_nothing(self, storage: Storage) -> None:
        (ticket,) = store_tickets(storage, [open_ticket()])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(ticket.id)
            uow.tickets.save(loaded)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.tickets.get(ticket.id).version == 1

    def test_stale_update_raises_concurrency_error_and_never_overwrites(
        self, storage: Storage
    ) -> None:
        (ticket,) = store_tickets(storage, [open_ticket()])
        with storage.unit_of_work(read_only=True) as uow:
            first = uow.tickets.get(ticket.id)
            second = uow.tickets.get(ticket.id)
        first.set_subject("first writer", at=T0, actor=AGENT)
        second.set_subject("second writer", at=T0, actor=AGENT)
        with storage.unit_of_work() as uow:
            uow.tickets.save(first)
            uow.commit()
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.tickets.save(second)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            stored = uow.tickets.get(ticket.id)
            history = uow.tickets.history(ticket.id)
        assert stored.subject == "first writer"
        assert stored.version == 2
        assert [e.new for e in history if e.kind is EventKind.SUBJECT_CHANGED] == ["first writer"]

    def test_rollback_discards_everything(self, storage: Storage) -> None:
        ticket = open_ticket()
        with storage.unit_of_work() as uow:
            uow.tickets.add(ticket)
            uow.contacts.add(Contact.create(name="Jana", email="jana@example.cz"))
            uow.rollback()
        with storage.unit_of_work() as uow:
            uow.tickets.add(open_ticket())
            # leaving the block without commit rolls back too
        with storage.unit_of_work(read_only=True) as uow:
            with pytest.raises(TicketNotFound):
                uow.tickets.get(ticket.id)
            assert uow.contacts.find_by_email("jana@example.cz") is None
            assert uow.tickets.query(TicketQuery()).items == []

    def test_duplicate_ticket_number_is_refused(self, storage: Storage) -> None:
        store_tickets(storage, [open_ticket(seq=7)])
        with pytest.raises(Exception) as info, storage.unit_of_work() as uow:
            uow.tickets.add(open_ticket(seq=7))
            uow.commit()
        assert "sqlalchemy" not in type(info.value).__module__
        with storage.unit_of_work(read_only=True) as uow:
            assert len(uow.tickets.query(TicketQuery()).items) == 1

    def test_history_and_articles_in_order(self, storage: Storage) -> None:
        ticket = open_ticket()
        ticket.add_article(direction=Direction.INBOUND, channel=Channel.WEB_FORM,
                           author=Actor.customer("cust-1", "Jana"), body_text="Dobrý den,\n…",
                           at=T0)
        store_tickets(storage, [ticket])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(ticket.id)
            loaded.add_article(direction=Direction.INTERNAL, channel=Channel.STAFF,
                               author=AGENT, body_text="internal", at=T0 + timedelta(minutes=1))
            loaded.add_article(direction=Direction.OUTBOUND, channel=Channel.EMAIL,
                               author=AGENT, body_text="reply", at=T0 + timedelta(minutes=1),
                               external_id="<abc@helpdesk>", meta={"to": "jana@example.cz"})
            loaded.assign("bob", at=T0, actor=AGENT, reason={"resolver": "manual"})
            uow.tickets.save(loaded)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            history = uow.tickets.history(ticket.id)
            articles = uow.tickets.articles(ticket.id)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert [e.kind for e in history] == [
            EventKind.CREATED, EventKind.ARTICLE_ADDED, EventKind.ARTICLE_ADDED,
            EventKind.ARTICLE_ADDED, EventKind.ASSIGNED,
        ]
        assert history[-1].data == {"reason": {"resolver": "manual"}}
        assert history[-1].actor == AGENT
        assert [a.body_text for a in articles] == ["Dobrý den,\n…", "internal", "reply"]
        assert [a.public for a in articles] == [True, False, True]
        assert articles[2].external_id == "<abc@helpdesk>"
        assert articles[2].meta == {"to": "jana@example.cz"}

    # -- queue ----------------------------------------------------------------------------

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.differing_executors])
    @given(data=st.data())
    def test_queue_matches_the_reference_rules(self, storage: Storage, data: Any) -> None:
        # The fixture's store lives across examples; a fresh team prefix isolates each one.
        prefix = f"q{new_id()[:12]}"
        tickets = [
            open_ticket(**kw) for kw in data.draw(
                st.lists(strategies.ticket_kwargs(), min_size=0, max_size=12)
            )
        ]
        for ticket in tickets:
            ticket.team = f"{prefix}-{ticket.team}" if ticket.team else prefix
        store_tickets(storage, tickets)
        query = data.draw(strategies.queries())
        query = TicketQuery(**{**_query_fields(query), "team": f"{prefix}-{query.team}"
                               if query.team else prefix})
        everything = query.apply(tickets)
        expected = [t.id for t in TicketQuery(**{**_query_fields(query), "limit": 500})
                    .apply(tickets).items]
        assert [t.id for t in _all_pages(storage, query)] == expected
        with storage.unit_of_work(read_only=True) as uow:
            first = uow.tickets.query(query)
        assert [t.id for t in first.items] == [t.id for t in everything.items]
        assert (first.next_cursor is None) == (everything.next_cursor is None)

    def test_queue_filters(self, storage: Storage) -> None:
        a = open_ticket(team="t-filter", assignee="alice", incident_type="complaint/damaged",
                        customer_id="c1", priority=Priority.HIGH, tags=["vip"])
        b = open_ticket(team="t-filter", incident_type="complaint", customer_id="c2",
                        priority=Priority.LOW)
        c = open_ticket(team="t-filter", assignee="bob", incident_type="question")
        c.transition("closed", workflow=WORKFLOW, at=T0, actor=AGENT)
        store_tickets(storage, [a, b, c])

        def ids(**kwargs: Any) -> set[str]:
            with storage.unit_of_work(read_only=True) as uow:
                page = uow.tickets.query(TicketQuery(team="t-filter", **kwargs))
            return {t.id for t in page.items}

        assert ids() == {a.id, b.id, c.id}
        assert ids(assignee="alice") == {a.id}
        assert ids(unassigned=True) == {b.id}
        assert ids(incident_type="complaint") == {a.id, b.id}
        assert ids(incident_type="complaint/damaged") == {a.id}
        assert ids(customer_id="c2") == {b.id}
        assert ids(priorities=frozenset({Priority.HIGH, Priority.URGENT})) == {a.id}
        assert ids(tags=frozenset({"vip"})) == {a.id}
        assert ids(status_categories=frozenset({StatusCategory.CLOSED})) == {c.id}
        with storage.unit_of_work(read_only=True) as uow:
            active = uow.tickets.query(TicketQuery.active(team="t-filter"))
        assert {t.id for t in active.items} == {a.id, b.id}

    def test_pages_neither_skip_nor_repeat_while_tickets_arrive(self, storage: Storage) -> None:
        store_tickets(storage, [open_ticket(team="t-page", at=T0 + timedelta(minutes=i))
                                for i in range(7)])
        query = TicketQuery(team="t-page", sort=QueueSort.OLDEST, limit=3)
        with storage.unit_of_work(read_only=True) as uow:
            first = uow.tickets.query(query)
        store_tickets(storage, [open_ticket(team="t-page", at=T0 - timedelta(days=1))])
        seen = [t.id for t in first.items]
        cursor = first.next_cursor
        while cursor:
            with storage.unit_of_work(read_only=True) as uow:
                page = uow.tickets.query(
                    TicketQuery(team="t-page", sort=QueueSort.OLDEST, limit=3, after=cursor))
            seen += [t.id for t in page.items]
            cursor = page.next_cursor
        assert len(seen) == len(set(seen)) == 7

    def test_a_garbage_cursor_is_a_validation_error(self, storage: Storage) -> None:
        with pytest.raises(ValidationError):
            TicketQuery(after="not-a-cursor")

    # -- sequences, contacts, organisations, incident types -------------------------------

    def test_sequences_count_per_scope(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            values = [uow.sequences.next_value("ticket:2026") for _ in range(3)]
            other = uow.sequences.next_value("ticket:2027")
            uow.commit()
        with storage.unit_of_work() as uow:
            later = uow.sequences.next_value("ticket:2026")
            uow.commit()
        assert values == [1, 2, 3]
        assert other == 1
        assert later == 4

    def test_contacts(self, storage: Storage) -> None:
        org = Organisation.create("Novák s.r.o.", account_owner="alice")
        jana = Contact.create(name="Jana Nováková", email="Jana.Novakova@Example.CZ",
                              phone="+420 601 234 567", organisation_id=org.id, language="cs")
        with storage.unit_of_work() as uow:
            uow.organisations.add(org)
            uow.contacts.add(jana)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.contacts.get(jana.id) == jana
            assert uow.contacts.find_by_email("jana.novakova@example.cz") == jana
            assert uow.contacts.id_by_email("jana.novakova@example.cz") == jana.id
            assert uow.contacts.id_by_email("nobody@example.cz") is None
            assert uow.contacts.find_by_phone("+420601234567") == jana
            assert uow.contacts.find_by_email("nobody@example.cz") is None
            assert uow.organisations.get(org.id) == org
            with pytest.raises(ContactNotFound):
                uow.contacts.get("missing")
        renamed = Contact(jana.id, "Jana Svobodová", (*jana.emails, "jana@firma.cz"),
                          jana.phones, org.id, "cs", "bob")
        with storage.unit_of_work() as uow:
            uow.contacts.update(renamed)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.contacts.find_by_email("jana@firma.cz") == renamed

    def test_an_email_belongs_to_one_contact(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.contacts.add(Contact.create(name="A", email="same@example.com"))
            uow.commit()
        with pytest.raises(ValidationError), storage.unit_of_work() as uow:
            uow.contacts.add(Contact.create(name="B", email="same@example.com"))
            uow.commit()

    def test_a_contact_id_is_added_once_and_the_unit_goes_on(self, storage: Storage) -> None:
        jana = Contact.create(name="Jana", email="jana@example.cz")
        with storage.unit_of_work() as uow:
            uow.contacts.add(jana)
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(StorageError):
                uow.contacts.add(Contact(jana.id, "Other", ("other@example.cz",)))
            with pytest.raises(ValidationError):
                uow.contacts.add(Contact.create(name="Copy", email="jana@example.cz"))
            uow.contacts.add(Contact.create(name="Petr", email="petr@example.cz"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.contacts.get(jana.id) == jana
            assert uow.contacts.find_by_email("other@example.cz") is None
            found = uow.contacts.find_by_email("petr@example.cz")
            assert found is not None
            assert found.name == "Petr"

    def test_incident_types(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.incident_types.put(IncidentType("complaint", "Reklamace", team="returns"))
            uow.incident_types.put(IncidentType("complaint/damaged", "Poškozeno"))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.incident_types.put(IncidentType("complaint", "Complaint", responsible="alice"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.incident_types.all() == [
                IncidentType("complaint", "Complaint", responsible="alice"),
                IncidentType("complaint/damaged", "Poškozeno"),
            ]


    # -- mail -------------------------------------------------------------------------

    def test_message_index(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        first = MessageRecord(message_id="<a@x>", ticket_id=ticket.id,
                              direction=Direction.INBOUND, at=T0, article_id="a1",
                              fingerprint="f1")
        other = attrs.evolve(first, fingerprint="f2", article_id="a2",
                             at=T0 + timedelta(seconds=1))
        sent = MessageRecord(message_id="<ack@us>", ticket_id=ticket.id,
                             direction=Direction.OUTBOUND, at=T0)
        with storage.unit_of_work() as uow:
            uow.messages.add(first)
            uow.messages.add(other)  # the same id with other content is another mail
            uow.messages.add(sent)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.messages.find(["<a@x>"]) == [first, other]
            assert uow.messages.find(["<nope@x>", "<ack@us>"]) == [sent]
            assert uow.messages.find([]) == []
        with pytest.raises(StorageError), storage.unit_of_work() as uow:
            uow.messages.add(attrs.evolve(first, article_id="again"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert len(uow.messages.find(["<a@x>"])) == 2

    def test_staged_mail_lifecycle(self, storage: Storage) -> None:
        staged = StagedMail.stage(account="support", key="7:1", size=10, at=T0,
                                  blob_key="b" * 64, content_hash="c" * 64)
        later = StagedMail.stage(account="support", key="7:2", size=99, at=T0 + timedelta(1),
                                 blob_key=None, content_hash=None)
        with storage.unit_of_work() as uow:
            uow.staged_mail.add(later)
            uow.staged_mail.add(staged)
            uow.commit()
        with pytest.raises(StorageError), storage.unit_of_work() as uow:
            uow.staged_mail.add(staged)
            uow.commit()
        done = staged.processed(outcome="new_ticket", at=T0 + timedelta(seconds=5),
                                ticket_id="t", article_id="a")
        with storage.unit_of_work() as uow:
            uow.staged_mail.update(done, expected=StagedState.STAGED)
            uow.staged_mail.update(later.quarantine("too large", at=T0))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.get("support", "7:1") == done
            assert uow.staged_mail.get("support", "nope") is None
            assert uow.staged_mail.get_many("support", ["7:1", "nope", "7:2"]) == {
                "7:1": done, "7:2": later.quarantine("too large", at=T0)}
            assert uow.staged_mail.get_many("other", ["7:1"]) == {}
            assert [m.key for m in uow.staged_mail.list()] == ["7:1", "7:2"]
            quarantined = uow.staged_mail.list(state=StagedState.QUARANTINED)
            assert [(m.key, m.reason) for m in quarantined] == [("7:2", "too large")]
            assert uow.staged_mail.list(account="other") == []
        # a second fetcher that still believes the mail is staged loses
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.staged_mail.update(done.mark_acknowledged(at=T0), expected=StagedState.STAGED)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.get("support", "7:1") == done

    def test_outbox(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        messages = [
            OutboxMessage.create(ticket_id=ticket.id, kind=kind, channel=Channel.EMAIL,
                                 sender="support@shop.example", recipients=(to,),
                                 subject="[HD] Ihre Anfrage", body_text="Danke, Jürgen",
                                 at=T0 + timedelta(minutes=minute), message_id=f"<m{minute}@us>",
                                 headers={"Auto-Submitted": "auto-replied"})
            for minute, kind, to in [(0, "acknowledgement", "a@x.cz"),
                                     (10, "acknowledgement", "a@x.cz"),
                                     (20, "reply", "a@x.cz"),
                                     (30, "acknowledgement", "b@x.cz")]
        ]
        with storage.unit_of_work() as uow:
            for message in messages:
                uow.outbox.add(message)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.outbox.add(attrs.evolve(messages[0], id=new_id()))
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.for_ticket(ticket.id) == messages
            assert uow.outbox.for_ticket("other") == []
            count = uow.outbox.count_since
            assert count(recipient="a@x.cz", kind="acknowledgement", since=T0) == 2
            assert count(recipient="a@x.cz", kind="acknowledgement",
                         since=T0 + timedelta(minutes=5)) == 1
            assert count(recipient="b@x.cz", kind="reply", since=T0) == 0


    def test_outbox_claims_and_updates(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])

        def message(minute: int, **changes: Any) -> OutboxMessage:
            created = OutboxMessage.create(
                ticket_id=ticket.id, kind="reply", channel=Channel.EMAIL, sender="s@us",
                recipients=("a@x.cz",), subject=f"m{minute}", body_text="text",
                at=T0 + timedelta(minutes=minute),
                attachments=(AttachmentMeta(blob_key="b" * 64, filename="faktura.pdf",
                                            content_type="application/pdf", size=3),))
            return attrs.evolve(created, **changes)

        first, later, sms = message(0), message(1, next_attempt_at=T0 + timedelta(hours=1)), \
            message(2, channel=Channel.SMS, recipients=("+420601234567",))
        done = message(3, state=OutboxState.SENT)
        with storage.unit_of_work() as uow:
            for item in (first, later, sms, done):
                uow.outbox.add(item)
            uow.commit()
        now = T0 + timedelta(minutes=30)
        lease = timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            claimed = uow.outbox.claim(now=now, lease=lease, limit=10)
            uow.commit()
        assert [m.id for m in claimed] == [first.id, sms.id]  # `later` is not due yet
        assert all(m.leased_until == now + lease for m in claimed)
        with storage.unit_of_work() as uow:  # leased: nobody else gets them meanwhile
            assert uow.outbox.claim(now=now + timedelta(minutes=1), lease=lease, limit=10) == []
            uow.commit()
        with storage.unit_of_work() as uow:
            emails = uow.outbox.claim(now=now + timedelta(hours=2), lease=lease, limit=1,
                                      channel=Channel.EMAIL)
            uow.commit()
        assert [m.id for m in emails] == [first.id]  # lease over; oldest first; limit 1
        sent = attrs.evolve(emails[0], state=OutboxState.SENT, attempts=1, leased_until=None,
                            sent_at=now, results={"a@x.cz": "sent"}, provider_id="gw-1")
        with storage.unit_of_work() as uow:
            uow.outbox.update(sent)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.get(first.id) == sent
            assert uow.outbox.find(provider_id="gw-1") == [sent]
            assert [m.id for m in uow.outbox.find(state=OutboxState.SENT)] == [first.id, done.id]
            with pytest.raises(NotFound):
                uow.outbox.get("missing")
        with pytest.raises(NotFound), storage.unit_of_work() as uow:
            uow.outbox.update(attrs.evolve(sent, id="missing"))


    # -- SLA ----------------------------------------------------------------------------

    def test_sla_records_and_the_due_sweep(self, storage: Storage) -> None:
        tickets = store_tickets(storage, [open_ticket() for _ in range(4)])
        records = [SlaRecord(ticket_id=t.id, policy="standard", reason="default rule",
                             updated_at=T0, next_at=T0 + timedelta(hours=h) if h else None)
                   for t, h in zip(tickets, (3, 1, 0, 2), strict=True)]
        with storage.unit_of_work() as uow:
            for record in records:
                uow.sla.put(record)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            due = uow.sla.due(now=T0 + timedelta(hours=2), limit=10)
            assert [r.ticket_id for r in due] == [tickets[1].id, tickets[3].id]
            assert uow.sla.due(now=T0 + timedelta(hours=5), limit=1) == [records[1]]
            assert uow.sla.get(tickets[2].id) == records[2]
            assert uow.sla.get("missing") is None
        moved = attrs.evolve(records[1], next_at=T0 + timedelta(hours=9), policy="vip",
                             reason="customer rule")
        with storage.unit_of_work() as uow:
            uow.sla.put(moved)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.sla.get(tickets[1].id) == moved

    def test_an_escalation_fires_once(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        first = EscalationRecord(ticket_id=ticket.id, target="resolution", cycle=1,
                                 level="75%", fired_at=T0, notified=("eva",))
        with storage.unit_of_work() as uow:
            assert uow.sla.fire(first) is True
            assert uow.sla.fire(attrs.evolve(first, fired_at=T0 + timedelta(1))) is False
            assert uow.sla.fire(attrs.evolve(first, level="100%",
                                             fired_at=T0 + timedelta(minutes=1))) is True
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.sla.fire(attrs.evolve(first, notified=())) is False
            assert uow.sla.fire(attrs.evolve(first, cycle=2)) is True
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert [(r.level, r.cycle) for r in uow.sla.fired(ticket.id)] == [("75%", 1),
                                                                               ("100%", 1)]
            assert uow.sla.fired(ticket.id)[0] == first


class BlobStoreContract:
    @pytest.fixture
    def blob_store(self) -> BlobStore:
        raise NotImplementedError("override the blob_store fixture")

    def test_put_get(self, blob_store: BlobStore) -> None:
        data = b"%PDF-1.7\x00\xff" * 1000
        key = blob_store.put(data)
        assert len(key) == 64
        assert key == key.lower()
        assert blob_store.put(data) == key
        assert blob_store.exists(key)
        assert blob_store.get(key) == data
        assert blob_store.get(blob_store.put(b"")) == b""

    def test_unknown_key(self, blob_store: BlobStore) -> None:
        assert not blob_store.exists("0" * 64)
        with pytest.raises(NotFound):
            blob_store.get("0" * 64)


def storage_state_machine(make_storage: Callable[[], Storage]) -> type[RuleBasedStateMachine]:
    """A state machine that runs random operations on a fresh adapter and on the in-memory
    model side by side, and checks that both always agree."""

    class StorageMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.real = make_storage()
            self.model = InMemoryStorage()
            self.ids: list[str] = []
            self.clock = T0

        def teardown(self) -> None:
            if hasattr(self, "real"):  # start() may have failed; don't hide why
                self.real.close()

        def _tick(self) -> Any:
            self.clock += timedelta(seconds=17)
            return self.clock

        @rule(kwargs=strategies.ticket_kwargs())
        def open(self, kwargs: dict[str, Any]) -> None:
            ticket = open_ticket(**kwargs)
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    uow.tickets.add(deepcopy(ticket))
                    uow.commit()
            self.ids.append(ticket.id)

        def _change(self, index: int, change: Callable[[Ticket], object]) -> None:
            ticket_id = self.ids[index % len(self.ids)]
            outcomes = []
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    ticket = uow.tickets.get(ticket_id)
                    try:
                        change(ticket)
                    except InvalidTransition:
                        outcomes.append("invalid")
                        continue
                    uow.tickets.save(ticket)
                    uow.commit()
                    outcomes.append("ok")
            assert outcomes[0] == outcomes[1]

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), to=st.sampled_from(sorted(WORKFLOW.statuses)))
        def transition(self, index: int, to: str) -> None:
            at = self._tick()
            self._change(index, lambda t: t.transition(to, workflow=WORKFLOW, at=at, actor=AGENT))

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), priority=st.sampled_from(list(Priority)),
              assignee=st.none() | st.sampled_from(strategies.AGENTS),
              tag=st.sampled_from(strategies.TAGS), add=st.booleans())
        def edit(self, index: int, priority: Priority, assignee: str | None, tag: str,
                 add: bool) -> None:
            at = self._tick()

            def change(t: Ticket) -> None:
                t.set_priority(priority, at=at, actor=AGENT)
                t.assign(assignee, at=at, actor=AGENT)
                (t.add_tag if add else t.remove_tag)(tag, at=at, actor=AGENT)
                t.set_due(at + timedelta(hours=index % 5) if index % 3 else None, at=at,
                          actor=AGENT)

            self._change(index, change)

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), body=strategies.hostile_text(),
              direction=st.sampled_from(list(Direction)))
        def article(self, index: int, body: str, direction: Direction) -> None:
            at = self._tick()
            article_id = new_id()
            self._change(index, lambda t: t.add_article(
                direction=direction, channel=Channel.EMAIL, author=AGENT, body_text=body, at=at,
                article_id=article_id))

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99))
        def stale_save_is_refused_by_both(self, index: int) -> None:
            ticket_id = self.ids[index % len(self.ids)]
            at = self._tick()
            for storage in (self.real, self.model):
                with storage.unit_of_work(read_only=True) as uow:
                    stale = uow.tickets.get(ticket_id)
                stale.version -= 1
                stale.set_subject(f"stale {at.isoformat()}", at=at, actor=AGENT)
                with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
                    uow.tickets.save(stale)
                    uow.commit()

        # -- mail, outbox and SLA rows: the same operations, the same answers --------------

        def _both(self, work: Callable[[Any], object]) -> None:
            answers = []
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    answers.append(work(uow))
                    uow.commit()
            assert answers[0] == answers[1]

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), minutes=st.integers(0, 600),
              channel=st.sampled_from([Channel.EMAIL, Channel.SMS]))
        def queue_message(self, index: int, minutes: int, channel: Channel) -> None:
            at = self._tick()
            message = OutboxMessage.create(
                ticket_id=self.ids[index % len(self.ids)], kind="reply", channel=channel,
                sender="s@us", recipients=("a@x.cz",), subject="s", body_text="t", at=at)
            message = attrs.evolve(message, next_attempt_at=at + timedelta(minutes=minutes)
                                   if minutes % 2 else None)
            self._both(lambda uow: uow.outbox.add(message))

        @rule(minutes=st.integers(0, 900), limit=st.integers(1, 4),
              channel=st.none() | st.sampled_from([Channel.EMAIL, Channel.SMS]))
        def claim_and_settle(self, minutes: int, limit: int, channel: Channel | None) -> None:
            now = self.clock + timedelta(minutes=minutes)

            def work(uow: Any) -> list[str]:
                claimed = uow.outbox.claim(now=now, lease=timedelta(minutes=5), limit=limit,
                                           channel=channel)
                for i, message in enumerate(claimed):
                    if i % 2 == 0:
                        uow.outbox.update(attrs.evolve(message, state=OutboxState.SENT,
                                                       leased_until=None, attempts=1))
                return [m.id for m in claimed]

            self._both(work)

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), hours=st.none() | st.integers(-5, 5))
        def sla_record(self, index: int, hours: int | None) -> None:
            record = SlaRecord(ticket_id=self.ids[index % len(self.ids)], policy="p",
                               reason="r", updated_at=self.clock,
                               next_at=None if hours is None
                               else self.clock + timedelta(hours=hours))
            self._both(lambda uow: uow.sla.put(record))

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), level=st.sampled_from(["75%", "100%"]),
              cycle=st.integers(1, 2))
        def fire(self, index: int, level: str, cycle: int) -> None:
            record = EscalationRecord(ticket_id=self.ids[index % len(self.ids)],
                                      target="resolution", cycle=cycle, level=level,
                                      fired_at=self.clock)
            self._both(lambda uow: uow.sla.fire(record))

        @rule(key=st.sampled_from(["1:1", "1:2", "2:1"]), fail=st.booleans())
        def stage(self, key: str, fail: bool) -> None:
            def work(uow: Any) -> object:
                current = uow.staged_mail.get("box", key)
                if current is None:
                    uow.staged_mail.add(StagedMail.stage(account="box", key=key, size=1,
                                                         at=self.clock, blob_key=None,
                                                         content_hash=None))
                    return "staged"
                changed = current.failed("x", at=self.clock, max_attempts=2) if fail else \
                    current.processed(outcome="new_ticket", at=self.clock)
                try:
                    uow.staged_mail.update(changed, expected=StagedState.STAGED)
                except ConcurrencyError:
                    return "handled already"
                return changed.state.value

            self._both(work)

        @invariant()
        def same_outbox_sla_and_staging(self) -> None:
            if not hasattr(self, "ids"):
                return
            views = []
            for storage in (self.real, self.model):
                with storage.unit_of_work(read_only=True) as uow:
                    views.append((
                        [uow.outbox.for_ticket(t) for t in self.ids[-3:]],
                        uow.outbox.find(state=OutboxState.PENDING, limit=1000),
                        [uow.sla.get(t) for t in self.ids[-3:]],
                        uow.sla.due(now=self.clock, limit=1000),
                        [uow.sla.fired(t) for t in self.ids[-3:]],
                        uow.staged_mail.list(account="box"),
                    ))
            assert views[0] == views[1]

        @rule(query=strategies.queries())
        def same_queue(self, query: TicketQuery) -> None:
            assert [t.snapshot() for t in _all_pages(self.real, query)] == [
                t.snapshot() for t in _all_pages(self.model, query)
            ]

        @invariant()
        def same_tickets_history_and_articles(self) -> None:
            if not hasattr(self, "ids"):
                return
            for ticket_id in self.ids[-3:]:
                views = []
                for storage in (self.real, self.model):
                    with storage.unit_of_work(read_only=True) as uow:
                        views.append((
                            uow.tickets.get(ticket_id).snapshot(),
                            uow.tickets.history(ticket_id),
                            uow.tickets.articles(ticket_id),
                        ))
                assert views[0] == views[1]

    StorageMachine.TestCase.settings = settings(
        max_examples=15, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    return StorageMachine
