"""The e-shop's side of the demo: its orders, and a Directory that shows them to the helpdesk.

A real shop would read orders from its own database. Here they sit in a dict, and customers are
kept by the helpdesk's built-in contact store (``StorageDirectory``), which this Directory
delegates to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk_core import Contact, EntityKind, EntityRef, Order, Organisation, Product
from helpdesk_core.ports import Directory

SHOP = "eshop"  # the host system's name in links: order@eshop:2026-1001


class ShopDirectory:
    """The Directory port: customers from the helpdesk's own store, orders from the shop."""

    def __init__(self, customers: Directory) -> None:
        self._customers = customers
        self.orders: dict[str, Order] = {}

    # -- customers: delegated ---------------------------------------------------------------

    def customer(self, customer_id: str) -> Contact | None:
        return self._customers.customer(customer_id)

    def customer_by_email(self, email: str) -> Contact | None:
        return self._customers.customer_by_email(email)

    def customer_by_phone(self, phone: str) -> Contact | None:
        return self._customers.customer_by_phone(phone)

    def organisation(self, organisation_id: str) -> Organisation | None:
        return self._customers.organisation(organisation_id)

    def create_customer(
        self, *, name: str, email: str | None = None, phone: str | None = None,
        language: str | None = None,
    ) -> Contact:
        return self._customers.create_customer(
            name=name, email=email, phone=phone, language=language
        )

    # -- orders and products: the shop's own data ------------------------------------------

    def order_by_number(self, number: str) -> Order | None:
        return self.orders.get(number)

    def recent_orders(self, customer_id: str, *, limit: int = 10) -> list[Order]:
        mine = [o for o in self.orders.values() if o.customer_id == customer_id]
        mine.sort(key=lambda o: o.placed_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return mine[:limit]

    def product(self, ref: EntityRef) -> Product | None:
        return None  # this shop does not expose its catalogue to the helpdesk

    # -- demo data --------------------------------------------------------------------------

    def add_order(self, number: str, *, customer: Contact | None = None,
                  guest_email: str | None = None, days_ago: int, summary: str) -> Order:
        order = Order(
            ref=EntityRef(EntityKind.ORDER, SHOP, number),
            number=number,
            customer_id=customer.id if customer else None,
            customer_email=guest_email,
            placed_at=datetime.now(UTC) - timedelta(days=days_ago),
            summary=summary,
        )
        self.orders[number] = order
        return order


def seed(shop: ShopDirectory) -> dict[str, Contact]:
    """Two registered customers with one order each, and one guest-checkout order."""
    jana = shop.create_customer(name="Jana Nováková", email="jana.novakova@example.cz",
                                phone="+420 601 234 567", language="cs")
    klaus = shop.create_customer(name="Klaus Becker", email="klaus.becker@example.de",
                                 phone="+49 151 23456789", language="de")
    shop.add_order("2026-1001", customer=jana, days_ago=6,
                   summary="Coffee set Praha, 6 cups")
    shop.add_order("2026-1002", customer=klaus, days_ago=4,
                   summary="Espresso machine Duo + 2 kg beans")
    shop.add_order("2026-1003", guest_email="martina.kovacova@example.sk",
                   days_ago=3, summary="Milk frother, white")
    return {"jana": jana, "klaus": klaus}
