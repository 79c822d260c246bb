"""SMS in: inbound messages become articles or tickets; delivery reports update the outbox.

**Inbound SMS.** The sender's number is normalised to E.164 and looked up in the Directory. A
known sender's message is ``Ticket.customer_replied`` on their newest active ticket (it
reopens it by the same rule as a mail); otherwise it opens a new ticket on the SMS channel
(``Intake.build``, so it gets its SLA record and due date like every other channel). An
unknown but valid number gets a contact (with that phone), so that the next message finds the
same customer and ticket. A sender that is no phone number at all (``anonymous``, an
alphanumeric sender id) opens a ticket without a customer: the message is kept, and an agent
can link it. Every message is stored once: its gateway id is recorded in the Message-ID
index as ``sms:<provider id>`` in the transaction of its article, so the same SMS delivered
twice (a gateway retrying a callback) is one article.

**Delivery reports.** A report finds its outbox message by the gateway's id (or, when the
report came before the dispatcher stored that id, by the outbox reference the adapter put into
the callback URL), records the status per recipient in ``results`` and, when it says the SMS
failed, marks the message failed. A *final* report (delivered, failed, rejected, expired) is
also written on the ticket as an internal note that names the outbox message and its article:
the communication log is where agents look, and an article cannot be changed once stored.
Intermediate reports (queued, accepted by the SMSC) only update the outbox. Reports arrive
out of order and repeatedly; the first final status stays (a late "accepted by the SMSC" does
not undo "delivered"), and a repeated report changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from datetime import datetime

import attrs

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.contacts import Contact, normalize_phone
from helpdesk_core.domain.mailbox import MessageRecord
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.domain.queue import QueueSort, TicketQuery
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.ticket import Ticket, follow_merges
from helpdesk_core.domain.values import Actor, Channel, clean_line, clean_text, ensure_utc
from helpdesk_core.errors import (
    ConcurrencyError,
    DomainError,
    MergeConflict,
    NotFound,
    TicketNotFound,
    ValidationError,
)
from helpdesk_core.ports import Clock, Directory
from helpdesk_core.services.intake import Intake
from helpdesk_core.services.unit_of_work import Unit, Units
from helpdesk_core.sms.delivery import DeliveryStatus

__all__ = ["DeliveryOutcome", "SmsOutcome", "SmsOutcomeKind", "SmsService", "sms_key"]

log = logging.getLogger("helpdesk_core.sms")
SMS_GATEWAY = Actor.system("sms")
MAX_SMS_TEXT = 10_000  # 255 concatenated UCS-2 parts hold 17,085 code units; nobody sends that
_SUBJECT_LENGTH = 60
_ATTEMPTS = 3


class SmsOutcomeKind:
    """The values of ``SmsOutcome.outcome``."""

    NEW_TICKET = "new_ticket"
    REPLY = "reply"
    DUPLICATE = "duplicate"


@attrs.frozen
class SmsOutcome:
    """What became of an inbound SMS (``outcome``: new_ticket, reply or duplicate)."""

    outcome: str
    ticket_id: str
    ticket_number: str
    article_id: str | None
    customer_id: str | None = None
    sender: str | None = None  # E.164, or None when the sender is no phone number


@attrs.frozen
class DeliveryOutcome:
    """What a delivery report changed. ``matched`` is false when no outbox message has the id;
    ``note_id`` is the internal note written on the ticket (final reports only)."""

    matched: bool
    outbox_id: str | None = None
    ticket_id: str | None = None
    status: DeliveryStatus | None = None
    changed: bool = False
    note_id: str | None = None


def sms_key(provider_id: str) -> str:
    """The Message-ID index key of an inbound SMS."""
    return f"sms:{provider_id}"


# -- inbound ------------------------------------------------------------------------------


class SmsService:
    """Inbound SMS and delivery reports (``helpdesk.sms``)."""

    def __init__(self, *, units: Units, clock: Clock, directory: Directory, intake: Intake,
                 workflow: Workflow) -> None:
        self.units = units
        self.clock = clock
        self.directory = directory
        self.intake = intake
        self.workflow = workflow

    def receive(self, *, from_number: str, to_number: str, text: str, at: datetime,
                    provider_id: str, region: str = "CZ") -> SmsOutcome:
        """Store one inbound SMS; the same ``provider_id`` twice is stored once.

        ``at`` is when the gateway received it (kept in the article's meta; the article itself is
        dated by the helpdesk's clock). ``region`` decides how numbers without a country code are
        read. Raises ValidationError for an empty ``provider_id`` or a text that is not text.
        """
        provider = clean_line(provider_id, field="provider_id", max_length=200)
        key = sms_key(provider)[:255]
        # Cleaned (and a lone surrogate refused) before a contact is created for the sender.
        body = clean_text(text, field="text", max_length=sys.maxsize, required=False)
        body = body[:MAX_SMS_TEXT].rstrip() or "(empty SMS)"
        sender = _phone_or_none(from_number, region)
        recipient = _phone_or_none(to_number, region)
        meta = {"from": sender or _raw(from_number), "to": recipient or _raw(to_number),
                "provider_id": provider, "received_at": ensure_utc(at).isoformat(),
                "kind": "sms"}
        with self.units(read_only=True) as unit:
            repeat = _repeat(unit, key)
        if repeat is not None:
            return repeat
        customer = self._customer(sender)
        for attempt in range(_ATTEMPTS):
            try:
                return self._store(key, body, meta, sender, customer)
            except ConcurrencyError:
                if attempt == _ATTEMPTS - 1:
                    raise
                log.info("ticket changed while storing SMS %s; trying again", provider)
        raise AssertionError("unreachable")  # pragma: no cover

    def _customer(self, sender: str | None) -> Contact | None:
        """The sender's contact; a valid unknown number becomes one (its phone set)."""
        if sender is None:
            return None
        found = self.directory.customer_by_phone(sender)
        if found is not None:
            return found
        return self.directory.create_customer(name="", phone=sender)

    def _store(self, key: str, body: str, meta: dict[str, str], sender: str | None,
               customer: Contact | None) -> SmsOutcome:
        now = self.clock.now()
        with self.units() as unit:
            repeat = _repeat(unit, key)
            if repeat is not None:
                return repeat
            author = Actor.customer(customer.id if customer else None,
                                    (customer.name if customer else "") or (sender or meta["from"]))
            ticket = _newest_active(unit, customer) if customer is not None else None
            if ticket is not None:
                article = ticket.customer_replied(
                    channel=Channel.SMS, author=author, body_text=body, at=now,
                    workflow=self.workflow, reopened_by=SMS_GATEWAY, external_id=key,
                    meta=meta)
                outcome, article_id = SmsOutcomeKind.REPLY, article.id
            else:
                ticket = self.intake.build(
                    unit, subject=_subject(body, meta["from"]), body=body,
                    channel=Channel.SMS, actor=author, direction=Direction.INBOUND,
                    customer=customer, links=[],
                    data={"sms_from": meta["from"], "sms_to": meta["to"]},
                    article={"external_id": key, "meta": meta},
                )
                outcome, article_id = SmsOutcomeKind.NEW_TICKET, ticket.pending_articles[0].id
            unit.messages.add(MessageRecord(
                message_id=key, ticket_id=ticket.id, direction=Direction.INBOUND, at=now,
                article_id=article_id, fingerprint=hashlib.sha256(key.encode()).hexdigest()))
            unit.commit()
        return SmsOutcome(outcome, ticket.id, ticket.number, article_id,
                          customer.id if customer else None, sender)

    # -- delivery reports ---------------------------------------------------------------------

    def delivery_report(self, *, provider_id: str, status: DeliveryStatus | str,
                        at: datetime, detail: str = "", reference: str | None = None,
                        recipient: str | None = None) -> DeliveryOutcome:
        """Record a gateway's report about a sent SMS.

        ``reference`` is the outbox id the adapter sent along (found by it when no message has the
        ``provider_id`` yet); ``recipient`` the number the report is about (the message's only
        recipient when not given). An unknown id is not an error: ``matched`` is false.
        """
        state = status if isinstance(status, DeliveryStatus) else _status(status)
        provider = clean_line(provider_id, field="provider_id", max_length=200)
        when = ensure_utc(at)
        detail = " ".join(str(detail or "").split())[:500]
        for attempt in range(_ATTEMPTS):
            try:
                return self._report(provider, state, when, detail, reference, recipient)
            except ConcurrencyError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _report(self, provider: str, status: DeliveryStatus, at: datetime, detail: str,
                reference: str | None, recipient: str | None) -> DeliveryOutcome:
        with self.units() as unit:
            message = _find(unit, provider, reference)
            if message is None:
                log.info("delivery report for unknown SMS %s (%s)", provider, status.value)
                return DeliveryOutcome(matched=False, status=status)
            number = _recipient(message, recipient)
            previous = message.results.get(number, "")
            previous_status = _stored_status(previous)
            if previous_status is not None and (previous_status is status
                                                or previous_status.final):
                return DeliveryOutcome(matched=True, outbox_id=message.id,
                                       ticket_id=message.ticket_id, status=status)
            result = status.value + (f": {detail}" if detail and status.failure else "")
            changes: dict[str, object] = {"results": {**message.results, number: result}}
            if message.provider_id is None:
                changes["provider_id"] = provider
            if status.failure:
                changes.update(state=OutboxState.FAILED,
                               last_error=f"{number}: {result}"[:2000])
            updated = attrs.evolve(message, **changes)  # type: ignore[arg-type]
            if status.success and message.state in (
                    OutboxState.SENDING, OutboxState.UNCERTAIN, OutboxState.PENDING):
                # Delivered: an earlier error (an uncertain handover) is cleared.
                updated = updated.settled(OutboxState.SENT, sent_at=message.sent_at or at)
            unit.outbox.update(updated)
            note_id = None
            if status.final:
                ticket = _ticket(unit, message.ticket_id)
                if ticket is not None:
                    note_id = _note(ticket, message, number, status, detail, provider,
                                    self.clock.now())
            unit.commit()
        return DeliveryOutcome(matched=True, outbox_id=message.id, ticket_id=message.ticket_id,
                               status=status, changed=True, note_id=note_id)


def _raw(value: object) -> str:
    return value.strip()[:64] if isinstance(value, str) else ""


def _phone_or_none(value: object, region: str) -> str | None:
    """E.164, or None for what is no valid phone number (``anonymous``, a short code)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize_phone(value.strip(), region=region)
    except ValidationError:
        return None


def _repeat(unit: Unit, key: str) -> SmsOutcome | None:
    for record in unit.messages.find([key]):
        try:
            ticket = unit.tickets.get(record.ticket_id)
        except TicketNotFound:
            continue
        return SmsOutcome(SmsOutcomeKind.DUPLICATE, ticket.id, ticket.number,
                          record.article_id, ticket.customer_id)
    return None


def _newest_active(unit: Unit, customer: Contact) -> Ticket | None:
    page = unit.tickets.query(TicketQuery.active(customer_id=customer.id,
                                                 sort=QueueSort.NEWEST, limit=1))
    return unit.tickets.get(page.items[0].id) if page.items else None


def _subject(body: str, sender: str) -> str:
    first = " ".join(body.split())
    if len(first) > _SUBJECT_LENGTH:
        first = first[: _SUBJECT_LENGTH - 1].rstrip() + "…"
    return first or f"SMS from {sender or 'an unknown sender'}"


def _status(value: str) -> DeliveryStatus:
    try:
        return DeliveryStatus(str(value).strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in DeliveryStatus)
        raise ValidationError(f"unknown delivery status {value!r} (known: {known})",
                              field="status") from None


def _find(unit: Unit, provider: str, reference: str | None) -> OutboxMessage | None:
    found = unit.outbox.find(provider_id=provider, limit=1)
    if found:
        return found[0]
    if not reference:
        return None
    try:
        message = unit.outbox.get(reference)
    except NotFound:
        return None
    if message.channel is not Channel.SMS or message.provider_id not in (None, provider):
        return None
    return message


def _stored_status(result: str) -> DeliveryStatus | None:
    try:
        return DeliveryStatus(result.split(":", 1)[0])
    except ValueError:
        return None  # "sent", "refused: ..." from the dispatcher, or nothing yet


def _recipient(message: OutboxMessage, recipient: str | None) -> str:
    if recipient:
        for number in message.recipients:
            if number == recipient or number == _phone_or_none(recipient, "CZ"):
                return number
    return message.recipients[0] if message.recipients else (recipient or "?")


def _ticket(unit: Unit, ticket_id: str) -> Ticket | None:
    """The ticket the message's ticket lives on now; None if there is none to note on."""
    try:
        return follow_merges(unit.tickets.get(ticket_id), unit.tickets.get)
    except (TicketNotFound, MergeConflict):
        return None


_WORDS = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.FAILED: "not delivered",
    DeliveryStatus.REJECTED: "refused by the operator",
    DeliveryStatus.EXPIRED: "not delivered in time (expired)",
}


def _note(ticket: Ticket, message: OutboxMessage, number: str, status: DeliveryStatus,
          detail: str, provider: str, now: datetime) -> str | None:
    text = f"SMS to {number} {_WORDS.get(status, status.value)}"
    text += f": {detail}" if detail and status.failure else "."
    meta = {"kind": "delivery_report", "status": status.value, "recipient": number,
            "outbox_id": message.id, "provider_id": provider,
            **({"article_id": message.article_id} if message.article_id else {}),
            **({"detail": detail} if detail else {})}
    try:
        note = ticket.add_article(direction=Direction.INTERNAL, channel=Channel.SMS,
                                  author=SMS_GATEWAY, body_text=text, at=now, meta=meta)
    except DomainError:
        return None
    return note.id
