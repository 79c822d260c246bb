"""Agents answer customers: the article and its outbox message commit together.

A reply by e-mail carries our Message-ID (recorded, so the customer's answer threads), the
ticket number in the subject, In-Reply-To / References to the customer's last mail, and the
channel's address as sender and Reply-To. A reply by SMS goes to the customer's phone. The
resolution message (:mod:`helpdesk_core.services.resolution`) is drafted the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.contacts import normalize_email
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.outgoing import Automation, Draft
from helpdesk_core.domain.ticket import Ticket, notified, participants
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import ValidationError
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.mail.threading import reply_subject
from helpdesk_core.ports import Clock, Directory
from helpdesk_core.services.unit_of_work import Unit, Units

__all__ = ["Replies"]


class Replies:
    def __init__(self, *, units: Units, clock: Clock, directory: Directory, policy: MailPolicy,
                 channels: tuple[MailChannel, ...]) -> None:
        self.units = units
        self.clock = clock
        self.directory = directory
        self.policy = policy
        self.channels = channels
        self.headers = policy.headers()

    def reply(self, key: str, *, agent: Actor, text: str, channel: Channel = Channel.EMAIL,
              html: str | None = None, attachments: Sequence[AttachmentMeta] = (),
              to: Sequence[str] | None = None, cc: Sequence[str] = (),
              subject: str | None = None,
              mail_channel: str | None = None) -> tuple[Article, OutboxMessage]:
        """Record the agent's answer on the ticket and queue it for sending, in one
        transaction. ``to`` defaults to the customer (e-mail: their first address; SMS: their
        first phone); ``cc`` addresses become participants of the ticket. An e-mail to the
        customer is also copied (Cc) to the addresses the ticket notifies
        (``MailPolicy.cc_notified``); they do not become participants by it.
        ``mail_channel`` names the mailbox the answer goes out from (default: the one the
        ticket came in through)."""
        if channel not in (Channel.EMAIL, Channel.SMS):
            raise ValidationError("replies go out by e-mail or SMS", field="channel")
        with self.units() as unit:
            ticket = unit.tickets.live(key)
            draft = self.draft(unit, ticket, author=agent, text=text, channel=channel,
                               html=html, attachments=attachments, to=to, cc=cc,
                               subject=subject, mail_channel=mail_channel)
            copies: tuple[str, ...] = ()
            if channel is Channel.EMAIL and to is None:
                copies = tuple(sorted(notified(unit.history(ticket)) - {*draft.recipients,
                                                                        *draft.cc}))
                draft = attrs.evolve(draft, cc=draft.cc + copies)
            article, message = self.send(unit, ticket, draft, author=agent, copies=copies)
            unit.commit()
        return article, message

    def send(self, unit: Unit, ticket: Ticket, draft: Draft, *, author: Actor,
             copies: Sequence[str] = ()) -> tuple[Article, OutboxMessage]:
        """Put ``draft`` on the ticket and in the outbox. Its Cc addresses take part from now,
        except ``copies``: addresses only notified of the answer."""
        now = self.clock.now()
        known = participants(unit.history(ticket))
        own = self.policy.own(self.channels)
        for address in draft.cc:
            if address not in known and address not in own and address not in copies:
                ticket.add_participant(address, at=now, actor=author)
        sent = ticket.send(draft, author=author, at=now, policy=self.headers)
        unit.outbox.add(sent.message)
        if sent.record is not None:
            unit.messages.add(sent.record)
        return sent.article, sent.message

    def draft(self, unit: Unit, ticket: Ticket, *, author: Actor, text: str,
              channel: Channel = Channel.EMAIL, html: str | None = None,
              attachments: Sequence[AttachmentMeta] = (), to: Sequence[str] | None = None,
              cc: Sequence[str] = (), subject: str | None = None,
              mail_channel: str | None = None, kind: str = "reply",
              automation: Automation = Automation.NONE) -> Draft:
        """An answer to the ticket's customer: recipients, sender, subject and thread."""
        customer = self.directory.customer(ticket.customer_id) if ticket.customer_id else None
        if channel is Channel.SMS:
            recipients = tuple(to or (customer.phones[:1] if customer else ()))
            copies: tuple[str, ...] = ()
        else:
            recipients = tuple(normalize_email(a, field="to")
                               for a in (to or (customer.emails[:1] if customer else ())))
            copies = tuple(normalize_email(a, field="cc") for a in cc)
        if not recipients:
            raise ValidationError("the ticket's customer has no address to answer to",
                                  field="to")
        sender = self._sender(unit, ticket, mail_channel)
        email = channel is Channel.EMAIL
        last, thread = self._thread(unit, ticket) if email else (None, [])
        title = subject if subject is not None else reply_subject(
            ticket.subject, ticket.number, self.policy.subject_format)
        return Draft(kind=kind, channel=channel, sender=sender, recipients=recipients,
                     subject=title, text=text, html=html, cc=copies,
                     attachments=tuple(attachments), sender_name=author.name,
                     reply_to=sender, automation=automation,
                     in_reply_to=last or (thread[-1] if thread else None),
                     references=tuple(thread))

    def channel(self, name: str) -> MailChannel:
        """The configured channel called ``name``, or a bare one with no defaults."""
        return next((c for c in self.channels if c.name == name), MailChannel(name=name))

    def _sender(self, unit: Unit, ticket: Ticket, channel_name: str | None) -> str:
        """The mailbox the ticket came in through answers it, unless told otherwise."""
        if channel_name is None:
            history = [*unit.history(ticket), *ticket.pending_events]
            created = next((e for e in history if e.kind.value == "created"), None)
            channel_name = created.data.get("mail_channel") if created else None
        channel = self.channel(channel_name or "default")
        own = sorted(self.policy.own(self.channels))
        return channel.sender or (own[0] if own
                                  else f"helpdesk@{self.policy.message_id_domain}")

    @staticmethod
    def _thread(unit: Unit, ticket: Ticket) -> tuple[str | None, list[str]]:
        """The customer's last Message-ID (In-Reply-To) and the ticket's mail ids, oldest
        first (References)."""
        mails = [a for a in [*unit.tickets.articles(ticket.id), *ticket.pending_articles]
                 if a.channel is Channel.EMAIL and a.public and a.meta.get("message_id")
                 and not a.meta["message_id"].endswith("@fingerprint.invalid>")]
        inbound = [a for a in mails if a.direction is Direction.INBOUND]
        last = inbound[-1].meta["message_id"] if inbound else None
        return last, [a.meta["message_id"] for a in mails]
