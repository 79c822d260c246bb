"""Every object type goes in and comes back exactly as it was, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.dialects import postgresql

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.queue import FAR_FUTURE
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, EntityKind, EntityRef, Priority
from helpdesk_core.errors import ValidationError
from helpdesk_core.inmemory import InMemoryStorage
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import AGENT, T0, open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyStorage, convert
from helpdesk_sqlalchemy.tables import tickets

WORKFLOW = Workflow.default()


def _load(storage: SqlAlchemyStorage, ticket_id: str) -> Ticket:
    with storage.unit_of_work(read_only=True) as uow:
        return uow.tickets.get(ticket_id)


def _rich_ticket() -> Ticket:
    ticket = open_ticket(
        subject="Reklamace 'x' OR 1=1 -- {{ template }} 中文 🙂",
        channel=Channel.PHONE,
        priority=Priority.URGENT,
        customer_id="cust-ž",
        organisation_id="org-1",
        incident_type="complaint/damaged",
        links=[EntityRef(EntityKind.ORDER, "eshop", "2026-0042"),
               EntityRef(EntityKind.RMA, "erp", "R/7#1")],
        tags=["vip", "rückgabe", "b2b"],
        custom_fields={
            "text": "řádek\nřádek 2", "pi": 3.141592653589793, "tiny": 5e-324,
            "big": 2**62, "neg": -(2**53), "yes": True, "no": False, "nothing": None,
            "zero": -0.0,
        },
        team="returns",
        assignee="alice",
        language="cs",
    )
    ticket.set_due(T0 + timedelta(hours=5, microseconds=7), at=T0, actor=AGENT)
    ticket.transition("waiting_on_customer", workflow=WORKFLOW, at=T0, actor=AGENT)
    ticket.merged_into = "some-other-ticket"
    return ticket


def test_ticket_round_trip_is_exact(storage: SqlAlchemyStorage) -> None:
    ticket = _rich_ticket()
    store_tickets(storage, [ticket])
    loaded = _load(storage, ticket.id)
    assert loaded.snapshot() == ticket.snapshot()
    # Equal is not enough for values whose type matters to callers.
    for name, value in ticket.custom_fields.items():
        assert type(loaded.custom_fields[name]) is type(value), name
    assert str(loaded.custom_fields["zero"]) == "-0.0"
    assert loaded.created_at.tzinfo is UTC
    assert loaded.due_at is not None
    assert loaded.due_at.tzinfo is UTC
    assert loaded.due_at == T0 + timedelta(hours=5, microseconds=7)


def test_timestamps_in_other_zones_come_back_as_the_same_instant_in_utc(
    storage: SqlAlchemyStorage,
) -> None:
    prague = timezone(timedelta(hours=2))
    ticket = open_ticket()
    ticket.due_at = datetime(2026, 6, 1, 14, 30, 0, 123456, tzinfo=prague)
    store_tickets(storage, [ticket])
    loaded = _load(storage, ticket.id)
    assert loaded.due_at == datetime(2026, 6, 1, 12, 30, 0, 123456, tzinfo=UTC)
    assert loaded.due_at is not None
    assert loaded.due_at.utcoffset() == timedelta(0)


def test_due_sort_is_far_future_without_a_due_date(storage: SqlAlchemyStorage) -> None:
    undated, dated = open_ticket(), open_ticket()
    dated.set_due(T0 + timedelta(days=1), at=T0, actor=AGENT)
    store_tickets(storage, [undated, dated])
    with storage.engine.connect() as conn:
        rows = {ticket_id: due for ticket_id, due in conn.execute(
            tickets.select().with_only_columns(tickets.c.id, tickets.c.due_sort))}
    assert rows[undated.id] == FAR_FUTURE
    assert rows[dated.id] == T0 + timedelta(days=1)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kwargs=strategies.ticket_kwargs())
def test_generated_tickets_round_trip(storage: SqlAlchemyStorage, kwargs: dict[str, Any]) -> None:
    ticket = open_ticket(**kwargs)
    store_tickets(storage, [ticket])
    assert _load(storage, ticket.id).snapshot() == ticket.snapshot()


def test_history_round_trips_every_event(storage: SqlAlchemyStorage) -> None:
    ticket = _rich_ticket()
    ticket.set_customer("cust-2", organisation_id=None, at=T0, actor=AGENT)
    ticket.set_field("pi", 1.5, at=T0, actor=AGENT)
    ticket.set_field("nothing", "now text", at=T0, actor=AGENT)
    ticket.link(EntityRef(EntityKind.INVOICE, "erp", "F-1"), at=T0, actor=AGENT)
    ticket.unlink(EntityRef(EntityKind.INVOICE, "erp", "F-1"), at=T0, actor=AGENT)
    ticket.remove_tag("vip", at=T0, actor=AGENT)
    ticket.set_incident_type("question", at=T0, actor=AGENT)
    ticket.set_team(None, at=T0, actor=Actor.system("sweeper"))
    # Event data is free-form JSON; PostgreSQL's json type has no NaN or infinity, the
    # adapter carries them anyway.
    ticket.assign("bob", at=T0, actor=AGENT, reason={
        "resolver": "round_robin", "n": [1, 2], "score": float("inf"), "low": float("-inf")})
    expected = list(ticket.pending_events)
    store_tickets(storage, [ticket])
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.history(ticket.id) == expected
        assert uow.tickets.history("unknown") == []


def test_articles_round_trip(storage: SqlAlchemyStorage) -> None:
    ticket = open_ticket()
    blob = "ab" * 32
    ticket.add_article(
        direction=Direction.INBOUND, channel=Channel.EMAIL,
        author=Actor.customer(None, "Guest"), body_text="Dobrý den,\n\npřikládám fotky.",
        at=T0, subject="Re: [HD-2026-000001] Poškozeno",
        attachments=(
            AttachmentMeta(blob, "foto 1.jpg", "image/jpeg", 1234, "<cid-1>", True),
            AttachmentMeta(blob, "../../invoice.html"),
            AttachmentMeta.received(blob_key=blob, filename="logo.svg", size=40,
                                    declared_type="image/svg+xml", head=b"<svg onload=x()>",
                                    content_id="logo@x", inline=True),
        ),
        external_id="<CAFE@mail.example>", meta={"from": "guest@example.cz", "x": ""},
    )
    ticket.add_article(direction=Direction.INTERNAL, channel=Channel.STAFF, author=AGENT,
                       body_text="note", at=T0 + timedelta(seconds=1))
    expected = list(ticket.pending_articles)
    store_tickets(storage, [ticket])
    with storage.unit_of_work(read_only=True) as uow:
        loaded = uow.tickets.articles(ticket.id)
        assert uow.tickets.articles("unknown") == []
    assert loaded == expected
    assert isinstance(loaded[0].attachments, tuple)
    assert loaded[0].attachments[1].filename == "invoice.html.txt"


def test_articles_keep_their_order_across_saves(storage: SqlAlchemyStorage) -> None:
    (ticket,) = store_tickets(storage, [open_ticket()])
    bodies = []
    for round_ in range(3):
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(ticket.id)
            for i in range(2):
                body = f"round {round_} article {i}"
                bodies.append(body)
                # Same timestamp on purpose: the order is the order of adding, not of time.
                loaded.add_article(direction=Direction.OUTBOUND, channel=Channel.EMAIL,
                                   author=AGENT, body_text=body, at=T0)
            uow.tickets.save(loaded)
            uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert [a.body_text for a in uow.tickets.articles(ticket.id)] == bodies


def test_contacts_round_trip_with_ordered_emails_and_phones(storage: SqlAlchemyStorage) -> None:
    contact = Contact(
        id="c-1", name="  Jana   Nováková ",
        emails=("Jana@Example.CZ", "b@example.com", "a@example.com"),
        phones=("+420601234567", "+420222111000"),
        organisation_id="org-1", language="cs", account_owner="alice",
    )
    with storage.unit_of_work() as uow:
        uow.contacts.add(contact)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        loaded = uow.contacts.get("c-1")
        assert uow.contacts.find_by_email("b@example.com") == contact
        assert uow.contacts.find_by_phone("+420222111000") == contact
    assert loaded == contact
    assert loaded.email == "jana@example.cz"
    assert loaded.emails == ("jana@example.cz", "b@example.com", "a@example.com")


def test_contact_without_email_or_phone(storage: SqlAlchemyStorage) -> None:
    contact = Contact.create(name="")
    with storage.unit_of_work() as uow:
        uow.contacts.add(contact)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.contacts.get(contact.id) == contact


def test_a_shared_phone_finds_the_oldest_contact_like_the_model(
    storage: SqlAlchemyStorage,
) -> None:
    model = InMemoryStorage()
    first = Contact(id="zz", name="Reception", phones=("+420222111000",))
    second = Contact(id="aa", name="Boss", phones=("+420222111000",))
    for store in (storage, model):
        for contact in (first, second):
            with store.unit_of_work() as uow:
                uow.contacts.add(contact)
                uow.commit()
        with store.unit_of_work() as uow:  # updating keeps a contact's place
            uow.contacts.update(Contact(id="zz", name="Reception desk",
                                        phones=("+420222111000",)))
            uow.commit()
    answers = []
    for store in (storage, model):
        with store.unit_of_work(read_only=True) as uow:
            found = uow.contacts.find_by_phone("+420222111000")
            answers.append(found.id if found else None)
    assert answers == ["zz", "zz"]


def test_updating_emails_frees_the_old_address(storage: SqlAlchemyStorage) -> None:
    jana = Contact.create(name="Jana", email="old@example.com")
    with storage.unit_of_work() as uow:
        uow.contacts.add(jana)
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.contacts.update(Contact(jana.id, "Jana", ("new@example.com",)))
        uow.contacts.add(Contact.create(name="Petr", email="old@example.com"))
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        old = uow.contacts.find_by_email("old@example.com")
        new = uow.contacts.find_by_email("new@example.com")
    assert old is not None
    assert old.name == "Petr"
    assert new is not None
    assert new.id == jana.id


def test_an_email_conflict_on_update_is_a_validation_error_and_the_unit_survives(
    storage: SqlAlchemyStorage,
) -> None:
    a = Contact.create(name="A", email="a@example.com")
    b = Contact.create(name="B", email="b@example.com")
    with storage.unit_of_work() as uow:
        uow.contacts.add(a)
        uow.contacts.add(b)
        uow.commit()
    with storage.unit_of_work() as uow:
        with pytest.raises(ValidationError) as info:
            uow.contacts.update(Contact(b.id, "B", ("b@example.com", "a@example.com")))
        assert info.value.field == "email"
        # The refused write is undone, the rest of the unit goes on.
        uow.contacts.update(Contact(b.id, "B renamed", ("b@example.com",)))
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.contacts.get(b.id) == Contact(b.id, "B renamed", ("b@example.com",))
        assert uow.contacts.get(a.id) == a


def test_organisations(storage: SqlAlchemyStorage) -> None:
    org = Organisation.create("Novák & syn s.r.o.", account_owner="alice")
    with storage.unit_of_work() as uow:
        uow.organisations.add(org)
        uow.commit()
    renamed = Organisation(org.id, "Novák a syn", None)
    with storage.unit_of_work() as uow:
        uow.organisations.add(renamed)  # replaces, as in the model
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.organisations.get(org.id) == renamed
        assert uow.organisations.get("missing") is None


def test_incident_types_are_ordered_by_code_point_like_the_model(
    storage: SqlAlchemyStorage,
) -> None:
    keys = ["complaint", "complaint/damaged", "complaint-x", "complaint_x", "complaint0",
            "a", "b/c", "b-c", "b", "z9", "z/a"]
    types = [IncidentType(k, f"Name of {k}", responsible="alice", team="returns") for k in keys]
    model = InMemoryStorage()
    for store in (storage, model):
        with store.unit_of_work() as uow:
            for t in types:
                uow.incident_types.put(t)
            uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        stored = uow.incident_types.all()
    with model.unit_of_work(read_only=True) as uow:
        assert stored == uow.incident_types.all()
    assert [t.key for t in stored] == sorted(keys)


def test_convert_round_trips_without_a_database() -> None:
    ticket = _rich_ticket()
    row = convert.ticket_to_row(ticket)
    assert row["due_sort"] == ticket.due_at
    assert row["priority_rank"] == 0
    values = [row[name] for name in convert.TICKET_COLUMNS]
    read = convert.ticket_from_values(postgresql.psycopg.dialect())  # drivers' values as-is
    assert read(values, ticket.tags).snapshot() == ticket.snapshot()
    for event in ticket.pending_events:
        assert convert.event_from_row(convert.event_to_row(event)) == event
    article = Article.create(
        ticket_id=ticket.id, direction=Direction.OUTBOUND, channel=Channel.SMS, author=AGENT,
        body_text="x", at=T0, attachments=(AttachmentMeta("0" * 64, "a.pdf"),),
    )
    assert convert.article_from_row(convert.article_to_row(article, position=1)) == article
    contact = Contact.create(name="X", email="x@example.com", phone="+420601234567")
    row = convert.contact_to_row(contact)
    assert convert.contact_from_row(row, contact.emails, contact.phones) == contact
    org = Organisation.create("Org")
    assert convert.organisation_from_row(convert.organisation_to_row(org)) == org
    it = IncidentType("a/b", "AB", responsible="r", team="t")
    assert convert.incident_type_from_row(convert.incident_type_to_row(it)) == it
