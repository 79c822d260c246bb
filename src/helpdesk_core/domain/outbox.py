"""The outbox: every outgoing message is written here in the transaction of its article.

A dispatcher sends what is pending through a sender adapter and records the result; nothing is
sent for a transaction that rolled back, because its outbox row never existed.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.article import AttachmentMeta
from helpdesk_core.domain.values import Channel, ensure_utc, new_id

__all__ = ["OutboxClaim", "OutboxMessage", "OutboxState"]


class OutboxState(enum.Enum):
    PENDING = "pending"  # waiting for a dispatcher (after ``next_attempt_at``, if set)
    SENDING = "sending"  # the message data is being handed over right now
    SENT = "sent"  # the server accepted it (for every recipient it did not refuse)
    FAILED = "failed"  # refused for good, or out of attempts: shown on the ticket
    UNCERTAIN = "uncertain"  # the server may have it: never resent automatically


@attrs.frozen
class OutboxMessage:
    """One message to send. ``kind`` says why it exists (``acknowledgement``, ``reply`` ...)."""

    id: str
    ticket_id: str
    kind: str
    channel: Channel
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body_text: str
    created_at: datetime = attrs.field(converter=ensure_utc)
    message_id: str | None = None
    article_id: str | None = None
    body_html: str | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    # Why the last attempt did not deliver; none once the message is sent (``settled``).
    last_error: str | None = None
    attachments: tuple[AttachmentMeta, ...] = ()
    next_attempt_at: datetime | None = None
    leased_until: datetime | None = None  # a dispatcher owns it until then
    # The token of the claim that last took the message (one per claim); kept when the
    # message settles, so that the claim's owner can still settle what expiry made uncertain.
    lease_owner: str | None = None
    sent_at: datetime | None = None
    # Per recipient: "sent", "refused: 550 ...", or a delivery report ("delivered" ...).
    results: dict[str, str] = attrs.field(factory=dict)
    provider_id: str | None = None  # the gateway's id of the message (SMS)
    cc: tuple[str, ...] = ()  # the recipients shown as Cc (all of them are in ``recipients``)
    reply_to: str | None = None
    sender_name: str = ""

    @classmethod
    def create(cls, *, ticket_id: str, kind: str, channel: Channel, sender: str,
               recipients: tuple[str, ...], subject: str, body_text: str, at: datetime,
               message_id: str | None = None, article_id: str | None = None,
               body_html: str | None = None, headers: dict[str, str] | None = None,
               attachments: tuple[AttachmentMeta, ...] = (), cc: tuple[str, ...] = (),
               reply_to: str | None = None, sender_name: str = "") -> OutboxMessage:
        return cls(id=new_id(), ticket_id=ticket_id, kind=kind, channel=channel, sender=sender,
                   recipients=tuple(recipients), subject=subject, body_text=body_text,
                   created_at=at, message_id=message_id, article_id=article_id,
                   body_html=body_html, headers=dict(headers or {}),
                   attachments=tuple(attachments), cc=tuple(cc), reply_to=reply_to,
                   sender_name=sender_name)

    def leased(self, *, owner: str, until: datetime) -> OutboxMessage:
        """This message claimed by ``owner`` until ``until``."""
        return attrs.evolve(self, lease_owner=owner, leased_until=ensure_utc(until))

    def settled(self, state: OutboxState, *, error: str | None = None,
                **changes: Any) -> OutboxMessage:
        """This message once an attempt ended in ``state``, without a lease; ``changes`` are
        further fields (results, attempts, sent_at ...).

        A sent message shows no error: ``last_error`` is cleared, because what failed before
        (a retry, an uncertain handover the gateway later confirmed) no longer describes the
        message; the ticket's history keeps the failures it recorded. Any other state keeps
        ``error``, or the earlier error when there is no new one.
        """
        if state is OutboxState.SENT:
            last_error = None
        else:
            last_error = error[:2000] if error else self.last_error
        return attrs.evolve(self, state=state, leased_until=None, last_error=last_error,
                            **changes)


@attrs.frozen
class OutboxClaim:
    """What the holder of a claim expects of a message before it changes it: the message is
    still in ``state``, still carries the claim's ``owner`` token and, when ``valid_at`` is
    given, its lease runs past ``valid_at``.

    Every change a dispatcher makes to a message it claimed is a compare-and-set on this
    (``OutboxRepository.update(message, expect=claim)``): a claim that ran out, that another
    dispatcher took over, or a message someone else moved on (expiry made it uncertain, an
    agent resent it, a delivery report settled it) refuses the change instead of being
    overwritten by it.
    """

    owner: str | None
    state: OutboxState
    valid_at: datetime | None = attrs.field(
        default=None, converter=attrs.converters.optional(ensure_utc))

    def holds(self, message: OutboxMessage) -> bool:
        """Whether ``message``, as stored now, is what this claim expects."""
        if message.state is not self.state or message.lease_owner != self.owner:
            return False
        if self.valid_at is None:
            return True
        return message.leased_until is not None and message.leased_until > self.valid_at
