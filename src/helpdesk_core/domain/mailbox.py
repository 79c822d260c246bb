"""What the helpdesk remembers about mail: staged raw mails, the Message-ID index and the
senders whose mail was recognised as automatic.

A fetched mail is *staged* (its raw bytes made durable) before it is parsed, so a crash at any
point loses nothing; the staged row then records what became of it. The Message-ID index holds
every Message-ID stored on or sent from a ticket: replies thread by it and repeated deliveries
are recognised by it.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.values import ensure_utc

__all__ = ["ACK_RETRY_FIRST", "ACK_RETRY_MAX", "AutomaticSender", "MessageRecord", "StagedMail",
           "StagedState", "ack_retry_delay"]

# A server that refuses to flag, move or delete a stored message is asked again after 1, 2,
# 4 ... minutes, at most every 6 hours.
ACK_RETRY_FIRST = timedelta(minutes=1)
ACK_RETRY_MAX = timedelta(hours=6)


def ack_retry_delay(failures: int) -> timedelta:
    """How long to wait after the ``failures``-th failed acknowledgement in a row."""
    if failures <= 0:
        return timedelta(0)
    return min(ACK_RETRY_FIRST * (1 << min(failures - 1, 20)), ACK_RETRY_MAX)


class StagedState(enum.Enum):
    STAGED = "staged"  # bytes durable, not processed yet (or a failed attempt to retry)
    PROCESSED = "processed"  # committed: the outcome says what it became
    QUARANTINED = "quarantined"  # refused or failed too often; kept with its reason


@attrs.frozen
class StagedMail:
    """One message of one mailbox, keyed by account and mailbox key.

    ``blob_key`` addresses the raw bytes in the BlobStore (None when the message was too large
    to download). ``acknowledged`` says the server was told (flag, move or delete) — which
    happens only after the outcome was committed.

    A server that failed to carry out the acknowledgement leaves ``ack_attempts`` (failures
    in a row), ``ack_error`` (the last one) and ``ack_next_at`` (not asked again before);
    the mail is stored all the same, and the fetch loop goes on with the next one.
    """

    account: str
    key: str
    size: int
    staged_at: datetime = attrs.field(converter=ensure_utc)
    updated_at: datetime = attrs.field(converter=ensure_utc)
    blob_key: str | None = None
    content_hash: str | None = None
    state: StagedState = StagedState.STAGED
    attempts: int = 0
    reason: str | None = None
    outcome: str | None = None
    ticket_id: str | None = None
    article_id: str | None = None
    acknowledged: bool = False
    ack_attempts: int = 0
    ack_error: str | None = None
    ack_next_at: datetime | None = attrs.field(
        default=None, converter=attrs.converters.optional(ensure_utc))

    @classmethod
    def stage(cls, *, account: str, key: str, size: int, at: datetime,
              blob_key: str | None, content_hash: str | None) -> StagedMail:
        return cls(account=account, key=key, size=size, staged_at=at, updated_at=at,
                   blob_key=blob_key, content_hash=content_hash)

    @property
    def pending(self) -> bool:
        return self.state is StagedState.STAGED

    def processed(self, *, outcome: str, at: datetime, ticket_id: str | None = None,
                  article_id: str | None = None) -> StagedMail:
        return attrs.evolve(self, state=StagedState.PROCESSED, outcome=outcome,
                            ticket_id=ticket_id, article_id=article_id, reason=None,
                            updated_at=at)

    def failed(self, reason: str, *, at: datetime, max_attempts: int) -> StagedMail:
        """One more failed attempt; the last allowed one quarantines the mail."""
        attempts = self.attempts + 1
        state = StagedState.QUARANTINED if attempts >= max_attempts else StagedState.STAGED
        return attrs.evolve(self, attempts=attempts, state=state, reason=reason[:2000],
                            updated_at=at)

    def quarantine(self, reason: str, *, at: datetime) -> StagedMail:
        return attrs.evolve(self, state=StagedState.QUARANTINED, reason=reason[:2000],
                            updated_at=at)

    def retry(self, *, at: datetime) -> StagedMail:
        """Back into the queue with a fresh attempt count (the reprocess command)."""
        return attrs.evolve(self, state=StagedState.STAGED, attempts=0, updated_at=at)

    def mark_acknowledged(self, *, at: datetime) -> StagedMail:
        return attrs.evolve(self, acknowledged=True, ack_error=None, ack_next_at=None,
                            updated_at=at)

    @property
    def ack_failing(self) -> bool:
        """Stored, but the server has not carried out its flag, move or deletion yet."""
        return self.ack_next_at is not None

    def ack_due(self, now: datetime) -> bool:
        """Whether the server may be asked to acknowledge it now."""
        return self.ack_next_at is None or now >= self.ack_next_at

    def acknowledgement_failed(self, error: str, *, at: datetime,
                               refused: bool = True) -> StagedMail:
        """One more failed acknowledgement; the next is due after a growing delay. A session
        that broke (``refused=False``) is tried again at once the first time — the network,
        most likely — and like a refusal after that."""
        failures = self.ack_attempts + 1
        delay = ack_retry_delay(failures if refused else failures - 1)
        return attrs.evolve(self, ack_attempts=failures, ack_error=error[:2000],
                            ack_next_at=at + delay, updated_at=at)


@attrs.frozen
class MessageRecord:
    """A Message-ID seen on a ticket. ``fingerprint`` is the content hash of an inbound mail
    (None for mail we sent): the same Message-ID with the same fingerprint is a repeat."""

    message_id: str
    ticket_id: str
    direction: Direction
    at: datetime = attrs.field(converter=ensure_utc)
    article_id: str | None = None
    fingerprint: str | None = None


def _optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value)


def _reason(value: object) -> str:
    return str(value)[:500]


@attrs.frozen
class AutomaticSender:
    """A sender whose mail was last recognised as automatic (by its headers or its content)
    at ``seen_at``, for ``reason`` (the signals' rules); ``ticket_id`` is the ticket its
    automatic mail last opened, at ``ticket_at``.

    Within a window after ``seen_at`` the sender gets no automatic message from us
    (:meth:`quiet`); within a window after ``ticket_at`` its automatic mail opens no other
    ticket (:meth:`ticket_within`). The window is the policy's ``machine_window``.
    """

    address: str
    seen_at: datetime = attrs.field(converter=ensure_utc)
    reason: str = attrs.field(default="", converter=_reason)
    ticket_id: str | None = None
    ticket_at: datetime | None = attrs.field(default=None, converter=_optional_utc)

    @classmethod
    def recognised(cls, previous: AutomaticSender | None, address: str, *, at: datetime,
                   reason: str) -> AutomaticSender:
        """The record after one more automatic mail from ``address`` (``previous`` is what
        was stored, if anything): seen now, for this reason; the ticket it opened is kept."""
        if previous is None:
            return cls(address=address, seen_at=at, reason=reason)
        return attrs.evolve(previous, seen_at=max(previous.seen_at, ensure_utc(at)),
                            reason=reason)

    def opened(self, ticket_id: str, *, at: datetime) -> AutomaticSender:
        """Its automatic mail opened ``ticket_id`` at ``at``."""
        return attrs.evolve(self, ticket_id=ticket_id, ticket_at=at)

    def quiet(self, *, now: datetime, window: timedelta) -> bool:
        """Whether automatic messages to this sender are withheld at ``now``."""
        return now - self.seen_at < window

    def ticket_within(self, *, now: datetime, window: timedelta) -> str | None:
        """The ticket its automatic mail opened less than ``window`` before ``now``."""
        if self.ticket_id is None or self.ticket_at is None:
            return None
        return self.ticket_id if now - self.ticket_at < window else None
