"""Start-up: what ``bootstrap()`` does to the schema, and what it costs on an up-to-date one.

``Settings(migrate=True)`` (the default) creates or upgrades the schema when it is behind and
costs one query when it is not; ``migrate=False`` never changes it and refuses to start on a
schema that is missing, behind or newer than the adapter. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text
from sqlalchemy.pool import Pool

from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.errors import ConfigurationError, SchemaError
from helpdesk_core.settings import Settings
from helpdesk_sqlalchemy import SqlAlchemyStorage
from helpdesk_sqlalchemy.migrate import (
    HEAD_REVISION,
    REVISIONS,
    VERSION_TABLE,
    SchemaState,
    alembic_config,
    current_revision,
    head_revision,
    schema_status,
    upgrade,
)

READ_VERSION = f"SELECT version_num FROM {VERSION_TABLE}"


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement the drivers of engines connecting meanwhile receive, whoever sends it
    (SQLAlchemy, alembic, the adapter's own driver paths): SQLite's trace callback, and on
    PostgreSQL a cursor that records what it executes."""
    seen: list[str] = []

    def record(statement: object) -> None:
        seen.append(" ".join(str(statement).split()))

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(record)
            return

        def execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            record(query)
            return base.execute(cursor, query, *args, **kwargs)

        base = dbapi_connection.cursor_factory
        dbapi_connection.cursor_factory = type("Recording", (base,), {"execute": execute})

    event.listen(Pool, "connect", on_connect)
    try:
        yield seen
    finally:
        event.remove(Pool, "connect", on_connect)


def _ours(statements: list[str]) -> list[str]:
    """What a start-up asks of the helpdesk's schema (and any change to it), without the
    session set-up every connection does (pragmas, time zone, the dialect's own questions,
    transactions)."""
    changes = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")
    return [s for s in statements
            if VERSION_TABLE in s or "alembic" in s or s.upper().startswith(changes)]


def _start(url: str, **settings: Any) -> None:
    bootstrap(Settings(database_url=url, **settings), environ={}).close()


def _tables(url: str) -> set[str]:
    storage = SqlAlchemyStorage.from_url(url)
    try:
        return set(inspect(storage.engine).get_table_names())
    finally:
        storage.close()


def _set_revision(url: str, revision: str) -> None:
    storage = SqlAlchemyStorage.from_url(url)
    try:
        with storage.engine.begin() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = :r"), {"r": revision})
    finally:
        storage.close()


def _revision(url: str) -> str | None:
    storage = SqlAlchemyStorage.from_url(url)
    try:
        return current_revision(storage.engine)
    finally:
        storage.close()


def _upgrade_to(url: str, revision: str) -> None:
    storage = SqlAlchemyStorage.from_url(url)
    try:
        upgrade(storage.engine, revision)
    finally:
        storage.close()


def _migration_lines(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records
            if r.name == "helpdesk_sqlalchemy.migrate" and r.levelno >= logging.INFO]


def _alembic(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.name.startswith("alembic")]


# -- migrate=True (the default) -------------------------------------------------------------


@pytest.mark.parametrize("settings", [
    {},
    {"migrate": False},
    # the template store and blob store of the same adapter share the storage's check
    {"template_store": "sqlalchemy", "blob_store": "sqlalchemy"},
], ids=["migrate", "no-migrate", "named-stores"])
def test_an_up_to_date_database_costs_one_query_at_start_up(
        url: str, settings: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    _start(url)
    with statements() as seen, caplog.at_level(logging.INFO):
        _start(url, **settings)
    assert _ours(seen) == [READ_VERSION]
    assert _migration_lines(caplog.records) == []
    assert _alembic(caplog.records) == []


def test_creating_the_schema_logs_one_line_of_ours_and_none_of_alembic(
        url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        _start(url)
    assert _alembic(caplog.records) == []
    [line] = _migration_lines(caplog.records)
    assert line.startswith(f"created the helpdesk schema at revision {HEAD_REVISION} in ")
    assert logging.getLogger("alembic").level == logging.NOTSET  # left as it was
    assert _revision(url) == HEAD_REVISION


def test_a_schema_behind_is_upgraded_and_says_from_where_to_where(
        url: str, caplog: pytest.LogCaptureFixture) -> None:
    _upgrade_to(url, "0003")
    with caplog.at_level(logging.INFO):
        _start(url)
    assert _alembic(caplog.records) == []
    [line] = _migration_lines(caplog.records)
    assert line.startswith(f"upgraded the helpdesk schema from revision 0003 to {HEAD_REVISION}")
    assert _revision(url) == HEAD_REVISION


def test_a_host_that_asks_for_alembic_s_lines_gets_them(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    alembic = logging.getLogger("alembic")
    alembic.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO):
            _start(sqlite_url)
    finally:
        alembic.setLevel(logging.NOTSET)
    assert any("Running upgrade" in line for line in _alembic(caplog.records))
    assert len(_migration_lines(caplog.records)) == 1


def test_an_up_to_date_start_up_imports_no_alembic(sqlite_url: str) -> None:
    """Reading the head revision needs no migration script, so a process that finds its
    schema up to date never imports alembic (about 70 ms of a cold start)."""
    _start(sqlite_url)
    script = textwrap.dedent(f"""
        import sys
        from helpdesk_core import Settings, bootstrap
        bootstrap(Settings(database_url={sqlite_url!r}), environ={{}}).close()
        print(sorted(name for name in sys.modules if name.split(".")[0] == "alembic"))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- migrate=False: the schema is never changed, and must be up to date ----------------------


def test_no_schema_with_migrate_off_is_an_error_that_says_how_to_create_it(url: str) -> None:
    with pytest.raises(SchemaError) as raised:
        _start(url, migrate=False)
    error = raised.value
    assert isinstance(error, ConfigurationError)
    assert (error.current, error.required) == (None, HEAD_REVISION)
    message = str(error)
    assert "helpdesk schema is missing" in message
    assert "helpdesk db upgrade" in message
    assert "Settings(migrate=True)" in message
    assert _tables(url) == set()  # nothing was created


def test_a_schema_behind_with_migrate_off_names_both_revisions(url: str) -> None:
    _upgrade_to(url, "0003")
    with pytest.raises(SchemaError) as raised:
        _start(url, migrate=False)
    assert (raised.value.current, raised.value.required) == ("0003", HEAD_REVISION)
    assert f"at revision 0003, this version of helpdesk-sqlalchemy needs {HEAD_REVISION}" in (
        str(raised.value))
    assert "helpdesk db upgrade" in str(raised.value)
    assert _revision(url) == "0003"  # unchanged


@pytest.mark.parametrize("migrate", [True, False])
def test_a_schema_newer_than_the_adapter_is_refused(url: str, migrate: bool) -> None:
    _start(url)
    _set_revision(url, "0099")
    with pytest.raises(SchemaError) as raised:
        _start(url, migrate=migrate)
    assert (raised.value.current, raised.value.required) == ("0099", HEAD_REVISION)
    assert "0099" in str(raised.value)
    assert "does not know" in str(raised.value)
    assert _revision(url) == "0099"


def test_upgrade_refuses_a_schema_it_does_not_know(url: str) -> None:
    _start(url)
    _set_revision(url, "0099")
    storage = SqlAlchemyStorage.from_url(url)
    try:
        with pytest.raises(SchemaError, match="0099"):
            upgrade(storage.engine)
        with pytest.raises(SchemaError, match="0099"):
            storage.migrate()
        with pytest.raises(SchemaError, match="0099"):
            storage.check_schema()
    finally:
        storage.close()


# -- the head revision is known without reading the scripts ----------------------------------


def test_the_known_revisions_are_alembic_s_history() -> None:
    """Adding a revision to migrations/versions means adding it to migrate.REVISIONS."""
    script = ScriptDirectory.from_config(alembic_config())
    history = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert list(REVISIONS) == history
    assert head_revision() == HEAD_REVISION == script.get_current_head()


def test_schema_status_of_each_state(url: str) -> None:
    storage = SqlAlchemyStorage.from_url(url)
    try:
        assert schema_status(storage.engine).state is SchemaState.MISSING
        upgrade(storage.engine, "0002")
        assert schema_status(storage.engine).state is SchemaState.BEHIND
        storage.migrate()
        status = schema_status(storage.engine)
        assert (status.state, status.current, status.head) == (
            SchemaState.CURRENT, HEAD_REVISION, HEAD_REVISION)
        storage.check_schema()
    finally:
        storage.close()
