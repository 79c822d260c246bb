"""Helpers shared by the adapter's tests: PostgreSQL availability, schemas, fresh stores.

PostgreSQL comes from ``HELPDESK_TEST_DATABASE_URL``. When it cannot be reached the PostgreSQL
tests skip locally but fail when ``CI`` is set: CI must never pass by skipping them.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from functools import cache
from pathlib import Path
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
