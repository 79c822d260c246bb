"""Attachment contents live outside the ticket, addressed by the SHA-256 of their bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from helpdesk_core.ports.storage import UnitOfWork

__all__ = ["BlobStore"]


class BlobStore(Protocol):
    def put(self, data: bytes, *, unit: UnitOfWork | None = None) -> str:
        """Store ``data`` and return its key (lower-case hex SHA-256). Idempotent.

        With ``unit``, a store that lives in the unit's database writes in the unit's
        transaction, so the bytes exist exactly when it commits; any other store writes at
        once (content addressing makes an unused blob harmless).
        """

    def get(self, key: str) -> bytes:
        """The stored bytes; raises NotFound for an unknown key."""

    def exists(self, key: str) -> bool: ...
