"""The outbox: outgoing messages written in the transaction of their article."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from helpdesk_core.domain.outbox import OutboxClaim, OutboxMessage, OutboxState
from helpdesk_core.domain.values import Channel

__all__ = ["OutboxRepository"]


class OutboxRepository(Protocol):
    """Outgoing messages, written in the transaction of the article they belong to."""

    def add(self, message: OutboxMessage) -> None: ...

    def get(self, message_id: str) -> OutboxMessage:
        """By outbox id; raises NotFound."""

    def update(self, message: OutboxMessage, *, expect: OutboxClaim | None = None) -> None:
        """Replace the stored message (state, attempts, results ...); NotFound if unknown.

        With ``expect``, a compare-and-set: the message is replaced only if the stored one is
        still what ``expect`` says (:meth:`OutboxClaim.holds`: its state, its ``lease_owner``
        and, with ``valid_at``, a lease running past it), in one statement
        (``UPDATE … WHERE id = ? AND state = ? AND lease_owner = ? AND leased_until > ?``);
        otherwise ConcurrencyError and nothing is changed. A store that checks at commit (the
        in-memory one: its first committer wins) may raise it from ``commit`` instead.
        """

    def claim(self, *, now: datetime, lease: timedelta, limit: int,
              channel: Channel | None = None, owner: str | None = None) -> list[OutboxMessage]:
        """Pending messages that are due (``next_attempt_at`` passed or unset) and not leased,
        oldest first, at most ``limit``, leased to the caller until ``now + lease`` under the
        token ``owner`` (a new one when None; the returned messages carry it as
        ``lease_owner``).

        Two dispatchers never get the same message: PostgreSQL skips rows another
        transaction has locked (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers. A
        claim whose lease ran out can be taken by the next claim, which writes its own token:
        from then on the first claim's compare-and-set updates are refused.
        """

    def find(self, *, state: OutboxState | None = None, provider_id: str | None = None,
             limit: int = 100) -> list[OutboxMessage]:
        """Messages by state or by the gateway's id (delivery reports), oldest first."""

    def for_ticket(self, ticket_id: str) -> list[OutboxMessage]:
        """The ticket's messages, oldest first."""

    def count_since(self, *, recipient: str, kind: str, since: datetime) -> int:
        """How many messages of ``kind`` went to ``recipient`` from ``since`` on."""
