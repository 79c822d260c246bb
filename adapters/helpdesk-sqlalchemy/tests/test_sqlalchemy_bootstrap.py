"""The whole library on this adapter: ``bootstrap()`` with storage and blob store "sqlalchemy".

The busy timeout is short on purpose: a use case that opened a second write unit inside
another would wait on SQLite's write lock and fail here instead of hanging for 30 seconds.
"""

from __future__ import annotations

import pytest

from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.intake import StaffVia
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.values import Actor, Priority
from helpdesk_core.errors import ConcurrencyError
from helpdesk_core.settings import Settings
from helpdesk_sqlalchemy import SqlAlchemyStorage

AGENT = Actor.agent("alice", "Alice")


def test_a_helpdesk_on_this_adapter(url: str) -> None:
    settings = Settings(database_url=url, options={"sqlite_busy_timeout_ms": 2000},
                        autoload_plugins=True)
    with bootstrap(settings) as helpdesk:
        assert isinstance(helpdesk.storage, SqlAlchemyStorage)
        helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                                 team="returns"))
        first = helpdesk.tickets.open_from_web_form({
            "email": "Jana.Novakova@Example.cz", "name": "Jana Nováková",
            "subject": "Rozbitý hrnek", "message": "Dobrý den, hrnek přišel rozbitý.",
        })
        second = helpdesk.tickets.open_by_staff(
            agent=AGENT, via=StaffVia.PHONE, subject="Callback", message="Call back at 5",
            customer_email="jana.novakova@example.cz", priority=Priority.URGENT,
            incident_type="complaint",
        )
        assert first.customer_id == second.customer_id  # the contact was found again
        assert first.number != second.number
        helpdesk.tickets.tag(first.number, "vip", actor=AGENT)
        helpdesk.tickets.transition(first.number, "open", actor=AGENT)
        with pytest.raises(ConcurrencyError):
            helpdesk.tickets.transition(second.number, "open", actor=AGENT, expected_version=99)
        attachment = helpdesk.tickets.add_attachment(data=b"%PDF-1.7 ...", filename="faktura.pdf",
                                             content_type="application/pdf")
        assert helpdesk.blob_store.get(attachment.blob_key) == b"%PDF-1.7 ..."

        queue = helpdesk.tickets.queue(TicketQuery.active())
        assert [t.number for t in queue.items] == [second.number, first.number]
        stored = helpdesk.tickets.get(first.number)
        assert stored.tags == frozenset({"vip"})
        assert stored.status == "open"
        assert [e.kind.value for e in helpdesk.tickets.history(first.number)][:2] == [
            "created", "article_added"]
        assert helpdesk.tickets.articles(first.number)[0].body_text.startswith("Dobrý den")


def test_a_web_form_naming_another_customers_order_writes_nothing(url: str) -> None:
    from sqlalchemy import func, select

    from helpdesk_core import StorageDirectory
    from helpdesk_core.domain.contacts import Contact, Order
    from helpdesk_core.domain.values import EntityKind, EntityRef
    from helpdesk_core.errors import OrderNotOwned
    from helpdesk_sqlalchemy.tables import contacts, sequences, ticket_events, tickets

    class Shop(StorageDirectory):
        """Customers in the helpdesk's store, one order that belongs to Klaus."""

        def order_by_number(self, number: str) -> Order | None:
            if number != "2026-1002":
                return None
            return Order(EntityRef(EntityKind.ORDER, "eshop", number), number,
                         customer_id="klaus", customer_email="klaus.becker@example.de")

    def counts(helpdesk: object) -> list[int]:
        storage = helpdesk.storage  # type: ignore[attr-defined]
        with storage.engine.connect() as conn:
            rows = [conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (tickets, ticket_events, contacts)]
            # No number was drawn either.
            return [*rows, conn.execute(select(func.sum(sequences.c.value))).scalar_one()]

    settings = Settings(database_url=url, options={"sqlite_busy_timeout_ms": 2000})
    with bootstrap(settings, directory_factory=Shop) as helpdesk:
        helpdesk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "first"})
        before = counts(helpdesk)
        with pytest.raises(OrderNotOwned, match="2026-1002"):
            helpdesk.tickets.open_from_web_form({
                "email": "someone.new@example.cz", "name": "Someone New",
                "message": "Where is my espresso machine?", "order_number": "2026-1002",
            })
        with pytest.raises(OrderNotOwned):  # a known customer naming another's order
            helpdesk.tickets.open_from_web_form({
                "email": "jana@example.cz", "message": "Mine?", "order_number": "2026-1002",
            })
        assert counts(helpdesk) == before
        assert helpdesk.directory.customer_by_email("someone.new@example.cz") is None
        assert isinstance(helpdesk.directory.customer_by_email("jana@example.cz"), Contact)
