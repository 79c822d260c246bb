"""Opt-in pytest plugin: ``pytest_plugins = ["helpdesk_core.testing.pytest_plugin"]``.

Gives host applications the fixtures the core's own tests use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk_core.inmemory import FakeClock, InMemoryBlobStore, InMemoryDirectory, InMemoryStorage


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory_storage() -> Iterator[InMemoryStorage]:
    storage = InMemoryStorage()
    yield storage
    storage.close()


@pytest.fixture
def memory_blob_store() -> InMemoryBlobStore:
    return InMemoryBlobStore()


@pytest.fixture
def memory_directory() -> InMemoryDirectory:
    return InMemoryDirectory()
