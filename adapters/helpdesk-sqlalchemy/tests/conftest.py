"""Fixtures: a fresh SQLite file per test, and a fresh PostgreSQL schema per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from helpdesk_core.testing.contracts import Backend, Capabilities
from helpdesk_sqlalchemy import SqlAlchemyBlobStore, SqlAlchemyStorage, SqlAlchemyTemplateStore
from sa_support import (
    create_pg_schema,
    drop_pg_schema,
    fresh_pg_storage,
    fresh_sqlite_storage,
    reopen_storage,
    require_postgres,
    sqlite_url_for,
)

# -- URLs -----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return sqlite_url_for(tmp_path / "helpdesk.sqlite3")


@pytest.fixture
def pg_url() -> Iterator[str]:
    schema, url = create_pg_schema()
    yield url
    drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    """A URL of an empty database, once per backend."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    value: str = request.getfixturevalue(name)
    return value


# -- storages -------------------------------------------------------------------------------


def _migrated(url: str) -> SqlAlchemyStorage:
    storage = SqlAlchemyStorage.from_url(url)
    storage.migrate()
    return storage


@pytest.fixture
def sqlite_storage(sqlite_url: str) -> Iterator[SqlAlchemyStorage]:
    storage = _migrated(sqlite_url)
    yield storage
    storage.close()


@pytest.fixture
def pg_storage(pg_url: str) -> Iterator[SqlAlchemyStorage]:
    storage = _migrated(pg_url)
    yield storage
    storage.close()


@pytest.fixture
def storage(url: str) -> Iterator[SqlAlchemyStorage]:
    """A fresh, migrated storage, once per backend."""
    storage = _migrated(url)
    yield storage
    storage.close()


@pytest.fixture
def blob_store(storage: SqlAlchemyStorage) -> SqlAlchemyBlobStore:
    return SqlAlchemyBlobStore(storage.engine)


# -- the core's contract suites (test_contract.py) ------------------------------------------


def _sql_backend(name: str, make_storage: Callable[[], SqlAlchemyStorage],
                 capabilities: Capabilities) -> Backend:
    def engine(storage: object) -> Engine:
        assert isinstance(storage, SqlAlchemyStorage)
        return storage.engine

    return Backend(
        name=name, make_storage=make_storage, capabilities=capabilities,
        # Blobs and templates live in the storage's database and join its units of work.
        blob_store=lambda storage: SqlAlchemyBlobStore(engine(storage)),
        template_store=lambda storage: SqlAlchemyTemplateStore(engine(storage)),
        reopen=reopen_storage,
    )


@pytest.fixture(scope="session",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def helpdesk_backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend as the contract suites see it: a throwaway database per store.

    SQLite lets one writer in at a time, so a second writer (or outbox dispatcher) waits for
    the first instead of going on beside it.
    """
    if request.param == "postgresql":
        require_postgres()  # skip locally, fail under CI, before any store is made
        return _sql_backend("postgresql", fresh_pg_storage, Capabilities())
    return _sql_backend("sqlite", fresh_sqlite_storage,
                        Capabilities(concurrent_writers=False, skip_locked_claims=False))
