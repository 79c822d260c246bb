"""What erasing and exporting a contact's personal data needs from storage beyond the other
repositories: finding what refers to them, and rewriting stored rows in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.mailbox import MessageRecord, StagedMail

__all__ = ["ErasureStore"]


class ErasureStore(Protocol):
    """Reads that find a contact's data, and the rewrites an erasure makes.

    Stored articles and events are otherwise never changed; these rewrites replace their
    content and keep what they are (ids, tickets, positions, sequence numbers, directions,
    channels, times), so counts and times stay as they were.
    """

    def tickets_with_address(self, addresses: Sequence[str]) -> list[str]:
        """Ids of the tickets on which one of ``addresses`` (normalised, exact) was added
        as a participant or recorded from Cc, in no particular order."""

    def message_records(self, ticket_ids: Sequence[str]) -> list[MessageRecord]:
        """The Message-ID records of the tickets, oldest first."""

    def staged_for_tickets(self, ticket_ids: Sequence[str]) -> list[StagedMail]:
        """The staged mails that became (or went to) one of the tickets, oldest first."""

    def rewrite_articles(self, articles: Sequence[Article]) -> None:
        """Replace the stored article of each id by this one's author, body, subject,
        attachments and meta (nothing else changes); NotFound for an unknown id."""

    def rewrite_events(self, events: Sequence[TicketEvent]) -> None:
        """Replace the stored event of each (ticket, seq) by this one's actor, old, new and
        data (nothing else changes); NotFound for an unknown event."""

    def forget_automatic_sender(self, address: str) -> bool:
        """Delete the automatic-sender record of ``address``; whether there was one."""

    def delete_blobs(self, keys: Sequence[str]) -> int:
        """Delete the blobs of ``keys`` that the storage's own database holds (a blob store
        that lives there); how many were deleted. Unknown keys are ignored."""
