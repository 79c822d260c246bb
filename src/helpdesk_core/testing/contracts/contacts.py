"""Contacts and organisations: look-ups by normalised e-mail and phone, one owner per address.

Covers :class:`~helpdesk_core.ports.storage.ContactRepository` and
:class:`~helpdesk_core.ports.storage.OrganisationRepository`.
"""

from __future__ import annotations

import pytest

from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.errors import ContactNotFound, StorageError, ValidationError
from helpdesk_core.ports.storage import ContactRepository, OrganisationRepository, Storage

__all__ = ["TestContactRepository", "TestOrganisationRepository"]

COVERS = (ContactRepository, OrganisationRepository)


class TestContactRepository:
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


class TestOrganisationRepository:
    def test_an_organisation_round_trips_and_an_unknown_one_is_none(
        self, storage: Storage
    ) -> None:
        firm = Organisation.create("Kávový koutek s.r.o.", account_owner="bob")
        with storage.unit_of_work() as uow:
            uow.organisations.add(firm)
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert uow.organisations.get(firm.id) is None
            uow.organisations.add(firm)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.organisations.get(firm.id) == firm
            assert uow.organisations.get("missing") is None
