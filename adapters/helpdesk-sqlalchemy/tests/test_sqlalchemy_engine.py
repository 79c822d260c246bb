"""Engines, transaction modes, SQLite locking, and the translation of driver errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import exc

from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.errors import ConfigurationError, StorageError, StorageUnavailable
from helpdesk_core.settings import Settings
from helpdesk_core.testing.builders import open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyStorage, create_engine_for
from sa_support import sqlite_trace, sqlite_url_for


def test_sqlite_connections_are_set_up(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url, {"sqlite_busy_timeout_ms": "1234",
                                            "sqlite_wal_autocheckpoint": "2000"})
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 2000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()


def test_default_busy_timeout_is_30_seconds(sqlite_url: str) -> None:
    storage = SqlAlchemyStorage.from_settings(Settings(database_url=sqlite_url))
    with storage.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    storage.close()


def test_write_units_begin_immediate_and_read_units_deferred(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    with sqlite_trace(sqlite_storage) as seen:
        with sqlite_storage.unit_of_work() as uow:
            uow.tickets.query(TicketQuery())
        with sqlite_storage.unit_of_work(read_only=True) as uow:
            uow.tickets.query(TicketQuery())
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def test_a_unit_touches_the_database_only_when_used(sqlite_storage: SqlAlchemyStorage) -> None:
    with sqlite_trace(sqlite_storage) as seen, sqlite_storage.unit_of_work() as uow:
        uow.commit()
    assert seen == []


def test_foreign_keys_are_enforced_on_sqlite(sqlite_storage: SqlAlchemyStorage) -> None:
    with sqlite_storage.engine.begin() as conn, pytest.raises(exc.IntegrityError):
        conn.exec_driver_sql("INSERT INTO ticket_tags (ticket_id, tag) VALUES ('nope', 'x')")


def _hold_write_lock(path: Path, seconds: float, ready: threading.Event) -> None:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    holder.execute("ROLLBACK")
    holder.close()


def test_a_writer_waits_for_the_lock_and_then_proceeds(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    storage = SqlAlchemyStorage.from_url(sqlite_url_for(path))
    storage.migrate()
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.5, ready))
    holder.start()
    ready.wait(5)
    # A reader is never blocked by the writer (WAL)...
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.query(TicketQuery()).items == []
    # ... and a writer waits (busy timeout) instead of failing.
    (ticket,) = store_tickets(storage, [open_ticket()])
    holder.join()
    assert ticket.version == 1
    storage.close()


def test_begin_retries_are_bounded_and_surface_as_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    storage = SqlAlchemyStorage.from_url(
        sqlite_url_for(path), sqlite_busy_timeout_ms=50, sqlite_begin_retries=2
    )
    storage.migrate()
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 3.0, ready))
    holder.start()
    ready.wait(5)
    started = time.monotonic()
    with pytest.raises(StorageError) as info, storage.unit_of_work() as uow:
        uow.tickets.add(open_ticket())
    elapsed = time.monotonic() - started
    assert isinstance(info.value.__cause__, exc.OperationalError)
    assert isinstance(info.value, StorageUnavailable)  # nothing wrong with the ticket
    assert "locked" in str(info.value)
    assert elapsed < 2.5  # 3 attempts of 50 ms plus short pauses, not the holder's 3 s
    holder.join()
    store_tickets(storage, [open_ticket()])  # the pool recovered
    storage.close()


def test_a_unit_can_try_again_after_a_failed_begin(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    storage = SqlAlchemyStorage.from_url(
        sqlite_url_for(path), sqlite_busy_timeout_ms=50, sqlite_begin_retries=0
    )
    storage.migrate()
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.5, ready))
    holder.start()
    ready.wait(5)
    ticket = open_ticket()
    with storage.unit_of_work() as uow:
        with pytest.raises(StorageError):
            uow.tickets.add(ticket)
        holder.join()
        uow.tickets.add(ticket)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.get(ticket.id).version == 1
    storage.close()


def test_a_failing_rollback_does_not_hide_the_error_that_ended_the_block(
    sqlite_storage: SqlAlchemyStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BlockError(Exception):
        pass

    def failing_rollback() -> None:
        raise StorageError("rollback failed")

    uow = sqlite_storage.unit_of_work()
    monkeypatch.setattr(uow, "rollback", failing_rollback)
    with pytest.raises(BlockError), uow:
        raise BlockError
    # Without an error in the block, the failed rollback is what the caller hears about.
    with pytest.raises(StorageError), uow:
        pass


def test_a_retry_after_the_busy_timeout_can_succeed(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    storage = SqlAlchemyStorage.from_url(
        sqlite_url_for(path), sqlite_busy_timeout_ms=100, sqlite_begin_retries=5
    )
    storage.migrate()
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.3, ready))
    holder.start()
    ready.wait(5)
    (ticket,) = store_tickets(storage, [open_ticket()])
    holder.join()
    assert ticket.version == 1
    storage.close()


@pytest.mark.parametrize("url", [
    "mysql+pymysql://u@localhost/db", "not a url", "oracle://x",
])
def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        create_engine_for(url)


def test_bad_options_are_configuration_errors(sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError):
        create_engine_for(sqlite_url, {"sqlite_busy_timeout_ms": "soon"})
    with pytest.raises(ConfigurationError):
        create_engine_for(sqlite_url, {"sqlite_begin_retries": -1})
    with pytest.raises(ConfigurationError):
        create_engine_for("postgresql://u@localhost/db", {"pool_pre_ping": "sometimes"})


@pytest.mark.parametrize(("options", "expected"), [
    ({}, True), ({"pool_pre_ping": "false"}, False), ({"pool_pre_ping": False}, False),
])
def test_postgresql_pools_test_connections_before_use(options: dict[str, object],
                                                      expected: bool) -> None:
    engine = create_engine_for("postgresql://u@localhost/db", options)
    assert engine.pool._pre_ping is expected
    engine.dispose()


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = create_engine_for("postgresql://user@localhost/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_building_a_storage_does_not_connect() -> None:
    storage = SqlAlchemyStorage.from_url("postgresql://nobody@127.0.0.1:1/none")
    storage.close()


def test_an_unreachable_server_is_a_storage_error() -> None:
    storage = SqlAlchemyStorage.from_url(
        "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    )
    with pytest.raises(StorageUnavailable) as info, storage.unit_of_work() as uow:
        uow.tickets.get("x")
    assert isinstance(info.value.__cause__, exc.OperationalError)
    with pytest.raises(StorageError):
        storage.migrate()
    with pytest.raises(StorageError) as info:
        storage.check_schema()
    assert isinstance(info.value.__cause__, exc.OperationalError)
    storage.close()


def test_a_value_the_database_refuses_is_a_storage_error(storage: SqlAlchemyStorage) -> None:
    ticket = open_ticket()
    bad = Ticket(**{**{a: getattr(ticket, a) for a in (
        "id", "number", "subject", "status", "status_category", "priority", "channel",
        "updated_at")}, "created_at": ticket.created_at.replace(tzinfo=None)})
    bad.pending_events = ticket.pending_events
    with storage.unit_of_work() as uow, pytest.raises(StorageError) as info:
        uow.tickets.add(bad)
    assert "timezone" in str(info.value)
    assert not isinstance(info.value, StorageUnavailable)  # the value, not the database


def test_a_missing_schema_is_a_storage_error(sqlite_url: str) -> None:
    storage = SqlAlchemyStorage.from_url(sqlite_url)  # never migrated
    with pytest.raises(StorageError), storage.unit_of_work(read_only=True) as uow:
        uow.tickets.query(TicketQuery())
    storage.close()
