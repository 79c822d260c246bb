"""The host's customers, organisations, orders and products, as the helpdesk sees them.

Hosts with their own customer database implement this port over it; hosts without one use the
built-in contact directory (``helpdesk_core.services.directory.StorageDirectory``).
"""

from __future__ import annotations

from typing import Protocol

from helpdesk_core.domain.contacts import Contact, Order, Organisation, Product
from helpdesk_core.domain.values import EntityRef

__all__ = ["Directory"]


class Directory(Protocol):
    def customer(self, customer_id: str) -> Contact | None: ...

    def customer_by_email(self, email: str) -> Contact | None:
        """``email`` is normalised (see normalize_email)."""

    def customer_by_phone(self, phone: str) -> Contact | None:
        """``phone`` is in E.164."""

    def organisation(self, organisation_id: str) -> Organisation | None: ...

    def create_customer(
        self, *, name: str, email: str | None = None, phone: str | None = None,
        language: str | None = None,
    ) -> Contact:
        """Create a contact for an unknown sender and return it."""

    def order_by_number(self, number: str) -> Order | None: ...

    def recent_orders(self, customer_id: str, *, limit: int = 10) -> list[Order]: ...

    def product(self, ref: EntityRef) -> Product | None: ...
