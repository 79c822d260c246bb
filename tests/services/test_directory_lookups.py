"""Finding a customer by phone or e-mail reads that customer, never every customer: the
built-in directory over in-memory storage and the in-memory host directory keep indexes.

A scan is caught without timing anything: after seeding, every other customer is replaced by
a tripwire that fails the test when anything reads it. A lookup that goes through an index
only ever reads the customer it finds.
"""

from __future__ import annotations

import pytest

from helpdesk_core import Actor, Contact, Settings, StaffVia, bootstrap
from helpdesk_core.inmemory import InMemoryDirectory

CUSTOMERS = 2_000
JANA_PHONE, JANA_EMAIL = "+420601234567", "jana@example.cz"


class Tripwire:
    """Stands in for a customer no lookup should read."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"a lookup read another customer's {name}: it scans")


def _others() -> list[Contact]:
    return [Contact.create(name=f"Zákazník {n}", email=f"c{n}@example.cz",
                           phone=f"+420602{n:06d}") for n in range(CUSTOMERS)]


def _jana() -> Contact:
    return Contact.create(name="Jana Nováková", email=JANA_EMAIL, phone="601 234 567")


@pytest.fixture
def desk():
    with bootstrap(Settings(storage="memory", autoload_plugins=False), environ={}) as helpdesk:
        yield helpdesk


def test_the_builtin_directory_finds_a_customer_without_reading_the_others(desk):
    with desk.storage.unit_of_work() as uow:
        for contact in _others():
            uow.contacts.add(contact)
        uow.commit()
    jana = desk.directory.create_customer(name="Jana Nováková", email=JANA_EMAIL,
                                          phone="601 234 567")
    contacts = desk.storage._state.contacts
    for contact_id in contacts:
        if contact_id != jana.id:
            contacts[contact_id] = Tripwire()

    assert desk.directory.customer_by_phone(JANA_PHONE) == jana
    assert desk.directory.customer_by_email(JANA_EMAIL) == jana
    assert desk.directory.customer_by_phone("+420777000111") is None
    assert desk.directory.customer_by_email("nobody@example.cz") is None
    # the use cases that look up a number or an address, end to end
    eva = Actor.agent("eva", "Eva")
    by_phone = desk.tickets.open_by_staff(agent=eva, via=StaffVia.PHONE, subject="Hovor",
                                          message="Volala Jana.", customer_phone="601234567")
    by_mail = desk.tickets.open_from_web_form({"email": JANA_EMAIL, "message": "Dotaz"})
    assert by_phone.customer_id == by_mail.customer_id == jana.id
    # a new customer is checked against the index as well, in the same unit
    new = desk.directory.create_customer(name="Nový", phone="+420777000111")
    assert desk.directory.customer_by_phone("+420777000111") == new


def test_an_updated_customer_is_found_by_the_new_number_only(desk):
    jana = desk.directory.create_customer(name="Jana", email=JANA_EMAIL, phone=JANA_PHONE)
    moved = Contact(jana.id, jana.name, emails=("jana.nova@example.cz",),
                    phones=("+420777000111",))
    with desk.storage.unit_of_work() as uow:
        uow.contacts.update(moved)
        assert uow.contacts.find_by_phone("+420777000111") == moved  # seen in its own unit
        assert uow.contacts.find_by_phone(JANA_PHONE) is None
        uow.commit()
    assert desk.directory.customer_by_phone(JANA_PHONE) is None
    assert desk.directory.customer_by_email(JANA_EMAIL) is None
    assert desk.directory.customer_by_phone("+420777000111") == moved
    assert desk.directory.customer_by_email("jana.nova@example.cz") == moved


def test_a_shared_number_finds_the_oldest_customer(desk):
    switchboard = "+420222333444"
    first = desk.directory.create_customer(name="Firma, recepce", phone=switchboard)
    with desk.storage.unit_of_work() as uow:
        second = Contact.create(name="Firma, sklad", phone=switchboard)
        uow.contacts.add(second)
        assert uow.contacts.find_by_phone(switchboard) == first
        uow.commit()
    with desk.storage.unit_of_work() as uow:  # a change keeps the customer's place
        uow.contacts.update(Contact(first.id, "Firma", phones=(switchboard,)))
        uow.commit()
    assert desk.directory.customer_by_phone(switchboard).id == first.id


def test_the_in_memory_host_directory_finds_a_customer_without_reading_the_others():
    directory = InMemoryDirectory()
    for contact in _others():
        directory.add_customer(contact)
    jana = directory.add_customer(_jana())
    for contact_id in list(directory.customers):
        if contact_id != jana.id:
            directory.customers[contact_id] = Tripwire()

    assert directory.customer_by_phone(JANA_PHONE) == jana
    assert directory.customer_by_email(JANA_EMAIL) == jana
    assert directory.customer_by_phone("+420777000111") is None
    assert directory.create_customer(name="Jana", phone="601 234 567") == jana
    assert directory.create_customer(name="Jana", email=JANA_EMAIL) == jana


def test_the_in_memory_host_directory_follows_a_replaced_customer():
    directory = InMemoryDirectory()
    first = directory.add_customer(Contact.create(name="Firma", phone="+420222333444"))
    directory.add_customer(Contact.create(name="Sklad", phone="+420222333444"))
    directory.add_customer(Contact(first.id, "Firma", phones=("+420777000111",)))
    assert directory.customer_by_phone("+420222333444").name == "Sklad"
    assert directory.customer_by_phone("+420777000111").id == first.id
    directory.add_customer(Contact(first.id, "Firma", phones=("+420222333444",)))
    assert directory.customer_by_phone("+420222333444").id == first.id  # oldest again
