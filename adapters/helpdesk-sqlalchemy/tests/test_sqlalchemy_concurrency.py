"""Optimistic concurrency, transactions and the unit of work's lifecycle."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Channel, Priority
from helpdesk_core.errors import ConcurrencyError, StorageError, TicketNotFound
from helpdesk_core.testing.builders import AGENT, T0, open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyStorage

LATER = T0 + timedelta(minutes=5)


def _change(ticket: Ticket, label: str) -> None:
    ticket.set_subject(f"{label} writer", at=LATER, actor=AGENT)
    ticket.add_tag(label, at=LATER, actor=AGENT)
    ticket.add_article(direction=Direction.OUTBOUND, channel=Channel.EMAIL, author=AGENT,
                       body_text=f"reply from {label}", at=LATER)


def test_first_commit_wins_and_nothing_of_the_second_is_written(
    storage: SqlAlchemyStorage,
) -> None:
    (ticket,) = store_tickets(storage, [open_ticket(tags=["start"])])
    with storage.unit_of_work(read_only=True) as uow:
        first = uow.tickets.get(ticket.id)
    with storage.unit_of_work(read_only=True) as uow:
        second = uow.tickets.get(ticket.id)
    _change(first, "first")
    _change(second, "second")
    second.set_priority(Priority.URGENT, at=LATER, actor=AGENT)
    pending = len(second.pending_events)

    with storage.unit_of_work() as uow:
        uow.tickets.save(first)
        uow.commit()
    with storage.unit_of_work() as uow:
        with pytest.raises(ConcurrencyError):
            uow.tickets.save(second)
        uow.commit()  # even committing what is left writes nothing of the refused save

    # The refused ticket is untouched, so the caller can reload and redo the change.
    assert second.version == 1
    assert len(second.pending_events) == pending
    with storage.unit_of_work(read_only=True) as uow:
        stored = uow.tickets.get(ticket.id)
        history = uow.tickets.history(ticket.id)
        articles = uow.tickets.articles(ticket.id)
    assert stored.snapshot() == first.snapshot()
    assert stored.version == 2
    assert stored.tags == frozenset({"start", "first"})
    assert stored.priority is Priority.NORMAL
    assert [a.body_text for a in articles] == ["reply from first"]
    assert [e.seq for e in history] == list(range(1, stored.event_seq + 1))
    assert not any("second" in str(e.new) for e in history)
    assert EventKind.PRIORITY_CHANGED not in {e.kind for e in history}


@pytest.mark.postgres
def test_a_concurrent_writer_waits_for_the_first_and_then_gets_concurrency_error(
    pg_storage: SqlAlchemyStorage,
) -> None:
    """Two live transactions on PostgreSQL: the second UPDATE waits on the row lock and,
    once the first commits, finds the version changed."""
    (ticket,) = store_tickets(pg_storage, [open_ticket()])
    with pg_storage.unit_of_work(read_only=True) as uow:
        first, second = uow.tickets.get(ticket.id), uow.tickets.get(ticket.id)
    _change(first, "first")
    _change(second, "second")
    outcome: list[BaseException | None] = []
    saving = threading.Event()

    def second_writer() -> None:
        try:
            with pg_storage.unit_of_work() as uow:
                saving.set()
                uow.tickets.save(second)
                uow.commit()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    with pg_storage.unit_of_work() as uow:
        uow.tickets.save(first)  # holds the row lock until commit
        thread = threading.Thread(target=second_writer)
        thread.start()
        saving.wait(5)
        thread.join(0.5)
        assert thread.is_alive(), "the second writer should wait for the first"
        uow.commit()
    thread.join(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ConcurrencyError)
    with pg_storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.get(ticket.id).snapshot() == first.snapshot()


def test_saving_twice_in_one_unit(storage: SqlAlchemyStorage) -> None:
    (ticket,) = store_tickets(storage, [open_ticket()])
    with storage.unit_of_work() as uow:
        loaded = uow.tickets.get(ticket.id)
        loaded.add_tag("one", at=LATER, actor=AGENT)
        uow.tickets.save(loaded)
        loaded.add_tag("two", at=LATER, actor=AGENT)
        loaded.remove_tag("one", at=LATER, actor=AGENT)
        uow.tickets.save(loaded)
        assert uow.tickets.get(ticket.id).snapshot() == loaded.snapshot()  # own writes visible
        uow.commit()
    assert loaded.version == 3
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.get(ticket.id).snapshot() == loaded.snapshot()


def test_a_stale_copy_inside_one_unit_is_refused(storage: SqlAlchemyStorage) -> None:
    (ticket,) = store_tickets(storage, [open_ticket()])
    with storage.unit_of_work() as uow:
        a, b = uow.tickets.get(ticket.id), uow.tickets.get(ticket.id)
        a.add_tag("a", at=LATER, actor=AGENT)
        b.add_tag("b", at=LATER, actor=AGENT)
        uow.tickets.save(a)
        with pytest.raises(ConcurrencyError):
            uow.tickets.save(b)


def test_saving_an_unknown_ticket_raises_ticket_not_found(storage: SqlAlchemyStorage) -> None:
    ghost = open_ticket()
    ghost.version = 1
    ghost.add_tag("x", at=LATER, actor=AGENT)
    with storage.unit_of_work() as uow, pytest.raises(TicketNotFound):
        uow.tickets.save(ghost)


def test_a_ticket_without_changes_is_not_written(storage: SqlAlchemyStorage) -> None:
    (ticket,) = store_tickets(storage, [open_ticket()])
    statements: list[str] = []

    def record(conn: Connection, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with storage.unit_of_work() as uow:
        loaded = uow.tickets.get(ticket.id)
        event.listen(storage.engine, "before_cursor_execute", record)
        try:
            uow.tickets.save(loaded)
        finally:
            event.remove(storage.engine, "before_cursor_execute", record)
        uow.commit()
    assert statements == []


def test_a_read_only_unit_refuses_to_commit_ticket_changes(storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work(read_only=True) as uow:
        uow.tickets.add(open_ticket())
        with pytest.raises(StorageError):
            uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.query(TicketQuery()).items == []


def test_a_unit_is_reusable_after_commit_and_rollback(storage: SqlAlchemyStorage) -> None:
    a, b, c = open_ticket(), open_ticket(), open_ticket()
    with storage.unit_of_work() as uow:
        uow.tickets.add(a)
        uow.commit()
        uow.tickets.add(b)
        uow.rollback()
        uow.tickets.add(c)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert {t.id for t in uow.tickets.query(TicketQuery()).items} == {a.id, c.id}


def test_leaving_the_block_returns_the_connection(storage: SqlAlchemyStorage) -> None:
    pool = storage.engine.pool
    with storage.unit_of_work() as uow:
        uow.tickets.add(open_ticket())
        assert pool.checkedout() == 1  # type: ignore[attr-defined]
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_duplicate_number_is_a_storage_error_caused_by_the_driver(
    storage: SqlAlchemyStorage,
) -> None:
    store_tickets(storage, [open_ticket(seq=42)])
    with storage.unit_of_work() as uow:
        with pytest.raises(StorageError) as info:
            uow.tickets.add(open_ticket(seq=42))
        assert isinstance(info.value.__cause__, exc.IntegrityError)
    with storage.unit_of_work(read_only=True) as uow:
        assert len(uow.tickets.query(TicketQuery()).items) == 1


@pytest.mark.postgres
def test_after_a_failed_statement_everything_is_still_a_storage_error(
    pg_storage: SqlAlchemyStorage,
) -> None:
    """PostgreSQL refuses further statements in an aborted transaction; that surfaces as
    StorageError too, and the next unit of work is fine."""
    store_tickets(pg_storage, [open_ticket(seq=43)])
    with pg_storage.unit_of_work() as uow:
        with pytest.raises(StorageError):
            uow.tickets.add(open_ticket(seq=43))
        with pytest.raises(StorageError):
            uow.tickets.query(TicketQuery())
    with pg_storage.unit_of_work(read_only=True) as uow:
        assert len(uow.tickets.query(TicketQuery()).items) == 1


@pytest.mark.postgres
def test_a_connection_killed_mid_unit_is_a_storage_error_and_the_next_unit_works(
    pg_storage: SqlAlchemyStorage,
) -> None:
    [kept] = store_tickets(pg_storage, [open_ticket()])
    with pg_storage.unit_of_work() as uow:
        uow.tickets.get(kept.id)  # on the driver cursor, inside the unit's transaction
        pid = uow.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with pg_storage.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
            other.commit()
        with pytest.raises(StorageError):
            uow.tickets.add(open_ticket())  # a write on the driver cursor
    with pg_storage.unit_of_work() as uow:
        uow.tickets.add(lost := open_ticket())
        uow.commit()
    with pg_storage.unit_of_work(read_only=True) as uow:
        assert {t.id for t in uow.tickets.query(TicketQuery()).items} == {kept.id, lost.id}
