"""The core's contract suites and the model-comparing state machine, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings

from helpdesk_core.testing import BlobStoreContract, StorageContract, storage_state_machine
from helpdesk_sqlalchemy import SqlAlchemyBlobStore, SqlAlchemyStorage
from sa_support import fresh_pg_storage, fresh_sqlite_storage, require_postgres

C = TypeVar("C", bound=type)


def own_hypothesis_tests(cls: C) -> C:
    """Give the subclass its own copy of each inherited ``@given`` test.

    Hypothesis refuses (health check ``differing_executors``) to run one ``@given`` function
    for two classes in a session, which is exactly what running the contract on two backends
    does. Rebuilding the test from its inner function keeps its strategies and settings.
    """
    for name in dir(cls):
        test: Any = getattr(cls, name)
        handle = getattr(test, "hypothesis", None)
        if not name.startswith("test_") or handle is None:
            continue
        inner: Callable[..., None] = handle.inner_test
        rebuilt = given(**handle._given_kwargs)(inner)
        base = test._hypothesis_internal_use_settings
        checks = (*base.suppress_health_check, HealthCheck.differing_executors)
        setattr(cls, name, settings(base, suppress_health_check=checks)(rebuilt))
    return cls


@own_hypothesis_tests
class TestSqliteStorage(StorageContract):
    @pytest.fixture
    def storage(self, sqlite_storage: SqlAlchemyStorage) -> SqlAlchemyStorage:
        return sqlite_storage


@own_hypothesis_tests
@pytest.mark.postgres
class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, pg_storage: SqlAlchemyStorage) -> SqlAlchemyStorage:
        return pg_storage


class TestSqliteBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self, sqlite_storage: SqlAlchemyStorage) -> SqlAlchemyBlobStore:
        return SqlAlchemyBlobStore(sqlite_storage.engine)


@pytest.mark.postgres
class TestPostgresBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self, pg_storage: SqlAlchemyStorage) -> SqlAlchemyBlobStore:
        return SqlAlchemyBlobStore(pg_storage.engine)


# A fresh migrated database per hypothesis example, compared step by step with the model.
TestSqliteAgainstModel = storage_state_machine(fresh_sqlite_storage).TestCase


@pytest.mark.postgres
class TestPostgresAgainstModel(storage_state_machine(fresh_pg_storage).TestCase):  # type: ignore[misc]
    def setUp(self) -> None:
        # Decide skip/fail before the machine starts: a skip raised inside it would be
        # masked by its teardown.
        require_postgres()
