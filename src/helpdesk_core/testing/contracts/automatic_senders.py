"""Senders whose mail was recognised as automatic: one record per address, replaced by the
next one.

Covers :class:`~helpdesk_core.ports.storage.AutomaticSenders`.
"""

from __future__ import annotations

from datetime import timedelta

from helpdesk_core.domain.mailbox import AutomaticSender
from helpdesk_core.ports.storage import AutomaticSenders, Storage
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets

__all__ = ["TestAutomaticSenders"]

COVERS = (AutomaticSenders,)


class TestAutomaticSenders:
    def test_round_trip_and_replace(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        first = AutomaticSender.recognised(None, "ooo@customer.example", at=T0,
                                           reason="auto-reply-subject: de")
        with storage.unit_of_work() as uow:
            assert uow.automatic_senders.get("ooo@customer.example") is None
            uow.automatic_senders.put(first)
            assert uow.automatic_senders.get("ooo@customer.example") == first  # own writes
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.automatic_senders.get("ooo@customer.example") == first
            assert uow.automatic_senders.get("OOO@customer.example") is None  # exact match
            assert uow.automatic_senders.get("other@customer.example") is None
        later = AutomaticSender.recognised(first, "ooo@customer.example",
                                           at=T0 + timedelta(minutes=5),
                                           reason="x-autoreply").opened(
            ticket.id, at=T0 + timedelta(minutes=5))
        with storage.unit_of_work() as uow:
            uow.automatic_senders.put(later)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            stored = uow.automatic_senders.get("ooo@customer.example")
        assert stored == later
        assert stored is not None
        assert stored.ticket_at == T0 + timedelta(minutes=5)

    def test_rolled_back_records_are_not_kept(self, storage: Storage) -> None:
        record = AutomaticSender(address="robot@shop.example", seen_at=T0, reason="x" * 600)
        assert len(record.reason) == 500
        with storage.unit_of_work() as uow:
            uow.automatic_senders.put(record)
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.automatic_senders.get("robot@shop.example") is None
        long_address = "a" * 64 + "@" + ("d" * 60 + ".") * 4 + "example"
        record = AutomaticSender(address=long_address, seen_at=T0, reason=record.reason)
        with storage.unit_of_work() as uow:
            uow.automatic_senders.put(record)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.automatic_senders.get(long_address) == record
