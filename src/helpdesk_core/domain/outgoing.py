"""Outgoing messages: one builder and one header policy for every message we send.

Agents' replies, acknowledgements, resolution messages and SLA notices are all a
:class:`Draft` turned into an :class:`~helpdesk_core.domain.outbox.OutboxMessage` by
:func:`build_message`; a message that belongs on the ticket's communication log goes through
:meth:`helpdesk_core.domain.ticket.Ticket.send`, which also writes the outbound article.

The header policy (RFC 3834 and what mail systems do in practice):

* a message a person wrote carries no automation headers;
* an automatic message carries ``Auto-Submitted`` (``auto-replied`` when it answers a
  message, ``auto-generated`` otherwise), our loop header with its token, and
  ``X-Auto-Response-Suppress: All`` so that Exchange's out-of-office stays quiet;
* a message in a thread carries ``In-Reply-To`` and the last 20 ``References``.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from helpdesk_core.domain.article import AttachmentMeta, Direction
from helpdesk_core.domain.mailbox import MessageRecord
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.values import Channel, new_id

__all__ = [
    "MAX_REFERENCES",
    "Automation",
    "Draft",
    "HeaderPolicy",
    "build_message",
    "headers",
    "outbound_record",
]

MAX_REFERENCES = 20


class Automation(enum.Enum):
    NONE = "none"  # a person wrote it
    REPLIED = "auto-replied"  # an automatic answer to a message (acknowledgement)
    GENERATED = "auto-generated"  # produced by the system (resolution message, SLA notice)


@attrs.frozen
class HeaderPolicy:
    """The deployment's part of the header policy (from ``MailPolicy``)."""

    message_id_domain: str = "helpdesk.invalid"
    loop_header: str = "X-Helpdesk-Loop"
    loop_token: str = "helpdesk-core"

    def new_message_id(self) -> str:
        return f"<{new_id()}@{self.message_id_domain}>"


@attrs.frozen
class Draft:
    """What to send, before it has an id. ``kind`` says why it exists (``reply``,
    ``acknowledgement``, ``resolution``, ``escalation`` ...)."""

    kind: str
    channel: Channel
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    cc: tuple[str, ...] = ()
    attachments: tuple[AttachmentMeta, ...] = ()
    sender_name: str = ""
    reply_to: str | None = None
    automation: Automation = Automation.NONE
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()

    @property
    def is_mail(self) -> bool:
        return self.channel is Channel.EMAIL


def headers(draft: Draft, policy: HeaderPolicy) -> dict[str, str]:
    """The extra headers of ``draft`` under the one header policy (none for an SMS)."""
    if not draft.is_mail:
        return {}
    found: dict[str, str] = {}
    if draft.in_reply_to or draft.references:
        thread = list(draft.references)
        found["In-Reply-To"] = draft.in_reply_to or thread[-1]
        if draft.in_reply_to and draft.in_reply_to not in thread:
            thread.append(draft.in_reply_to)
        found["References"] = " ".join(thread[-MAX_REFERENCES:])
    if draft.automation is not Automation.NONE:
        found["Auto-Submitted"] = draft.automation.value
        found[policy.loop_header] = policy.loop_token
        found["X-Auto-Response-Suppress"] = "All"
    return found


def build_message(draft: Draft, *, policy: HeaderPolicy, ticket_id: str, at: datetime,
                  message_id: str | None = None, article_id: str | None = None) -> OutboxMessage:
    """The outbox message for ``draft``; every recipient in Cc is also a recipient."""
    return OutboxMessage.create(
        ticket_id=ticket_id, kind=draft.kind, channel=draft.channel, sender=draft.sender,
        recipients=draft.recipients + tuple(c for c in draft.cc if c not in draft.recipients),
        subject=draft.subject, body_text=draft.text, at=at, message_id=message_id,
        article_id=article_id, body_html=draft.html, headers=headers(draft, policy),
        attachments=draft.attachments, cc=draft.cc, reply_to=draft.reply_to,
        sender_name=draft.sender_name)


def outbound_record(message: OutboxMessage, *, at: datetime) -> MessageRecord | None:
    """The Message-ID record that lets the answer to ``message`` thread (mail only)."""
    if message.message_id is None or message.channel is not Channel.EMAIL:
        return None
    return MessageRecord(message_id=message.message_id, ticket_id=message.ticket_id,
                         direction=Direction.OUTBOUND, at=at, article_id=message.article_id)

