"""Agents answer customers: the article and its outbox message commit together.

A reply by e-mail carries our Message-ID (recorded, so the customer's answer threads), the
ticket number in the subject, In-Reply-To / References to the customer's last mail, and the
channel's address as sender and Reply-To. A reply by SMS goes to the customer's phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.contacts import normalize_email
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.mailbox import MessageRecord
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.ticket import Ticket, participants
from helpdesk_core.domain.values import Actor, Channel, new_id
from helpdesk_core.errors import ValidationError
from helpdesk_core.mail.threading import reply_subject
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.sla_tracking import refresh as refresh_sla
from helpdesk_core.services.unit import load_ticket, publish

__all__ = ["compose", "reply"]

_MAX_REFERENCES = 20


def reply(
    deps: Deps,
    key: str,
    *,
    agent: Actor,
    text: str,
    channel: Channel = Channel.EMAIL,
    html: str | None = None,
    attachments: Sequence[AttachmentMeta] = (),
    to: Sequence[str] | None = None,
    cc: Sequence[str] = (),
    subject: str | None = None,
    mail_channel: str | None = None,
) -> tuple[Article, OutboxMessage]:
    """Record the agent's answer on the ticket and queue it for sending, in one transaction.

    ``to`` defaults to the customer (e-mail: their first address; SMS: their first phone);
    ``cc`` addresses become participants of the ticket. ``mail_channel`` names the mailbox
    the answer goes out from (default: the one the ticket came in through).
    """
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise ValidationError("replies go out by e-mail or SMS", field="channel")
    now = deps.clock.now()
    with deps.storage.unit_of_work() as uow:
        ticket = load_ticket(uow, key)
        history = uow.tickets.history(ticket.id)
        article, message, record = compose(
            deps, uow, ticket, history, author=agent, text=text, channel=channel, html=html,
            attachments=attachments, to=to, cc=cc, subject=subject, mail_channel=mail_channel,
            at=now)
        refresh_sla(deps, uow, ticket, history=history, now=now)
        events = list(ticket.pending_events)
        uow.tickets.save(ticket)
        uow.outbox.add(message)
        if record is not None:
            uow.messages.add(record)
        uow.commit()
    publish(deps, ticket, events)
    return article, message


def compose(
    deps: Deps,
    uow: UnitOfWork,
    ticket: Ticket,
    history: list[TicketEvent],
    *,
    author: Actor,
    text: str,
    at: datetime,
    channel: Channel = Channel.EMAIL,
    html: str | None = None,
    attachments: Sequence[AttachmentMeta] = (),
    to: Sequence[str] | None = None,
    cc: Sequence[str] = (),
    subject: str | None = None,
    mail_channel: str | None = None,
    kind: str = "reply",
    automatic: bool = False,
) -> tuple[Article, OutboxMessage, MessageRecord | None]:
    """Add the outbound article to ``ticket`` (and Cc participants) inside the caller's unit;
    returns it with the outbox message and the Message-ID record for the caller to write
    after saving the ticket. ``automatic`` marks mail no human wrote (Auto-Submitted)."""
    customer = deps.directory.customer(ticket.customer_id) if ticket.customer_id else None
    if channel is Channel.SMS:
        recipients = tuple(to or (customer.phones[:1] if customer else ()))
        copies: tuple[str, ...] = ()
    else:
        recipients = tuple(normalize_email(a, field="to")
                           for a in (to or (customer.emails[:1] if customer else ())))
        copies = tuple(normalize_email(a, field="cc") for a in cc)
    if not recipients:
        raise ValidationError("the ticket's customer has no address to answer to", field="to")
    sender = _sender(deps, ticket, history, mail_channel)
    email = channel is Channel.EMAIL
    message_id = f"<{new_id()}@{deps.mail_policy.message_id_domain}>"
    last, thread = _thread(uow, ticket) if email else (None, [])
    title = subject if subject is not None else reply_subject(
        ticket.subject, ticket.number, deps.mail_policy.subject_format)
    article = ticket.add_article(
        direction=Direction.OUTBOUND, channel=channel, author=author, body_text=text, at=at,
        subject=title if email else "", attachments=tuple(attachments),
        external_id=message_id if email else None,
        meta={"to": ", ".join(recipients), "cc": ", ".join(copies), "kind": kind,
              **({"message_id": message_id} if email else {})})
    known = participants(history)
    for address in copies:
        if address not in known and address not in deps.mail_policy.own(deps.mail_channels):
            ticket.add_participant(address, at=at, actor=author)
    headers: dict[str, str] = {}
    if thread:
        headers["In-Reply-To"] = last or thread[-1]
        headers["References"] = " ".join(thread[-_MAX_REFERENCES:])
    if automatic and email:
        headers["Auto-Submitted"] = "auto-generated"
        headers[deps.mail_policy.loop_header] = deps.mail_policy.loop_token
    message = OutboxMessage.create(
        ticket_id=ticket.id, kind=kind, channel=channel, sender=sender,
        recipients=recipients + copies, subject=title, body_text=text, at=at,
        message_id=message_id if email else None, article_id=article.id, body_html=html,
        headers=headers, attachments=tuple(attachments), cc=copies, reply_to=sender,
        sender_name=author.name)
    record = MessageRecord(message_id=message_id, ticket_id=ticket.id,
                           direction=Direction.OUTBOUND, at=at,
                           article_id=article.id) if email else None
    return article, message, record


def _sender(deps: Deps, ticket: Ticket, history: list[TicketEvent],
            channel_name: str | None) -> str:
    """The mailbox the ticket came in through answers it, unless told otherwise."""
    if channel_name is None:
        created = next((e for e in history if e.kind.value == "created"), None)
        channel_name = created.data.get("mail_channel") if created else None
    channel = deps.mail_channel(channel_name or "default")
    own = sorted(deps.mail_policy.own(deps.mail_channels))
    return channel.sender or (own[0] if own else f"helpdesk@{deps.mail_policy.message_id_domain}")


def _thread(uow: UnitOfWork, ticket: Ticket) -> tuple[str | None, list[str]]:
    """The customer's last Message-ID (In-Reply-To) and the ticket's mail ids, oldest first
    (References)."""
    mails = [a for a in uow.tickets.articles(ticket.id)
             if a.channel is Channel.EMAIL and a.public and a.meta.get("message_id")
             and not a.meta["message_id"].endswith("@fingerprint.invalid>")]
    inbound = [a for a in mails if a.direction is Direction.INBOUND]
    last = inbound[-1].meta["message_id"] if inbound else None
    return last, [a.meta["message_id"] for a in mails]
