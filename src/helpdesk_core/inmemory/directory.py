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
    def __init__(self) -> None:
        self.customers: dict[str, Contact] = {}
        self.organisations: dict[str, Organisation] = {}
        self.orders: dict[str, Order] = {}
        self.products: dict[EntityRef, Product] = {}
        self._lock = threading.RLock()  # create_customer looks up while holding it

    # seeding helpers
    def add_customer(self, contact: Contact) -> Contact:
        self.customers[contact.id] = contact
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
        with self._lock:
            return next((c for c in self.customers.values() if email in c.emails), None)

    def customer_by_phone(self, phone: str) -> Contact | None:
        with self._lock:
            return next((c for c in self.customers.values() if phone in c.phones), None)

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
