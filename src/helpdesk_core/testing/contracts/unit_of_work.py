"""The unit of work and the storage that opens it: commit, rollback, read-only units, other
instances and other writers.

Covers :class:`~helpdesk_core.ports.storage.UnitOfWork` and
:class:`~helpdesk_core.ports.storage.Storage`.
"""

from __future__ import annotations

import pytest

from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.errors import StorageError, TicketNotFound
from helpdesk_core.ports.storage import Storage, UnitOfWork
from helpdesk_core.testing.builders import open_ticket, store_tickets
from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.capabilities import Capabilities
from helpdesk_core.testing.contracts.support import WAIT, Background

__all__ = ["TestUnitOfWork"]

COVERS = (UnitOfWork, Storage)


def _ticket_ids(storage: Storage) -> set[str]:
    with storage.unit_of_work(read_only=True) as uow:
        return {t.id for t in uow.tickets.query(TicketQuery(limit=100)).items}


class TestUnitOfWork:
    def test_a_migrated_store_passes_its_schema_check_and_migrating_again_keeps_the_data(
            self, storage: Storage) -> None:
        """``bootstrap()`` calls ``migrate()`` (``Settings.migrate``) or ``check_schema()``
        on every start: on an up-to-date store both succeed and change nothing."""
        ticket = open_ticket()
        with storage.unit_of_work() as uow:
            uow.tickets.add(ticket)
            uow.commit()
        storage.check_schema()
        storage.migrate()
        storage.check_schema()
        assert _ticket_ids(storage) == {ticket.id}

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
        (first,) = store_tickets(storage, [open_ticket()])
        if storage_capabilities.offers("durable"):
            with helpdesk_backend.reopened(storage) as other:
                assert _ticket_ids(other) == {first.id}
                with storage.unit_of_work() as uow:
                    uow.tickets.add(uncommitted := open_ticket())
                    assert _ticket_ids(other) == {first.id}  # not before the commit
                    uow.commit()
                (second,) = store_tickets(other, [open_ticket()])
                assert _ticket_ids(other) == {first.id, uncommitted.id, second.id}
            assert _ticket_ids(storage) == {first.id, uncommitted.id, second.id}
        else:
            # The store lives and dies with its instance: a new one is empty and separate.
            with helpdesk_backend.fresh_storage() as other:
                assert _ticket_ids(other) == set()
                (second,) = store_tickets(other, [open_ticket()])
                assert _ticket_ids(other) == {second.id}
            assert _ticket_ids(storage) == {first.id}

    def test_a_second_writer_beside_an_open_writing_unit(
        self, storage: Storage, storage_capabilities: Capabilities
    ) -> None:
        held, other = open_ticket(), open_ticket()
        with storage.unit_of_work() as uow:
            uow.tickets.add(held)
            second = Background(lambda: store_tickets(storage, [other]))
            if storage_capabilities.offers("concurrent_writers"):
                assert second.finishes_within(10), "the second writer waited for the first"
                assert second.error is None, second.error
                uow.commit()
            else:
                # The second writer waits: it does not get its write in while this unit is
                # open (it may give up after the busy timeout, if that is shorter).
                got_in = second.finishes_within(WAIT) and second.error is None
                uow.commit()
                assert not got_in, "the second writer went on beside an open writing unit"
                assert second.finishes_within(60), "the second writer still waits"
        if second.error is None:
            assert _ticket_ids(storage) == {held.id, other.id}
        else:
            # (Only where writers wait.) It gave up after the busy timeout, with the typed
            # error and having written nothing; the first unit's writes are all there, and
            # the store takes writes again.
            assert isinstance(second.error, StorageError), repr(second.error)
            assert _ticket_ids(storage) == {held.id}
            (retried,) = store_tickets(storage, [open_ticket()])
            assert _ticket_ids(storage) == {held.id, retried.id}
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.tickets.get(held.id).number == held.number
            assert uow.tickets.history(held.id), "the first unit's events were lost"
