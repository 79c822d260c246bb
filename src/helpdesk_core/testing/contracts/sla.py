"""SLA records with the due sweep, and escalations that fire once.

Covers :class:`~helpdesk_core.ports.storage.SlaRepository`.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord
from helpdesk_core.ports.storage import SlaRepository, Storage
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets

__all__ = ["TestSlaRepository"]

COVERS = (SlaRepository,)


class TestSlaRepository:
    def test_sla_records_and_the_due_sweep(self, storage: Storage) -> None:
        tickets = store_tickets(storage, [open_ticket() for _ in range(4)])
        records = [SlaRecord(ticket_id=t.id, policy="standard", reason="default rule",
                             updated_at=T0, next_at=T0 + timedelta(hours=h) if h else None)
                   for t, h in zip(tickets, (3, 1, 0, 2), strict=True)]
        with storage.unit_of_work() as uow:
            for record in records:
                uow.sla.put(record)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            due = uow.sla.due(now=T0 + timedelta(hours=2), limit=10)
            assert [r.ticket_id for r in due] == [tickets[1].id, tickets[3].id]
            assert uow.sla.due(now=T0 + timedelta(hours=5), limit=1) == [records[1]]
            assert uow.sla.get(tickets[2].id) == records[2]
            assert uow.sla.get("missing") is None
        moved = attrs.evolve(records[1], next_at=T0 + timedelta(hours=9), policy="vip",
                             reason="customer rule", targets_digest="3f2a9c01d4e5b6a7",
                             calendar_digest="0a1b2c3d4e5f6a7b")
        with storage.unit_of_work() as uow:
            uow.sla.put(moved)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.sla.get(tickets[1].id) == moved
        # The digests are replaced like every other field, back to unknown too.
        unknown = attrs.evolve(moved, targets_digest=None, calendar_digest="ffffffffffffffff")
        with storage.unit_of_work() as uow:
            uow.sla.put(unknown)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.sla.get(tickets[1].id) == unknown
            assert uow.sla.due(now=T0 + timedelta(hours=9), limit=10)[-1] == unknown

    def test_an_escalation_fires_once(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        first = EscalationRecord(ticket_id=ticket.id, target="resolution", cycle=1,
                                 level="75%", fired_at=T0, notified=("eva",))
        with storage.unit_of_work() as uow:
            assert uow.sla.fire(first) is True
            assert uow.sla.fire(attrs.evolve(first, fired_at=T0 + timedelta(1))) is False
            assert uow.sla.fire(attrs.evolve(first, level="100%",
                                             fired_at=T0 + timedelta(minutes=1))) is True
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.sla.fire(attrs.evolve(first, notified=())) is False
            assert uow.sla.fire(attrs.evolve(first, cycle=2)) is True
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert [(r.level, r.cycle) for r in uow.sla.fired(ticket.id)] == [("75%", 1),
                                                                               ("100%", 1)]
            assert uow.sla.fired(ticket.id)[0] == first
