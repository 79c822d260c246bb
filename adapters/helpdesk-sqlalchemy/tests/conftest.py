"""Fixtures: a fresh SQLite file per test, and a fresh PostgreSQL schema per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpdesk_sqlalchemy import SqlAlchemyBlobStore, SqlAlchemyStorage
from sa_support import create_pg_schema, drop_pg_schema, sqlite_url_for

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


