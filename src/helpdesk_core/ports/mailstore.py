"""Inbound mail kept by the helpdesk: raw mail staged before parsing, the Message-ID index and
the senders whose mail was recognised as automatic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from helpdesk_core.domain.mailbox import AutomaticSender, MessageRecord, StagedMail, StagedState

__all__ = ["AutomaticSenders", "MailStaging", "MessageIndex"]


class MessageIndex(Protocol):
    """Every Message-ID stored on or sent from a ticket (threading and repeat detection)."""

    def add(self, record: MessageRecord) -> None:
        """Insert. A second record with the same (message_id, fingerprint) raises
        StorageError: the same mail was stored concurrently, and this transaction must not
        store it again."""

    def find(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Records whose Message-ID is one of ``message_ids`` (exact match), oldest first."""

    def move(self, article_ids: Sequence[str], ticket_id: str) -> None:
        """Point every record of one of ``article_ids`` at ``ticket_id`` (articles split off
        into another ticket: later replies to them thread there). Unknown ids are ignored."""


class MailStaging(Protocol):
    """Raw mails made durable before they are parsed, keyed by (account, mailbox key)."""

    def get(self, account: str, key: str) -> StagedMail | None: ...

    def get_many(self, account: str, keys: Sequence[str]) -> dict[str, StagedMail]:
        """The staged rows among ``keys`` of ``account``, by key (unknown keys are absent)."""

    def add(self, mail: StagedMail) -> None:
        """Insert a new row; raises StorageError if (account, key) is already staged."""

    def update(self, mail: StagedMail, *, expected: StagedState | None = None,
               expected_attempts: int | None = None) -> None:
        """Replace the row of (account, key). With ``expected`` (and ``expected_attempts``),
        only if the stored row is still in that state (with that many attempts), else
        ConcurrencyError: another fetcher handled it or recorded an attempt first."""

    def claim(self, mail: StagedMail) -> None:
        """Take the row of a mail about to be handled, as the first write of the unit of work
        that handles it: only if the stored row is still STAGED with ``mail.attempts``
        attempts, else ConcurrencyError. The claim lasts until the unit ends: a second unit's
        claim of the same row waits for the first to commit or roll back (or is checked again
        at commit), so a fetcher that loses the race writes nothing of the mail."""

    def list(self, *, account: str | None = None, state: StagedState | None = None,
             limit: int = 100, ack_failing: bool = False) -> list[StagedMail]:
        """Rows oldest staged first, optionally of one account and one state; with
        ``ack_failing``, only those whose acknowledgement on the server failed and is still
        outstanding (``ack_next_at`` set)."""


class AutomaticSenders(Protocol):
    """Senders whose mail was recognised as automatic, one record per address (the
    normalised address, exact match)."""

    def get(self, address: str) -> AutomaticSender | None: ...

    def put(self, sender: AutomaticSender) -> None:
        """Insert the record, or replace the one stored for its address. Two units that put
        the same address concurrently both succeed; the later commit's record stays."""
