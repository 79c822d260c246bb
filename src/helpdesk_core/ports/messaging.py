"""Ports for talking to the outside world. Declared now; adapters arrive with their features."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

__all__ = [
    "CallEvent",
    "InboundMail",
    "JobQueue",
    "MailInbox",
    "MailSender",
    "OutgoingMail",
    "SmsSender",
    "Telephony",
]


@attrs.frozen
class InboundMail:
    """Raw bytes of one message and the key that identifies it in its mailbox."""

    account: str
    key: str  # IMAP: "<uidvalidity>:<uid>"; POP3: the UIDL
    data: bytes


class MailInbox(Protocol):
    account: str

    def fetch(self, *, limit: int) -> Iterable[InboundMail]:
        """New messages, oldest first, without removing or flagging them."""

    def acknowledge(self, key: str) -> None:
        """Flag, move or delete the message: called only after it was committed."""


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
