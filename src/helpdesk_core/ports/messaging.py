"""Ports for talking to the outside world. Declared now; adapters arrive with their features."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from helpdesk_core.domain.typecheck import check_fields

__all__ = [
    "CallEvent",
    "InboundMail",
    "JobQueue",
    "MailInbox",
    "MailRef",
    "MailSender",
    "OutgoingAttachment",
    "OutgoingMail",
    "SmsSender",
    "Telephony",
]


@attrs.frozen
class MailRef:
    """A message waiting in a mailbox, known by key and size before anything is downloaded.

    ``key`` is stable for as long as the server keeps the message: IMAP ``"<uidvalidity>:<uid>"``
    (a new UIDVALIDITY gives every message a new key; content hashes catch the repeats), POP3
    the UIDL.
    """

    key: str
    size: int


@attrs.frozen
class InboundMail:
    """Raw bytes of one message and the key that identifies it in its mailbox."""

    account: str
    key: str
    data: bytes


class MailInbox(Protocol):
    """One mailbox of one account. Raises MailboxError when the server fails or goes away."""

    account: str

    def list_new(self, *, limit: int) -> list[MailRef]:
        """Messages not yet acknowledged, oldest first, at most ``limit``; downloads nothing."""

    def download(self, key: str) -> bytes:
        """The exact bytes of one message, without flagging, moving or deleting it."""

    def acknowledge(self, key: str) -> None:
        """Flag, move or delete the message: called only after it was committed."""

    def close(self) -> None:
        """Log out; POP3 deletions take effect here."""


@attrs.frozen
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes = attrs.field(repr=False)


@attrs.frozen
class OutgoingMail:
    """A message ready to hand over. ``recipients`` is the envelope (To + Cc + Bcc); ``to`` and
    ``cc`` are what the headers show. ``headers`` holds extra headers (Auto-Submitted, the
    loop header, In-Reply-To, References ...); the sender adapter refuses line breaks in any
    header value."""

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    sender_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: str | None = None
    attachments: tuple[OutgoingAttachment, ...] = ()


class MailSender(Protocol):
    def send(self, mail: OutgoingMail, *,
             before_data: Callable[[], None] | None = None) -> Mapping[str, str]:
        """Hand the message over; returns a result per envelope recipient: ``"sent"``,
        ``"refused: <reply>"`` or ``"deferred: <reply>"`` (a temporary refusal).

        ``before_data`` is called once the server has accepted sender and recipients, just
        before the message data goes out: after it, a broken connection means the message
        may have been delivered. Raises DeliveryError: ``transient`` when nothing was
        delivered and a retry can help, ``uncertain`` when the data went out but no answer
        came back.
        """


class SmsSender(Protocol):
    def send(self, *, to: str, text: str, reference: str) -> str:
        """Send a text to an E.164 number; returns the provider's message id."""


@attrs.frozen
class CallEvent:
    provider_call_id: str
    kind: str  # ringing | answered | ended | missed
    direction: str  # inbound | outbound
    from_number: str | None
    to_number: str | None
    at: datetime
    agent: str | None = None

    def __attrs_post_init__(self) -> None:
        check_fields(self, prefix="event")


class Telephony(Protocol):
    def click_to_call(self, *, agent: str, number: str) -> str:
        """Ask the PBX to connect the agent with ``number``; returns the call id."""


class JobQueue(Protocol):
    def enqueue(self, name: str, payload: Mapping[str, Any], *, key: str | None = None) -> None:
        """Run job ``name`` in a worker; a repeated ``key`` is enqueued at most once."""
