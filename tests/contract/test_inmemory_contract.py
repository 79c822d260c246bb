"""The contract suites run against the in-memory reference implementations."""

from __future__ import annotations

import pytest

from helpdesk_core.inmemory import InMemoryBlobStore, InMemoryStorage
from helpdesk_core.testing import BlobStoreContract, StorageContract, storage_state_machine


class TestInMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> InMemoryStorage:
        return InMemoryStorage()


class TestInMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self) -> InMemoryBlobStore:
        return InMemoryBlobStore()


# The model against itself proves the machine runs and the rules are self-consistent.
TestInMemoryAgainstModel = storage_state_machine(InMemoryStorage).TestCase
