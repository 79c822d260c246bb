"""Ports for talking to the outside world. Declared now; adapters arrive with their features."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

__all__ = [
    "CallEvent",
    "InboundMail",
    "JobQueue",
    "MailInbox",
    "MailRef",
    "MailSender",
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
class OutgoingMail:
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)


class MailSender(Protocol):
    def send(self, mail: OutgoingMail) -> Mapping[str, str]:
        """Hand over the message; returns a result per recipient. Raises DeliveryError."""


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


class Telephony(Protocol):
    def click_to_call(self, *, agent: str, number: str) -> str:
        """Ask the PBX to connect the agent with ``number``; returns the call id."""


class JobQueue(Protocol):
    def enqueue(self, name: str, payload: Mapping[str, Any], *, key: str | None = None) -> None:
        """Run job ``name`` in a worker; a repeated ``key`` is enqueued at most once."""
