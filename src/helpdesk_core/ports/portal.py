"""The records of signed portal links (never the tokens: their hashes)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.portal import PortalLink

__all__ = ["PortalLinkRepository"]


class PortalLinkRepository(Protocol):
    """Signed links' records, by link id; revoking is a timestamp, never a deletion."""

    def add(self, link: PortalLink) -> None:
        """Store a new record (its id is new: 96 random bits)."""

    def get(self, link_id: str) -> PortalLink | None: ...

    def revoke(self, link_id: str, *, at: datetime) -> bool:
        """Revoke one link; False when there is none or it was revoked before (its first
        revocation time stays)."""

    def revoke_all(self, *, at: datetime, ticket_id: str | None = None,
                   contact_id: str | None = None) -> int:
        """Revoke every link not yet revoked of the ticket, of the contact, or of both when
        both are named; how many. Naming neither revokes nothing."""
