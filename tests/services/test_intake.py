"""Opening tickets: web form, staff entry and from an order, through the Helpdesk facade."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk_core import Helpdesk
from helpdesk_core.domain import (
    Actor,
    ActorKind,
    Channel,
    Direction,
    EntityKind,
    EntityRef,
    EventKind,
    IncidentType,
    StaffVia,
    TicketQuery,
)
from helpdesk_core.errors import OrderNotFound, OrderNotOwned, ValidationError

EVA = Actor.agent("eva", "Eva Agentová")
ORDER_42 = EntityRef(EntityKind.ORDER, "eshop", "2026-00042")
ORDER_44 = EntityRef(EntityKind.ORDER, "eshop", "2026-00044")


def tickets(helpdesk: Helpdesk) -> list[Any]:
    return list(helpdesk.tickets.queue(TicketQuery(limit=500)).items)


def form(**fields: object) -> dict[str, object]:
    return {"email": "new.customer@example.de", "name": "Hans Neu",
            "message": "Mein Wasserkocher ist kaputt.\nBitte um Ersatz.", **fields}


def assert_next_number_is_the_first(helpdesk: Helpdesk) -> None:
    """Nothing consumed a ticket number: the next ticket is number one."""
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="probe",
                                            message="x")
    assert ticket.number == "HD-2026-000001"


# -- web form ----------------------------------------------------------------------------------


def test_web_form_from_an_unknown_sender_creates_a_contact(helpdesk, directory):
    before = set(directory.customers)
    ticket = helpdesk.tickets.open_from_web_form(form(language="de"))
    [new_id] = set(directory.customers) - before
    contact = directory.customers[new_id]
    assert contact.emails == ("new.customer@example.de",)
    assert contact.name == "Hans Neu"
    assert contact.language == "de"
    assert ticket.customer_id == contact.id
    assert ticket.channel is Channel.WEB_FORM
    assert ticket.number == "HD-2026-000001"
    assert ticket.subject == "Mein Wasserkocher ist kaputt."
    assert ticket.language == "de"
    article, acknowledgement = helpdesk.tickets.articles(ticket.number)
    assert article.direction is Direction.INBOUND
    assert article.public
    assert article.body_text.startswith("Mein Wasserkocher")
    # The customer's own form is acknowledged with the number, like a mail.
    assert acknowledgement.direction is Direction.OUTBOUND
    assert acknowledgement.meta["kind"] == "acknowledgement"
    assert ticket.number in acknowledgement.subject
    [queued] = helpdesk.outbox.for_ticket(ticket.number)
    assert queued.recipients == ("new.customer@example.de",)
    assert queued.headers["Auto-Submitted"] == "auto-replied"
    created = helpdesk.tickets.history(ticket.number)[0]
    assert created.kind is EventKind.CREATED
    assert created.actor.kind is ActorKind.CUSTOMER
    assert created.actor.id == contact.id


def test_web_form_from_a_known_sender_links_the_existing_contact(helpdesk, directory):
    jana = next(c for c in directory.customers.values() if c.email == "jana@example.cz")
    count = len(directory.customers)
    ticket = helpdesk.tickets.open_from_web_form(form(email=" JANA@Example.CZ ", name="J."))
    assert ticket.customer_id == jana.id
    assert len(directory.customers) == count
    assert ticket.language == "cs"  # the contact's language when the form names none
    assert helpdesk.tickets.history(ticket.id)[0].actor == Actor.customer(jana.id, "Jana Nováková")


def test_web_form_with_the_builtin_directory_creates_then_reuses_the_contact(make_helpdesk):
    helpdesk = make_helpdesk(builtin_directory=True)
    first = helpdesk.tickets.open_from_web_form(form())
    second = helpdesk.tickets.open_from_web_form(form(email="New.Customer@EXAMPLE.de",
                                              message="Noch eine Frage"))
    assert first.customer_id is not None
    assert second.customer_id == first.customer_id
    contact = helpdesk.directory.customer_by_email("new.customer@example.de")
    assert contact is not None
    assert contact.id == first.customer_id


def test_web_form_with_the_customers_own_order_links_it(helpdesk, directory):
    ticket = helpdesk.tickets.open_from_web_form(form(email="jana@example.cz",
                                              order_number="2026-00042"))
    assert ticket.links == {ORDER_42}
    assert helpdesk.tickets.history(ticket.id)[0].data["order_number"] == "2026-00042"


@pytest.mark.parametrize("sender", ["jana@example.cz", "stranger@example.com"])
def test_web_form_naming_someone_elses_order_writes_nothing(helpdesk, directory, sender):
    customers = dict(directory.customers)
    with pytest.raises(OrderNotOwned) as info:
        helpdesk.tickets.open_from_web_form(form(email=sender, order_number="2026-00043"))
    assert info.value.order_number == "2026-00043"
    assert directory.customers == customers
    assert tickets(helpdesk) == []
    assert_next_number_is_the_first(helpdesk)


def test_builtin_directory_knows_no_orders_and_writes_nothing(make_helpdesk):
    helpdesk = make_helpdesk(builtin_directory=True)
    with pytest.raises(OrderNotFound):
        helpdesk.tickets.open_from_web_form(form(order_number="2026-00043"))
    assert helpdesk.directory.customer_by_email("new.customer@example.de") is None
    assert tickets(helpdesk) == []


def test_web_form_with_an_unknown_order_is_refused(helpdesk, directory):
    customers = dict(directory.customers)
    with pytest.raises(OrderNotFound) as info:
        helpdesk.tickets.open_from_web_form(form(order_number="1999-00001"))
    assert info.value.number == "1999-00001"
    assert directory.customers == customers
    assert tickets(helpdesk) == []
    assert_next_number_is_the_first(helpdesk)


def test_guest_checkout_order_is_matched_by_email(helpdesk, directory):
    ticket = helpdesk.tickets.open_from_web_form(form(email="guest.buyer@example.COM",
                                              order_number="2026-00044"))
    assert ticket.links == {ORDER_44}
    contact = directory.customers[ticket.customer_id]
    assert contact.emails == ("guest.buyer@example.com",)


def test_guest_checkout_order_refuses_another_email(helpdesk, directory):
    with pytest.raises(OrderNotOwned):
        helpdesk.tickets.open_from_web_form(form(email="other@example.com",
                                                 order_number="2026-00044"))
    assert tickets(helpdesk) == []


@pytest.mark.parametrize(
    "fields",
    [form(email="not-an-address"), form(message=""), form(order_number="../etc"),
     {"email": "a@example.cz"}, form(subject=0), form(subject=()), form(name=0),
     form(name=["Hans"])],
)
def test_invalid_web_form_writes_nothing(helpdesk, directory, fields):
    customers = dict(directory.customers)
    with pytest.raises(ValidationError):
        helpdesk.tickets.open_from_web_form(fields)
    assert directory.customers == customers
    assert tickets(helpdesk) == []


# -- staff entry -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("via", "channel"),
    [(StaffVia.PHONE, Channel.PHONE), (StaffVia.IN_STORE, Channel.STAFF),
     (StaffVia.RETURN, Channel.STAFF), (StaffVia.OTHER, Channel.STAFF)],
)
def test_staff_entry_maps_the_way_in_onto_a_channel(helpdesk, via, channel):
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=via, subject="Kettle", message="Broken",
                                    customer_email="jana@example.cz")
    assert ticket.channel is channel
    created = helpdesk.tickets.history(ticket.id)[0]
    assert created.data["via"] == via.value
    assert created.data["channel"] == channel.value
    assert created.actor == EVA
    [article] = helpdesk.tickets.articles(ticket.id)
    assert article.author == EVA
    assert article.channel is channel


def test_staff_entry_finds_the_customer_by_phone(helpdesk, directory):
    jana = next(c for c in directory.customers.values() if c.email == "jana@example.cz")
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Call",
                                    message="Called about the kettle",
                                    customer_phone="601 234 567")
    assert ticket.customer_id == jana.id


def test_staff_entry_creates_an_unknown_caller_by_phone_once(helpdesk, directory):
    count = len(directory.customers)
    first = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Call",
                                   message="x", customer_phone="+49 151 23456789",
                                   customer_name="Herr Braun")
    second = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Call again",
                                    message="y", customer_phone="0049 151 2345 6789")
    assert len(directory.customers) == count + 1
    assert first.customer_id == second.customer_id
    contact = directory.customers[first.customer_id]
    assert contact.phones == ("+4915123456789",)
    assert contact.name == "Herr Braun"


def test_staff_entry_creates_an_unknown_customer_by_email(helpdesk, directory):
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.IN_STORE, subject="Visit",
                                    message="x", customer_email="Walk.In@Example.sk",
                                    customer_name="Ján")
    contact = directory.customers[ticket.customer_id]
    assert (contact.email, contact.name) == ("walk.in@example.sk", "Ján")


def test_staff_entry_by_customer_id(helpdesk, directory):
    petr = next(c for c in directory.customers.values() if c.email == "petr@example.cz")
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.RETURN, subject="Parcel back",
                                    message="Toaster returned", customer_id=petr.id)
    assert ticket.customer_id == petr.id


def test_staff_entry_with_an_unknown_customer_id_is_refused(helpdesk):
    with pytest.raises(ValidationError) as info:
        helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="x", message="x",
                               customer_id="nobody")
    assert info.value.field == "customer_id"
    assert tickets(helpdesk) == []


def test_staff_entry_without_customer(helpdesk):
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="Anonymous",
                                    message="Someone left a note")
    assert ticket.customer_id is None
    assert ticket.language == "en"


def test_staff_entry_with_an_order_and_no_customer_takes_the_orders_customer(helpdesk,
                                                                               directory):
    jana = next(c for c in directory.customers.values() if c.email == "jana@example.cz")
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.RETURN, subject="Return",
                                    message="Parcel", order_number="2026-00042")
    assert ticket.customer_id == jana.id
    assert ticket.links == {ORDER_42}


def test_staff_entry_with_someone_elses_order_is_refused(helpdesk, directory):
    with pytest.raises(OrderNotOwned):
        helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="x", message="x",
                               customer_email="jana@example.cz", order_number="2026-00043")
    assert tickets(helpdesk) == []


def test_staff_entry_refused_for_a_foreign_order_creates_no_contact(helpdesk, directory):
    customers = dict(directory.customers)
    with pytest.raises(OrderNotOwned):
        helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="x", message="x",
                               customer_email="brand.new@example.cz",
                               order_number="2026-00043")
    assert directory.customers == customers


def test_staff_entry_refused_for_an_unknown_incident_type_creates_no_contact(helpdesk,
                                                                             directory):
    customers = dict(directory.customers)
    with pytest.raises(ValidationError):
        helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="x", message="x",
                               customer_email="brand.new@example.cz", incident_type="nope")
    assert directory.customers == customers


@pytest.mark.parametrize("refused", [
    {"subject": ""}, {"subject": "x\ud800"}, {"message": "  "}, {"priority": "panic"},
    {"tags": ["no tag!"]}, {"custom_fields": {"Serial No": "X"}},
    {"custom_fields": {"serial_no": float("nan")}}, {"assignee": ""}, {"team": " "},
])
def test_staff_entry_refused_for_the_ticket_s_own_values_creates_no_contact(
        helpdesk, directory, refused):
    """What the new ticket itself refuses is refused before its new customer is created
    (the contact was created first: a hypothesis find)."""
    customers = dict(directory.customers)
    entry = {"subject": "Hovor", "message": "Volal zákazník.", **refused}
    with pytest.raises(ValidationError):
        helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE,
                                       customer_email="brand.new@example.cz", **entry)
    assert directory.customers == customers
    assert tickets(helpdesk) == []


def test_staff_entry_takes_the_priority_as_its_text(helpdesk):
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via="phone", subject="x", message="x",
                                            priority="urgent")
    assert ticket.priority.value == "urgent"


# -- from an order -----------------------------------------------------------------------------


def test_ticket_from_an_order_links_order_and_customer(helpdesk, directory):
    jana = next(c for c in directory.customers.values() if c.email == "jana@example.cz")
    ticket = helpdesk.tickets.open_from_order(agent=EVA, order_number="2026-00042",
                                      subject="Kettle complaint", message="Customer called")
    assert ticket.links == {ORDER_42}
    assert ticket.customer_id == jana.id
    assert ticket.channel is Channel.STAFF
    assert helpdesk.tickets.history(ticket.id)[0].data["order_number"] == "2026-00042"
    [note] = helpdesk.tickets.articles(ticket.id)
    assert note.direction is Direction.INTERNAL
    assert not note.public


def test_ticket_from_a_guest_order_creates_the_customer_by_email(helpdesk, directory):
    ticket = helpdesk.tickets.open_from_order(agent=EVA, order_number="2026-00044", subject="Guest",
                                      message="x")
    assert directory.customers[ticket.customer_id].email == "guest.buyer@example.com"
    again = helpdesk.tickets.open_from_order(agent=EVA, order_number="2026-00044", subject="Again",
                                     message="y")
    assert again.customer_id == ticket.customer_id


def test_ticket_from_a_guest_order_refused_for_its_own_values_creates_no_customer(helpdesk,
                                                                                directory):
    customers = dict(directory.customers)
    for refused in ({"subject": " "}, {"tags": ["bad tag!"]}, {"incident_type": "nope"}):
        entry = {"subject": "Reklamace", "message": "Prasklé víko.", **refused}
        with pytest.raises(ValidationError):
            helpdesk.tickets.open_from_order(agent=EVA, order_number="2026-00044", **entry)
    assert directory.customers == customers
    assert tickets(helpdesk) == []


def test_ticket_from_an_unknown_order_is_refused(helpdesk):
    with pytest.raises(OrderNotFound):
        helpdesk.tickets.open_from_order(agent=EVA, order_number="0000", subject="x", message="x")
    assert tickets(helpdesk) == []


# -- incident types ----------------------------------------------------------------------------


def test_unknown_incident_type_is_refused_and_nothing_is_written(helpdesk):
    with pytest.raises(ValidationError) as info:
        helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="x", message="x",
                               incident_type="complaint")
    assert info.value.field == "incident_type"
    assert tickets(helpdesk) == []
    assert_next_number_is_the_first(helpdesk)


def test_known_incident_type_is_stored(helpdesk):
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint"))
    helpdesk.configuration.define_incident_type(IncidentType("complaint/damaged", "Damaged"))
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="x", message="x",
                                    incident_type="complaint/damaged")
    assert ticket.incident_type == "complaint/damaged"
    assert [t.key for t in helpdesk.configuration.incident_types()] == ["complaint",
                                                                        "complaint/damaged"]


def test_an_incident_type_needs_its_parent_first(helpdesk):
    with pytest.raises(ValidationError):
        helpdesk.configuration.define_incident_type(IncidentType("complaint/damaged", "Damaged"))
    assert helpdesk.configuration.incident_types() == []


def test_staff_entry_stores_explicit_values(helpdesk):
    ticket = helpdesk.tickets.open_by_staff(
        agent=EVA, via=StaffVia.IN_STORE, subject="x", message="x", team="returns",
        assignee="karel", tags=["VIP"], custom_fields={"serial_no": "SN-1"}, language="SK",
    )
    stored = helpdesk.tickets.get(ticket.number)
    assert (stored.team, stored.assignee, stored.tags, stored.custom_fields, stored.language) == (
        "returns", "karel", {"vip"}, {"serial_no": "SN-1"}, "sk"
    )
    assert stored.version == 1

