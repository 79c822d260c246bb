"""The unit of work and the storage that opens it: commit, rollback, read-only units, other
instances and other writers.

Covers :class:`~helpdesk_core.ports.storage.UnitOfWork` and
:class:`~helpdesk_core.ports.storage.Storage`.
"""

from __future__ import annotations

import threading

import pytest

from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.errors import StorageError, TicketNotFound
from helpdesk_core.ports.storage import Storage, UnitOfWork
from helpdesk_core.testing.builders import open_ticket, store_tickets
from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.capabilities import Capabilities

__all__ = ["TestUnitOfWork"]

COVERS = (UnitOfWork, Storage)


def _ticket_ids(storage: Storage) -> set[str]:
    with storage.unit_of_work(read_only=True) as uow:
        return {t.id for t in uow.tickets.query(TicketQuery(limit=100)).items}


class TestUnitOfWork:
    def test_rollback_discards_everything(self, storage: Storage) -> None:
        ticket = open_ticket()
        with storage.unit_of_work() as uow:
            uow.tickets.add(ticket)
            uow.contacts.add(Contact.create(name="Jana", email="jana@example.cz"))
            uow.rollback()
        with storage.unit_of_work() as uow:
            uow.tickets.add(open_ticket())
            # leaving the block without commit rolls back too
        with storage.unit_of_work(read_only=True) as uow:
            with pytest.raises(TicketNotFound):
                uow.tickets.get(ticket.id)
            assert uow.contacts.find_by_email("jana@example.cz") is None
            assert uow.tickets.query(TicketQuery()).items == []

    def test_a_read_only_unit_refuses_to_commit_changes(self, storage: Storage) -> None:
        with storage.unit_of_work(read_only=True) as uow:
            uow.tickets.add(open_ticket())
            with pytest.raises(StorageError):
                uow.commit()
        assert _ticket_ids(storage) == set()

    def test_a_unit_is_reusable_after_commit_and_rollback(self, storage: Storage) -> None:
        a, b, c = open_ticket(), open_ticket(), open_ticket()
        with storage.unit_of_work() as uow:
            uow.tickets.add(a)
            uow.commit()
            uow.tickets.add(b)
            uow.rollback()
            uow.tickets.add(c)
            uow.commit()
        assert _ticket_ids(storage) == {a.id, c.id}

    def test_a_second_instance_sees_what_the_first_committed(
        self, helpdesk_backend: Backend, storage: Storage,
        storage_capabilities: Capabilities,
    ) -> None:
        storage_capabilities.require("durable")
        (first,) = store_tickets(storage, [open_ticket()])
        with helpdesk_backend.reopened(storage) as other:
            assert _ticket_ids(other) == {first.id}
            with storage.unit_of_work() as uow:
                uow.tickets.add(uncommitted := open_ticket())
                assert _ticket_ids(other) == {first.id}  # not before the commit
                uow.commit()
            (second,) = store_tickets(other, [open_ticket()])
            assert _ticket_ids(other) == {first.id, uncommitted.id, second.id}
        assert _ticket_ids(storage) == {first.id, uncommitted.id, second.id}

    def test_a_writer_does_not_hold_up_another_writer(
        self, storage: Storage, storage_capabilities: Capabilities
    ) -> None:
        storage_capabilities.require("concurrent_writers")
        held, other = open_ticket(), open_ticket()
        outcome: dict[str, BaseException | None] = {}

        def second_writer() -> None:
            try:
                store_tickets(storage, [other])
                outcome["error"] = None
            except BaseException as error:  # reported below
                outcome["error"] = error

        with storage.unit_of_work() as uow:
            uow.tickets.add(held)
            thread = threading.Thread(target=second_writer)
            thread.start()
            thread.join(10)
            finished_while_open = not thread.is_alive()
            uow.commit()
        thread.join(60)
        assert finished_while_open, "the second writer waited for the first unit to end"
        assert outcome == {"error": None}
        assert _ticket_ids(storage) == {held.id, other.id}
