"""A Directory whose customers, organisations, orders and products are plain dicts.

Used by tests and by hosts' prototypes; a real host implements the Directory port over its own
database.
"""

from __future__ import annotations

import threading

from helpdesk_core.domain.contacts import Contact, Order, Organisation, Product, normalize_phone
from helpdesk_core.domain.values import EntityRef

__all__ = ["InMemoryDirectory"]


class InMemoryDirectory:
    """Customers are found by e-mail and phone through indexes kept by :meth:`add_customer`
    (and :meth:`create_customer`), so a lookup costs the same at ten or a million customers.
    ``customers`` is for reading; add or replace a customer with :meth:`add_customer`."""

    def __init__(self) -> None:
        self.customers: dict[str, Contact] = {}
        self.organisations: dict[str, Organisation] = {}
        self.orders: dict[str, Order] = {}
        self.products: dict[EntityRef, Product] = {}
        # address or E.164 number -> ids of the customers that have it, oldest first
        self._by_email: dict[str, tuple[str, ...]] = {}
        self._by_phone: dict[str, tuple[str, ...]] = {}
        self._added: dict[str, int] = {}  # id -> when it was first added
        self._lock = threading.RLock()  # create_customer looks up while holding it

    # seeding helpers
    def add_customer(self, contact: Contact) -> Contact:
        """Add a customer, or replace the one with the same id (it keeps its place)."""
        with self._lock:
            old = self.customers.get(contact.id)
            if old is not None:
                _unindex(self._by_email, old.emails, old.id)
                _unindex(self._by_phone, old.phones, old.id)
            self.customers[contact.id] = contact
            self._added.setdefault(contact.id, len(self._added))
            _index(self._by_email, contact.emails, contact.id, self._added)
            _index(self._by_phone, contact.phones, contact.id, self._added)
        return contact

    def add_organisation(self, organisation: Organisation) -> Organisation:
        self.organisations[organisation.id] = organisation
        return organisation

    def add_order(self, order: Order) -> Order:
        self.orders[order.number] = order
        return order

    def add_product(self, product: Product) -> Product:
        self.products[product.ref] = product
        return product

    # the Directory port
    def customer(self, customer_id: str) -> Contact | None:
        return self.customers.get(customer_id)

    def customer_by_email(self, email: str) -> Contact | None:
        """The first customer added with the address ``email``: one index lookup."""
        with self._lock:
            ids = self._by_email.get(email)
            return self.customers[ids[0]] if ids else None

    def customer_by_phone(self, phone: str) -> Contact | None:
        """The first customer added with the E.164 number ``phone``: one index lookup."""
        with self._lock:
            ids = self._by_phone.get(phone)
            return self.customers[ids[0]] if ids else None

    def organisation(self, organisation_id: str) -> Organisation | None:
        return self.organisations.get(organisation_id)

    def create_customer(
        self, *, name: str, email: str | None = None, phone: str | None = None,
        language: str | None = None,
    ) -> Contact:
        with self._lock:
            existing = (email and self.customer_by_email(email)) or (
                phone and self.customer_by_phone(normalize_phone(phone))
            )
            if existing:
                return existing
            return self.add_customer(
                Contact.create(name=name, email=email, phone=phone, language=language)
            )

    def order_by_number(self, number: str) -> Order | None:
        return self.orders.get(number)

    def recent_orders(self, customer_id: str, *, limit: int = 10) -> list[Order]:
        mine = [o for o in self.orders.values() if o.customer_id == customer_id]
        return mine[-limit:][::-1]

    def product(self, ref: EntityRef) -> Product | None:
        return self.products.get(ref)


def _index(index: dict[str, tuple[str, ...]], keys: tuple[str, ...], contact_id: str,
           added: dict[str, int]) -> None:
    """Add ``contact_id`` under each key, keeping the ids in the order customers were first
    added, so that the oldest customer with a shared number is found first."""
    for key in keys:
        index[key] = tuple(sorted({*index.get(key, ()), contact_id}, key=added.__getitem__))


def _unindex(index: dict[str, tuple[str, ...]], keys: tuple[str, ...], contact_id: str) -> None:
    for key in keys:
        rest = tuple(i for i in index.get(key, ()) if i != contact_id)
        if rest:
            index[key] = rest
        else:
            index.pop(key, None)
