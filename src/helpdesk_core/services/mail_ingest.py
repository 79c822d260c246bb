"""Inbound mail → tickets: threading, repeats, participants, bounces, acknowledgements.

One mail is handled in one transaction: the article, the ticket change, the Message-ID
record, the acknowledgement in the outbox and (when it came from a mailbox) the staged row's
outcome commit together or not at all. The rules, in the order they are applied:

1. **Repeat** — a mail whose Message-ID *and* content fingerprint were stored before is the
   same mail delivered again (a second support address, a re-fetch after a crash): nothing new
   is written. Two different mails that share a Message-ID have different fingerprints and are
   both kept.
2. **Bounce** — a delivery status notification is attached to the ticket of the mail that
   bounced as an internal delivery-failure note; it never opens a ticket.
3. **Thread** — In-Reply-To / References naming a Message-ID we stored or sent, else our
   ticket number in the subject, finds the ticket; a merged ticket forwards to its target.
   Headers that claim to be ours (``X-Helpdesk-*``) are never read for routing.
4. **Participant check** — the ticket number is a hint, not a key: a sender who is neither the
   customer nor an added participant is held as an unpublished note (or opens a new ticket, by
   policy); such a mail never reopens the ticket and adds nobody.
5. **Reply** — a participant's mail becomes a public article and reopens a ticket that waits
   on the customer or was resolved/closed; an automatic reply (out of office) is stored but
   reopens nothing. A reply to a ticket closed longer than ``reopen_window`` opens a new
   ticket linked to the old one.
6. **New ticket** — sender → contact (created if unknown, by policy), order numbers linked
   only when the order belongs to the sender, the channel's defaults, then the acknowledgement
   unless a loop rule or the per-sender rate limit suppresses it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.article import AttachmentMeta, Direction
from helpdesk_core.domain.contacts import Contact, normalize_email
from helpdesk_core.domain.mailbox import MessageRecord, StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket, closed_at, participants
from helpdesk_core.domain.values import Actor, Channel, EntityKind, EntityRef, new_id
from helpdesk_core.errors import InvalidTransition, TicketNotFound, ValidationError
from helpdesk_core.mail.loops import auto_response, bounce_info, ticket_numbers
from helpdesk_core.mail.parsed import ParsedMail
from helpdesk_core.mail.parser import parse_mail
from helpdesk_core.mail.policy import MailChannel
from helpdesk_core.mail.threading import (
    fingerprint,
    is_automatic_reply,
    message_key,
    order_numbers,
    reference_ids,
)
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.acknowledgement import acknowledgement_for
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.directory import StorageDirectory
from helpdesk_core.services.intake import build_ticket
from helpdesk_core.services.sla_tracking import refresh as refresh_sla
from helpdesk_core.services.unit import publish

__all__ = ["MailOutcome", "Outcome", "receive_mail"]

log = logging.getLogger("helpdesk_core.mail")
MAILER = Actor.system("mail")
ACKNOWLEDGER = Actor.system("acknowledgement")
_MAX_MERGE_HOPS = 20


class Outcome:
    """What became of a mail (the values of ``MailOutcome.outcome``)."""

    NEW_TICKET = "new_ticket"
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"  # threaded, reopened nothing
    HELD_UNVERIFIED = "held_unverified"
    DUPLICATE = "duplicate"
    BOUNCE = "bounce"
    BOUNCE_UNMATCHED = "bounce_unmatched"
    AUTO_REPLY_UNMATCHED = "auto_reply_unmatched"
    QUARANTINED = "quarantined"

    DROPPED = frozenset({BOUNCE_UNMATCHED, AUTO_REPLY_UNMATCHED})


@attrs.frozen
class MailOutcome:
    """The result of handling one mail. ``acknowledgement`` is the queued outbox message's id;
    ``reason`` explains a quarantine, a hold or a suppressed acknowledgement."""

    outcome: str
    ticket_id: str | None = None
    ticket_number: str | None = None
    article_id: str | None = None
    acknowledgement: str | None = None
    reason: str | None = None


@attrs.frozen
class _Prepared:
    mail: ParsedMail
    print_: str
    key: str
    sender: str | None
    article: dict[str, Any]
    blobs: tuple[bytes, ...]  # raw mail, attachments, sanitised HTML: stored with the article


@attrs.define
class _Writes:
    """Rows to write after the ticket itself (they refer to it)."""

    records: list[MessageRecord] = attrs.field(factory=list)
    outbox: list[OutboxMessage] = attrs.field(factory=list)


class _NeedCustomer(Exception):
    """The plan needs a contact that does not exist yet (created outside the transaction)."""


def receive_mail(
    deps: Deps,
    raw: bytes,
    *,
    channel: MailChannel | None = None,
    staged: StagedMail | None = None,
) -> MailOutcome:
    """Handle one raw mail; with ``staged``, its row records the outcome in the same commit."""
    policy = deps.mail_policy
    channel = channel or MailChannel()
    mail = parse_mail(raw, limits=policy.limits)
    if mail.quarantined:
        outcome = MailOutcome(Outcome.QUARANTINED, reason=mail.quarantine_reason)
        if staged is not None:
            _finish_staged(deps, staged.quarantine(outcome.reason or "", at=deps.clock.now()))
        return outcome
    prepared = _prepare(mail, raw)
    customers = _Customers(deps)
    customer = customers.before(prepared.sender)
    for _attempt in range(2):
        try:
            return _in_transaction(deps, prepared, channel, customer, customers, staged)
        except _NeedCustomer:
            if prepared.sender is None or policy.unknown_sender == "quarantine":
                reason = ("no sender address" if prepared.sender is None
                          else "unknown sender (policy: quarantine)")
                if staged is not None:
                    _finish_staged(deps, staged.quarantine(reason, at=deps.clock.now()))
                return MailOutcome(Outcome.QUARANTINED, reason=reason)
            customer = deps.directory.customer_by_email(prepared.sender) or \
                deps.directory.create_customer(name=mail.from_name, email=prepared.sender,
                                               language=channel.language)
    raise AssertionError("a created customer was not found again")  # pragma: no cover


class _Customers:
    """Sender → contact. The built-in directory lives in our own storage, so its lookups (and
    a new contact) join the mail's transaction; a host's directory is asked beforehand."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        directory = deps.directory
        self.builtin = isinstance(directory, StorageDirectory) and \
            directory.storage is deps.storage
        self.new: Contact | None = None

    def before(self, sender: str | None) -> Contact | None:
        if sender is None or self.builtin:
            return None
        return self.deps.directory.customer_by_email(sender)

    def inside(self, uow: UnitOfWork, p: _Prepared, channel: MailChannel) -> Contact | None:
        if not self.builtin or p.sender is None:
            return None
        found = uow.contacts.find_by_email(p.sender)
        if found is not None or self.deps.mail_policy.unknown_sender != "create":
            return found
        # Added to the unit only if a ticket is opened for it (see _in_transaction).
        self.new = Contact.create(name=p.mail.from_name, email=p.sender,
                                  language=channel.language)
        return self.new


def _finish_staged(deps: Deps, staged: StagedMail) -> None:
    with deps.storage.unit_of_work() as uow:
        uow.staged_mail.update(staged)
        uow.commit()


def _blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _prepare(mail: ParsedMail, raw: bytes) -> _Prepared:
    """Everything that needs no transaction: fingerprint, sender, article fields, blob keys.

    The blobs themselves are stored inside the mail's transaction when the blob store shares
    the database; otherwise at once — content addressing makes an unused blob harmless.
    """
    print_ = fingerprint(raw)
    key = message_key(mail, print_)
    sender = None
    if mail.from_address:
        try:
            sender = normalize_email(mail.from_address)
        except ValidationError:
            sender = None
    blobs = [raw, *(a.data for a in mail.attachments)]
    attachments = tuple(
        AttachmentMeta(blob_key=_blob_key(a.data), filename=a.filename,
                       content_type=a.content_type if "/" in a.content_type
                       else "application/octet-stream",
                       size=a.size, content_id=a.content_id, inline=a.inline)
        for a in mail.attachments
    )
    meta = {"message_id": key, "fingerprint": print_, "raw_blob": _blob_key(raw),
            "from": sender or "", "from_name": mail.from_name,
            "to": ", ".join(a.address for a in mail.to),
            "cc": ", ".join(a.address for a in mail.cc),
            "content_type": mail.content_type, "new_text": mail.new_text[:100_000]}
    if mail.body_html:
        html = mail.body_html.encode("utf-8")
        blobs.append(html)
        meta["html_blob"] = _blob_key(html)
    if mail.defects:
        meta["defects"] = "; ".join(mail.defects)[:2000]
    article = {"attachments": attachments, "external_id": key[:255], "meta": meta}
    return _Prepared(mail=mail, print_=print_, key=key, sender=sender, article=article,
                     blobs=tuple(blobs))


def _in_transaction(deps: Deps, p: _Prepared, channel: MailChannel, customer: Contact | None,
                    customers: _Customers, staged: StagedMail | None) -> MailOutcome:
    now = deps.clock.now()
    with deps.storage.unit_of_work() as uow:
        writes = _Writes()
        outcome, ticket = _decide(deps, uow, p, channel, customer, customers, now, writes)
        if outcome.outcome != Outcome.DUPLICATE:
            for data in p.blobs:
                deps.blob_store.put(data, unit=uow)
        sla_record = None
        if ticket is not None:
            new = outcome.outcome == Outcome.NEW_TICKET
            sla_record = refresh_sla(deps, uow, ticket, history=() if new else None, now=now,
                                     store=False)
        events = list(ticket.pending_events) if ticket is not None else []
        if ticket is not None and outcome.outcome == Outcome.NEW_TICKET:
            if customers.new is not None and ticket.customer_id == customers.new.id:
                uow.contacts.add(customers.new)
            uow.tickets.add(ticket)
        elif ticket is not None:
            uow.tickets.save(ticket)
        if ticket is not None and outcome.article_id is not None:
            uow.messages.add(MessageRecord(message_id=p.key, ticket_id=ticket.id,
                                           direction=Direction.INBOUND, at=now,
                                           article_id=outcome.article_id,
                                           fingerprint=p.print_))
        if sla_record is not None:
            uow.sla.put(sla_record)
        for record in writes.records:
            uow.messages.add(record)
        for message in writes.outbox:
            uow.outbox.add(message)
        if staged is not None:
            uow.staged_mail.update(staged.processed(
                outcome=outcome.outcome, at=now, ticket_id=outcome.ticket_id,
                article_id=outcome.article_id), expected=StagedState.STAGED)
        uow.commit()
    if ticket is not None:
        publish(deps, ticket, events)
    return outcome


def _decide(deps: Deps, uow: UnitOfWork, p: _Prepared, channel: MailChannel,
            customer: Contact | None, customers: _Customers, now: datetime,
            writes: _Writes) -> tuple[MailOutcome, Ticket | None]:
    mail, policy = p.mail, deps.mail_policy
    # One lookup answers both "seen before?" and "which of our messages does it answer?".
    references = reference_ids(mail)
    known = uow.messages.find([p.key, *references])
    for record in known:
        if record.message_id == p.key and record.fingerprint == p.print_:
            number = _number_of(uow, record.ticket_id)
            return MailOutcome(Outcome.DUPLICATE, record.ticket_id, number,
                               record.article_id), None

    bounce = bounce_info(mail)
    if bounce.is_bounce:
        target = _by_references(uow, [bounce.original_message_id] if
                                bounce.original_message_id else [])
        if target is None:
            return MailOutcome(Outcome.BOUNCE_UNMATCHED,
                               reason=f"no ticket sent {bounce.original_message_id}"), None
        article = target.add_article(
            direction=Direction.INTERNAL, channel=Channel.EMAIL, author=MAILER,
            body_text=mail.body_text or "(delivery failure)", at=now, subject=mail.subject,
            **_with_meta(p, kind="delivery_failure",
                         original_message_id=bounce.original_message_id or ""))
        return MailOutcome(Outcome.BOUNCE, target.id, target.number, article.id), target

    automatic = is_automatic_reply(mail)
    target, found_by = _find_target(deps, uow, mail, references,
                                    [r for r in known if r.message_id in references])
    previous: Ticket | None = None
    if target is not None:
        history = uow.tickets.history(target.id)
        if not _is_participant(deps, uow, target, history, p.sender):
            if policy.unverified_reply == "hold" or automatic:
                article = target.add_article(
                    direction=Direction.INTERNAL, channel=Channel.EMAIL, author=MAILER,
                    body_text=mail.body_text, at=now, subject=mail.subject,
                    **_with_meta(p, verified="false", found_by=found_by))
                reason = f"{p.sender or 'unknown sender'} does not take part in the ticket"
                return MailOutcome(Outcome.HELD_UNVERIFIED, target.id, target.number,
                                   article.id, reason=reason), target
            target = None  # policy: a stranger's mail opens a ticket of its own
        elif _closed_too_long(target, history, now, policy.reopen_window):
            previous, target = target, None
        else:
            return _reply(deps, target, p, automatic, now, found_by)

    if automatic:
        return MailOutcome(Outcome.AUTO_REPLY_UNMATCHED,
                           reason="an automatic reply that names no ticket"), None
    if customer is None:  # only a new ticket needs the contact: looked up this late
        customer = customers.inside(uow, p, channel)
    if customer is None:
        raise _NeedCustomer
    return _new_ticket(deps, uow, p, channel, customer, previous, now, writes)


def _reply(deps: Deps, ticket: Ticket, p: _Prepared, automatic: bool, now: datetime,
           found_by: str) -> tuple[MailOutcome, Ticket]:
    article = ticket.add_article(
        direction=Direction.INBOUND, channel=Channel.EMAIL,
        author=Actor.customer(ticket.customer_id, p.mail.from_name), body_text=p.mail.body_text,
        at=now, subject=p.mail.subject,
        **_with_meta(p, found_by=found_by, **({"automatic": "true"} if automatic else {})))
    if automatic:
        return MailOutcome(Outcome.AUTO_REPLY, ticket.id, ticket.number, article.id), ticket
    if ticket.status_category in (StatusCategory.WAITING_ON_CUSTOMER, StatusCategory.RESOLVED,
                                  StatusCategory.CLOSED):
        try:
            ticket.transition(StatusCategory.OPEN.value, workflow=deps.workflow, at=now,
                              actor=MAILER)
        except InvalidTransition:
            log.info("ticket %s cannot be reopened from %s", ticket.number, ticket.status)
    _add_participants(deps, ticket, p, now)
    return MailOutcome(Outcome.REPLY, ticket.id, ticket.number, article.id), ticket


def _new_ticket(deps: Deps, uow: UnitOfWork, p: _Prepared, channel: MailChannel,
                customer: Contact, previous: Ticket | None, now: datetime,
                writes: _Writes) -> tuple[MailOutcome, Ticket]:
    mail = p.mail
    links, data = _orders(deps, mail, customer)
    if previous is not None:
        links.append(EntityRef(EntityKind.TICKET, "helpdesk", previous.number))
        data["follows_closed_ticket"] = previous.number
    data["mail_channel"] = channel.name
    ticket = build_ticket(
        deps, uow, subject=mail.subject or "(no subject)", body=mail.body_text,
        channel=Channel.EMAIL, actor=Actor.customer(customer.id, customer.name or mail.from_name),
        direction=Direction.INBOUND, customer=customer, links=links,
        incident_type=channel.incident_type, team=channel.team,
        language=customer.language or channel.language, data=data,
        channel_owner=channel.owner, article=p.article,
    )
    first_article = ticket.pending_articles[0].id
    _add_participants(deps, ticket, p, now)
    ack_id, reason = _acknowledge(deps, uow, ticket, p, channel, customer, now, writes)
    return MailOutcome(Outcome.NEW_TICKET, ticket.id, ticket.number, first_article,
                       acknowledgement=ack_id, reason=reason), ticket


# -- steps ---------------------------------------------------------------------------------


def _with_meta(p: _Prepared, **extra: str) -> dict[str, Any]:
    article = dict(p.article)
    article["meta"] = {**p.article["meta"], **extra}
    return article


def _number_of(uow: UnitOfWork, ticket_id: str) -> str | None:
    try:
        return uow.tickets.get(ticket_id).number
    except TicketNotFound:
        return None


def _find_target(deps: Deps, uow: UnitOfWork, mail: ParsedMail, references: Sequence[str],
                 records: list[MessageRecord]) -> tuple[Ticket | None, str]:
    found = _best_reference(uow, references, records)
    if found is not None:
        return found, "references"
    for number in ticket_numbers(mail.subject, deps.ticket_number):
        try:
            return _follow_merges(uow, uow.tickets.get_by_number(number)), "subject"
        except TicketNotFound:
            continue
    return None, ""


def _by_references(uow: UnitOfWork, ids: Sequence[str]) -> Ticket | None:
    if not ids:
        return None
    return _best_reference(uow, ids, uow.messages.find(list(ids)))


def _best_reference(uow: UnitOfWork, ids: Sequence[str],
                    records: list[MessageRecord]) -> Ticket | None:
    if not records:
        return None
    # The most specific reference wins: In-Reply-To, then the newest of References.
    rank = {mid: i for i, mid in reversed(list(enumerate(ids)))}
    best = min(records, key=lambda r: (rank.get(r.message_id, len(ids)), -r.at.timestamp()))
    try:
        return _follow_merges(uow, uow.tickets.get(best.ticket_id))
    except TicketNotFound:
        return None


def _follow_merges(uow: UnitOfWork, ticket: Ticket) -> Ticket:
    for _hop in range(_MAX_MERGE_HOPS):
        if ticket.merged_into is None:
            return ticket
        ticket = uow.tickets.get(ticket.merged_into)
    return ticket


def _is_participant(deps: Deps, uow: UnitOfWork, ticket: Ticket, history: list[Any],
                    sender: str | None) -> bool:
    if sender is None:
        return False
    if sender in participants(history):
        return True
    if not ticket.customer_id:
        return False
    if _Customers(deps).builtin:  # our own contacts: ask inside the unit
        return uow.contacts.id_by_email(sender) == ticket.customer_id
    customer = deps.directory.customer(ticket.customer_id)
    return customer is not None and sender in customer.emails


def _closed_too_long(ticket: Ticket, history: list[Any], now: datetime, window: Any) -> bool:
    if ticket.status_category is not StatusCategory.CLOSED:
        return False
    since = closed_at(history)
    return since is not None and now - since > window


def _add_participants(deps: Deps, ticket: Ticket, p: _Prepared, now: datetime) -> None:
    """Addresses in Cc (not ours, not the sender) take part from now on."""
    own = deps.mail_policy.own(deps.mail_channels)
    known = set(participants(ticket.pending_events))
    for address in p.mail.cc:
        try:
            email = normalize_email(address.address)
        except ValidationError:
            continue
        if email in own or email == p.sender or email in known:
            continue
        known.add(email)
        ticket.add_participant(email, at=now, actor=MAILER)


def _orders(deps: Deps, mail: ParsedMail,
            customer: Contact) -> tuple[list[EntityRef], dict[str, Any]]:
    """Orders named in the mail, linked only when they are the sender's own."""
    links: list[EntityRef] = []
    refused: list[str] = []
    for number in order_numbers(mail, deps.mail_policy.order_pattern):
        order = deps.directory.order_by_number(number)
        if order is None:
            continue
        if order.belongs_to(customer_id=customer.id, email=customer.email):
            links.append(order.ref)
        else:
            refused.append(number)
    return links, ({"orders_not_linked": refused} if refused else {})


def _acknowledge(deps: Deps, uow: UnitOfWork, ticket: Ticket, p: _Prepared,
                 channel: MailChannel, customer: Contact, now: datetime,
                 writes: _Writes) -> tuple[str | None, str | None]:
    policy = deps.mail_policy
    if not policy.acknowledge:
        return None, "acknowledgements are off"
    own = policy.own(deps.mail_channels)
    verdict = auto_response(p.mail, own_addresses=own,
                            own_message_id_domains=[policy.message_id_domain],
                            loop_header=policy.loop_header)
    if verdict.suppress:
        return None, verdict.reason
    recipient = p.sender
    if recipient is None:
        return None, "no sender address"
    since = now - policy.ack_window
    if uow.outbox.count_since(recipient=recipient, kind="acknowledgement",
                              since=since) >= policy.ack_limit:
        return None, "rate-limit"
    # The deployment's acknowledgement template for this incident type and language (stored
    # ones first, then MailPolicy.ack_templates, then the built-in ones).
    subject, text = acknowledgement_for(deps, ticket, customer, unit=uow)
    message_id = f"<{new_id()}@{policy.message_id_domain}>"
    article = ticket.add_article(
        direction=Direction.OUTBOUND, channel=Channel.EMAIL, author=ACKNOWLEDGER,
        body_text=text, at=now, subject=subject, external_id=message_id,
        meta={"message_id": message_id, "to": recipient, "kind": "acknowledgement"})
    references = [*p.mail.references, *([p.mail.message_id] if p.mail.message_id else [])]
    headers = {"Auto-Submitted": "auto-replied", policy.loop_header: policy.loop_token,
               "X-Auto-Response-Suppress": "All"}
    if p.mail.message_id:
        headers["In-Reply-To"] = p.mail.message_id
        headers["References"] = " ".join(references[-20:])
    message = OutboxMessage.create(
        ticket_id=ticket.id, kind="acknowledgement", channel=Channel.EMAIL,
        sender=channel.sender or next(iter(sorted(own)), f"helpdesk@{policy.message_id_domain}"),
        recipients=(recipient,), subject=subject, body_text=text, at=now,
        message_id=message_id, article_id=article.id, headers=headers)
    writes.outbox.append(message)
    writes.records.append(MessageRecord(message_id=message_id, ticket_id=ticket.id,
                                        direction=Direction.OUTBOUND, at=now,
                                        article_id=article.id))
    return message.id, None
