"""Attachment contents live outside the ticket, addressed by the SHA-256 of their bytes."""

from __future__ import annotations

from typing import Protocol

__all__ = ["BlobStore"]


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data`` and return its key (lower-case hex SHA-256). Idempotent."""

    def get(self, key: str) -> bytes:
        """The stored bytes; raises NotFound for an unknown key."""

    def exists(self, key: str) -> bool: ...
