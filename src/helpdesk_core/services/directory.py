"""The built-in Directory: contacts and organisations kept in the helpdesk's own storage.

For hosts without a customer database. It knows no orders or products; a host that has them
wraps this class (or implements the Directory port itself) and serves them.
"""

from __future__ import annotations

from helpdesk_core.domain.contacts import Contact, Order, Organisation, Product, normalize_phone
from helpdesk_core.domain.values import EntityRef
from helpdesk_core.errors import ContactNotFound, ValidationError
from helpdesk_core.ports.storage import Storage
from helpdesk_core.services.messagebus import MessageBus
from helpdesk_core.services.unit_of_work import Units

__all__ = ["StorageDirectory"]


class StorageDirectory:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        # Contacts raise no ticket events: their units need no handlers.
        self._units = Units(storage, MessageBus())

    @property
    def storage(self) -> Storage:
        """The storage the contacts live in."""
        return self._storage

    def customer(self, customer_id: str) -> Contact | None:
        with self._units(read_only=True) as unit:
            try:
                return unit.contacts.get(customer_id)
            except ContactNotFound:
                return None

    def customer_by_email(self, email: str) -> Contact | None:
        with self._units(read_only=True) as unit:
            return unit.contacts.find_by_email(email)

    def customer_by_phone(self, phone: str) -> Contact | None:
        with self._units(read_only=True) as unit:
            return unit.contacts.find_by_phone(phone)

    def organisation(self, organisation_id: str) -> Organisation | None:
        with self._units(read_only=True) as unit:
            return unit.organisations.get(organisation_id)

    def create_customer(
        self, *, name: str, email: str | None = None, phone: str | None = None,
        language: str | None = None,
    ) -> Contact:
        contact = Contact.create(name=name, email=email, phone=phone, language=language)
        try:
            with self._units() as unit:
                unit.contacts.add(contact)
                unit.commit()
        except ValidationError:
            # Someone created the same address a moment ago: theirs is the contact.
            existing = (contact.email and self.customer_by_email(contact.email)) or (
                phone and self.customer_by_phone(normalize_phone(phone))
            )
            if not existing:
                raise
            return existing
        return contact

    def order_by_number(self, number: str) -> Order | None:
        return None

    def recent_orders(self, customer_id: str, *, limit: int = 10) -> list[Order]:
        return []

    def product(self, ref: EntityRef) -> Product | None:
        return None
