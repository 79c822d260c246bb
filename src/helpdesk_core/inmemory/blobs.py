"""Attachment bytes kept in an in-memory database, keyed by SHA-256."""

from __future__ import annotations

import hashlib

from helpdesk_core.errors import NotFound
from helpdesk_core.inmemory.storage import InMemoryStorage, InMemoryUnitOfWork

__all__ = ["InMemoryBlobStore", "blob_key"]


def blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class InMemoryBlobStore:
    """The reference BlobStore.

    Made for a storage (``InMemoryBlobStore(storage)``), it keeps the blobs in that storage's
    database, like a database adapter keeps them in a table: every instance on the database
    (:meth:`InMemoryStorage.reopen`) reads them, and ``put(data, unit=uow)`` with a unit of
    work of that database is staged in the unit, so the bytes exist exactly when the unit
    commits. Without a storage it has a database of its own, and every ``put`` is written at
    once (content addressing makes an unused blob harmless).
    """

    def __init__(self, storage: InMemoryStorage | None = None) -> None:
        self._storage = storage if storage is not None else InMemoryStorage()

    def put(self, data: bytes, *, unit: object = None) -> str:
        key = blob_key(data)
        content = bytes(data)
        state = self._storage._state
        if isinstance(unit, InMemoryUnitOfWork) and unit.storage._state is state:
            unit._blobs.put(key, content)  # the same database: written when the unit commits
            return key
        with state.lock:
            state.blobs.setdefault(key, content)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._storage._state.blobs[key]
        except KeyError:
            raise NotFound(f"no blob {key!r}") from None

    def exists(self, key: str) -> bool:
        return key in self._storage._state.blobs
