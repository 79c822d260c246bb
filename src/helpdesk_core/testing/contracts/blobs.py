"""The blob store: content-addressed bytes, and how a put joins a unit of work.

Covers :class:`~helpdesk_core.ports.blobs.BlobStore`.
"""

from __future__ import annotations

import pytest

from helpdesk_core.errors import NotFound
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.storage import Storage
from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.capabilities import Capabilities

__all__ = ["TestBlobStore"]

COVERS = (BlobStore,)


class TestBlobStore:
    def test_put_get(self, blob_store: BlobStore) -> None:
        data = b"%PDF-1.7\x00\xff" * 1000
        key = blob_store.put(data)
        assert len(key) == 64
        assert key == key.lower()
        assert blob_store.put(data) == key
        assert blob_store.exists(key)
        assert blob_store.get(key) == data
        assert blob_store.get(blob_store.put(b"")) == b""

    def test_unknown_key(self, blob_store: BlobStore) -> None:
        assert not blob_store.exists("0" * 64)
        with pytest.raises(NotFound):
            blob_store.get("0" * 64)

    def test_a_blob_put_in_a_committed_unit_is_kept(
        self, storage: Storage, blob_store: BlobStore
    ) -> None:
        with storage.unit_of_work() as uow:
            key = blob_store.put(b"faktura 2026-0042", unit=uow)
            uow.commit()
        assert blob_store.exists(key)
        assert blob_store.get(key) == b"faktura 2026-0042"

    def test_a_blob_put_in_a_unit_that_does_not_commit(
        self, storage: Storage, blob_store: BlobStore, storage_capabilities: Capabilities
    ) -> None:
        with storage.unit_of_work() as uow:
            key = blob_store.put(b"never committed", unit=uow)
            there_before_the_commit = blob_store.exists(key)
            uow.rollback()
        with storage.unit_of_work() as uow:
            dropped = blob_store.put(b"left without commit", unit=uow)
            # leaving the block without commit rolls back too
        if storage_capabilities.offers("transactional_blobs"):
            # written in the unit: there exactly when it commits, so never
            assert not there_before_the_commit
            assert not blob_store.exists(key)
            assert not blob_store.exists(dropped)
            with pytest.raises(NotFound):
                blob_store.get(key)
        else:
            # written at once, whatever the unit then does
            assert there_before_the_commit
            assert blob_store.get(key) == b"never committed"
            assert blob_store.get(dropped) == b"left without commit"

    def test_another_instance_reads_the_blobs(
        self, helpdesk_backend: Backend, storage: Storage, blob_store: BlobStore,
        storage_capabilities: Capabilities,
    ) -> None:
        key = blob_store.put(b"priloha.pdf")
        if storage_capabilities.offers("durable"):
            with helpdesk_backend.reopened(storage) as other:
                again = helpdesk_backend.blob_store(other)
                assert again.get(key) == b"priloha.pdf"
                later = again.put(b"druha priloha.pdf")
            assert blob_store.get(later) == b"druha priloha.pdf"
        else:
            # The store lives and dies with its instance: a new one has none of its blobs.
            with helpdesk_backend.fresh_storage() as other:
                assert not helpdesk_backend.blob_store(other).exists(key)
