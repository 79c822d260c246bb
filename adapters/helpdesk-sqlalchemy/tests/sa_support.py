"""Helpers shared by the adapter's tests: PostgreSQL availability, schemas, fresh stores.

PostgreSQL comes from ``HELPDESK_TEST_DATABASE_URL``. When it cannot be reached the PostgreSQL
tests skip locally but fail when ``CI`` is set: CI must never pass by skipping them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpdesk_sqlalchemy import SqlAlchemyStorage

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_server_url() -> str:
    return os.environ.get("HELPDESK_TEST_DATABASE_URL") or DEFAULT_PG_URL


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@cache
def _pg_problem() -> str | None:
    engine = create_engine(pg_server_url(), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not usable here"
        return f"{type(error).__name__}: {error}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> None:
    problem = _pg_problem()
    if problem is None:
        return
    message = f"PostgreSQL at {make_url(pg_server_url())!r} is unreachable: {problem}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def create_pg_schema() -> tuple[str, str]:
    """A new, empty schema; returns (schema name, URL whose search_path points at it)."""
    require_postgres()
    schema = f"hd_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    url = make_url(pg_server_url()).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    return schema, url.render_as_string(hide_password=False)


def drop_pg_schema(schema: str) -> None:
    admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def sqlite_url_for(path: Path) -> str:
    return f"sqlite:///{quote(str(path))}"


# -- fresh storages for hypothesis state machines (one per example) -------------------------


class _ThrowawaySqliteStorage(SqlAlchemyStorage):
    """A migrated SQLite file in its own temporary directory, removed on close."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="helpdesk-")
        engine = SqlAlchemyStorage.from_url(
            sqlite_url_for(Path(self._dir.name) / "db.sqlite3")
        ).engine
        super().__init__(engine)
        self.migrate()

    def close(self) -> None:
        super().close()
        self._dir.cleanup()


class _ThrowawayPgStorage(SqlAlchemyStorage):
    """A migrated PostgreSQL schema of its own, dropped on close."""

    def __init__(self) -> None:
        self._schema, url = create_pg_schema()
        super().__init__(SqlAlchemyStorage.from_url(url).engine)
        self.migrate()

    def close(self) -> None:
        super().close()
        drop_pg_schema(self._schema)


def fresh_sqlite_storage() -> SqlAlchemyStorage:
    return _ThrowawaySqliteStorage()


def fresh_pg_storage() -> SqlAlchemyStorage:
    return _ThrowawayPgStorage()


# -- helpers for tests that run in several processes (spawned: must be importable) ----------


def create_tickets_worker(
    url: str, count: int, start: Any, results: Any, worker: int,
    options: dict[str, Any] | None = None,
) -> None:
    """Open ``count`` tickets through the public API, as a host's web workers would.

    Reports ``(worker, numbers, errors)`` through the ``results`` queue; every exception is
    caught and reported so the parent can assert that none happened.
    """
    from helpdesk_core import Actor, Settings, StaffVia, bootstrap

    numbers: list[str] = []
    errors: list[str] = []
    helpdesk = None
    try:
        helpdesk = bootstrap(Settings(database_url=url, options=options or {}, migrate=False),
                             environ={})
        agent = Actor.agent(f"worker-{worker}")
        start.wait(60)
        for i in range(count):
            try:
                ticket = helpdesk.tickets.open_by_staff(
                    agent=agent, via=StaffVia.PHONE, subject=f"worker {worker} ticket {i}",
                    message="Zákazník volá kvůli objednávce.",
                )
                numbers.append(ticket.number)
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
    except Exception as error:
        errors.append(f"setup {type(error).__name__}: {error}")
    finally:
        if helpdesk is not None:
            helpdesk.close()
        results.put((worker, numbers, errors))


def migrate_worker(url: str, start: Any, results: Any) -> None:
    try:
        storage = SqlAlchemyStorage.from_url(url)
        start.wait(60)
        storage.migrate()
        storage.close()
        results.put(None)
    except Exception as error:
        results.put(f"{type(error).__name__}: {error}")


def wipe_tickets(storage: SqlAlchemyStorage) -> None:
    """Delete every ticket (and its tags, history, articles): a fresh queue, same schema."""
    from helpdesk_sqlalchemy.tables import articles, ticket_events, ticket_tags, tickets

    with storage.engine.begin() as conn:
        for table in (ticket_tags, ticket_events, articles, tickets):
            conn.execute(table.delete())


def executed_queue_statement(
    storage: SqlAlchemyStorage, query: Any
) -> tuple[str, Any]:
    """Run ``tickets.query(query)`` and return the SELECT it sent, with its parameters, so
    that a test can EXPLAIN exactly what the repository executes."""
    seen = [(sql, params) for sql, params in queue_statements(storage, query)
            if "FROM tickets" in sql]
    assert len(seen) == 1, seen
    return seen[0]


def queue_statements(storage: SqlAlchemyStorage, query: Any) -> list[tuple[str, Any]]:
    """Every statement (text, parameters) that reading one queue page sends to the driver."""
    with driver_statements() as seen, storage.unit_of_work(read_only=True) as uow:
        uow.tickets.query(query)
    return seen


@contextlib.contextmanager
def driver_statements() -> Iterator[list[tuple[str, Any]]]:
    """The statements (text, parameters) the adapter runs on the DB-API cursor meanwhile, as
    ``helpdesk_sqlalchemy.driver`` logs them."""
    import logging

    seen: list[tuple[str, Any]] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            assert isinstance(record.args, tuple)
            seen.append((str(record.args[0]), record.args[1]))

    logger = logging.getLogger("helpdesk_sqlalchemy.driver")
    handler, level = Recorder(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@contextlib.contextmanager
def sqlite_trace(storage: SqlAlchemyStorage) -> Iterator[list[str]]:
    """Every statement SQLite itself runs on the storage's connections (BEGIN included),
    whether it came through SQLAlchemy or straight from the driver."""
    from sqlalchemy import event

    seen: list[str] = []

    def on_checkout(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.set_trace_callback(seen.append)

    def on_checkin(dbapi_connection: Any, *args: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.set_trace_callback(None)

    event.listen(storage.engine, "checkout", on_checkout)
    event.listen(storage.engine, "checkin", on_checkin)
    try:
        yield seen
    finally:
        event.remove(storage.engine, "checkout", on_checkout)
        event.remove(storage.engine, "checkin", on_checkin)


def bulk_load_tickets(storage: SqlAlchemyStorage, count: int, seed: int = 42) -> None:
    """Insert ``count`` ticket rows straight into the table, with a realistic mix: most
    tickets closed or resolved, a tenth still active. Then refresh planner statistics."""
    import random
    import uuid
    from datetime import timedelta

    from helpdesk_core.domain.queue import FAR_FUTURE
    from helpdesk_core.testing.builders import T0
    from helpdesk_sqlalchemy.tables import tickets

    rnd = random.Random(seed)
    categories = (["closed"] * 85 + ["resolved"] * 5 + ["new"] * 3 + ["open"] * 4
                  + ["waiting_on_customer"] * 2 + ["waiting_on_third_party"])
    priorities = [("urgent", 0), ("high", 1), ("normal", 2), ("normal", 2), ("low", 3)]

    def row(i: int) -> dict[str, Any]:
        category = rnd.choice(categories)
        priority, rank = rnd.choice(priorities)
        created = T0 - timedelta(minutes=count - i)
        due = created + timedelta(hours=rnd.randint(1, 72)) if rnd.random() < 0.7 else None
        return {
            "id": uuid.UUID(int=rnd.getrandbits(128)).hex, "number": f"BULK-{i:08d}",
            "subject": f"bulk ticket {i}", "status": category, "status_category": category,
            "priority": priority, "priority_rank": rank, "channel": "email",
            "created_at": created, "updated_at": created,
            "customer_id": f"cust-{rnd.randint(1, count // 5 + 1)}", "organisation_id": None,
            "incident_type": rnd.choice(["complaint", "complaint/damaged", "question", None]),
            "assignee": rnd.choice([None, None, "alice", "bob", "cyril", "dana"]),
            "team": rnd.choice(["returns", "billing", None]), "language": "cs",
            "due_at": due, "due_sort": due or FAR_FUTURE, "merged_into": None,
            "custom_fields": {}, "links": [], "version": 1, "event_seq": 1,
        }

    with storage.engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(tickets.insert(), [row(i) for i in range(start, min(count, start + 5000))])
    with storage.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def reopen_storage(storage: Any) -> SqlAlchemyStorage:
    """Another instance on the database of ``storage`` (a second process, or a restart); it
    owns nothing, so closing it only releases its connections."""
    return SqlAlchemyStorage.from_url(storage.engine.url.render_as_string(hide_password=False))
