"""Attachment bytes kept in a dict, keyed by SHA-256."""

from __future__ import annotations

import hashlib
import threading

from helpdesk_core.errors import NotFound

__all__ = ["InMemoryBlobStore", "blob_key"]


def blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class InMemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, data: bytes, *, unit: object = None) -> str:
        key = blob_key(data)
        with self._lock:
            self._blobs.setdefault(key, bytes(data))
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._blobs[key]
        except KeyError:
            raise NotFound(f"no blob {key!r}") from None

    def exists(self, key: str) -> bool:
        return key in self._blobs
