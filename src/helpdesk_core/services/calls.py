"""Phone calls: the screen pop while it rings, the call article afterwards, missed calls.

The services keep no state of their own. A webhook adapter turns a provider's requests into
:class:`~helpdesk_core.ports.messaging.CallEvent` values and keeps the events of the calls in
progress; from them it builds a :class:`~helpdesk_core.telephony.Call` and hands it in here once
the call has ended. Each recorded call is remembered under ``call:<provider call id>`` — as the
article's external id and in the Message-ID index — in the transaction that writes the article,
so a replayed webhook records nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.article import Article, Direction
from helpdesk_core.domain.contacts import Contact, Order, Organisation
from helpdesk_core.domain.mailbox import MessageRecord
from helpdesk_core.domain.queue import QueueSort, TicketQuery, Visibility
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import StorageError, ValidationError
from helpdesk_core.ports import Clock, Directory
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.services.intake import Intake
from helpdesk_core.services.unit_of_work import Unit, Units
from helpdesk_core.telephony.calls import Call, CallOutcome, call_key
from helpdesk_core.telephony.numbers import caller_number

__all__ = [
    "CALLBACK_TAG",
    "TELEPHONY",
    "CallRecord",
    "Calls",
    "OpenTicket",
    "ScreenPop",
]

CALLBACK_TAG = "callback"
TELEPHONY = Actor.system("telephony")
OPEN_TICKETS = 10
RECENT_ORDERS = 5
# what a write step produced: the ticket, the article, whether both are new, on a callback
_Written = tuple[Ticket, Article, bool, bool]


@attrs.frozen
class OpenTicket:
    """A line of the screen pop: one of the caller's tickets still being worked on."""

    id: str
    number: str
    subject: str
    status: str
    priority: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, ticket: Ticket) -> OpenTicket:
        return cls(id=ticket.id, number=ticket.number, subject=ticket.subject,
                   status=ticket.status, priority=ticket.priority.value,
                   assignee=ticket.assignee, created_at=ticket.created_at,
                   updated_at=ticket.updated_at)


@attrs.frozen
class ScreenPop:
    """What the agent sees while the phone rings. ``number`` is None for a withheld number;
    ``contact`` is None for a number nobody in the directory has."""

    provider_call_id: str
    direction: str
    number: str | None
    agent: str | None
    contact: Contact | None
    organisation: Organisation | None
    open_tickets: tuple[OpenTicket, ...]
    recent_orders: tuple[Order, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data for an agent's screen."""
        contact, org = self.contact, self.organisation
        return {
            "provider_call_id": self.provider_call_id,
            "direction": self.direction,
            "number": self.number,
            "agent": self.agent,
            "contact": None if contact is None else {
                "id": contact.id, "name": contact.name, "emails": list(contact.emails),
                "phones": list(contact.phones), "language": contact.language,
                "organisation_id": contact.organisation_id,
                "account_owner": contact.account_owner,
            },
            "organisation": None if org is None else {
                "id": org.id, "name": org.name, "account_owner": org.account_owner,
            },
            "open_tickets": [
                {"id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
                 "priority": t.priority, "assignee": t.assignee,
                 "created_at": t.created_at.isoformat(), "updated_at": t.updated_at.isoformat()}
                for t in self.open_tickets
            ],
            "recent_orders": [
                {"number": o.number, "ref": str(o.ref), "summary": o.summary,
                 "placed_at": o.placed_at.isoformat() if o.placed_at else None}
                for o in self.recent_orders
            ],
        }


@attrs.frozen
class CallRecord:
    """Where a call was recorded. ``new`` is False when it had been recorded before (a replay);
    ``callback`` is True when the article is on a callback ticket."""

    ticket_id: str
    ticket_number: str
    article: Article
    new: bool
    callback: bool = False


class Calls:
    """Screen pops and call records (``helpdesk.calls``)."""

    def __init__(self, *, units: Units, clock: Clock, directory: Directory,
                 intake: Intake) -> None:
        self.units = units
        self.clock = clock
        self.directory = directory
        self.intake = intake

    def screen_pop(self, event: CallEvent, *,
                   visible_to: Visibility | None = None) -> ScreenPop:
        """The caller's contact, organisation, open tickets (newest first) and recent orders.
        ``visible_to``: only the tickets an agent limited to their teams sees."""
        raw = event.from_number if event.direction == "inbound" else event.to_number
        number = caller_number(raw) if raw else None
        contact = self.directory.customer_by_phone(number) if number else None
        organisation = None
        tickets: tuple[OpenTicket, ...] = ()
        orders: tuple[Order, ...] = ()
        if contact is not None:
            if contact.organisation_id:
                organisation = self.directory.organisation(contact.organisation_id)
            with self.units(read_only=True) as unit:
                page = unit.tickets.query(TicketQuery.active(
                    customer_id=contact.id, sort=QueueSort.NEWEST, limit=OPEN_TICKETS,
                    visible_to=visible_to))
            tickets = tuple(OpenTicket.of(t) for t in page.items)
            orders = tuple(self.directory.recent_orders(contact.id, limit=RECENT_ORDERS))
        return ScreenPop(provider_call_id=event.provider_call_id, direction=event.direction,
                         number=number, agent=event.agent, contact=contact,
                         organisation=organisation, open_tickets=tickets, recent_orders=orders)

    def record(self, *, call: Call, agent: Actor, summary: str,
                    ticket_key: str | None = None, subject: str | None = None) -> CallRecord:
        """Store what was agreed on the phone as a call article.

        The article (channel phone, inbound or outbound as the call was, written by ``agent``)
        goes on the ticket ``ticket_key`` (id or number), or on a new ticket of the caller. A call
        recorded before is not recorded again: its first record is returned with ``new=False``.
        """
        if not call.finished or call.outcome is not CallOutcome.ANSWERED:
            raise ValidationError("only a call that was answered and has ended has a summary",
                                  field="call")
        direction = Direction.INBOUND if call.inbound else Direction.OUTBOUND
        customer = self._customer(call)
        article = _article(call, subject=subject or _subject(call, customer))
        article["external_id"] = call_key(call.provider_call_id)

        def write(unit: Unit) -> _Written:
            if ticket_key is not None:
                ticket = unit.tickets.live(ticket_key)
                added = ticket.add_article(direction=direction, channel=Channel.PHONE,
                                           author=agent, body_text=summary, at=self.clock.now(),
                                           **article)
                return ticket, added, False, False
            ticket = self.intake.build(
                unit, subject=article["subject"], body=summary, channel=Channel.PHONE,
                actor=agent, direction=direction, customer=customer, links=[], data=_data(call),
                article={k: v for k, v in article.items() if k != "subject"})
            return ticket, ticket.pending_articles[0], True, False

        recorded = self._record(call, direction, write)
        assert recorded is not None  # a new ticket is opened when no ticket is named
        return recorded

    def record_missed(self, call: Call, *, callback_ticket: bool = True,
                      ticket_key: str | None = None) -> CallRecord | None:
        """Record a call that was missed or did not connect, as an internal note.

        The note goes on ``ticket_key`` if given. Otherwise, for an inbound call from a known
        customer with ``callback_ticket``, on the customer's open callback ticket (tag
        ``callback``) or a new one; for other calls of a known customer, on their newest open
        ticket. A call from a withheld or unknown number, with nowhere to go, is not recorded and
        None is returned. Recording is idempotent by the provider's call id.
        """
        if not call.finished or call.outcome is CallOutcome.ANSWERED:
            raise ValidationError("only a call that ended without an answer is a missed call",
                                  field="call")
        customer = self._customer(call)
        body = _missed_text(call, customer)
        article = _article(call, subject=_subject(call, customer))
        article["external_id"] = call_key(call.provider_call_id)
        wants_callback = callback_ticket and call.inbound and customer is not None

        def write(unit: Unit) -> _Written | None:
            now = self.clock.now()
            target = None
            if ticket_key is not None:
                target = unit.tickets.live(ticket_key)
            elif customer is not None:
                target = _newest_active(unit, customer,
                                        tag=CALLBACK_TAG if wants_callback else None)
            if target is not None:
                added = target.add_article(direction=Direction.INTERNAL, channel=Channel.PHONE,
                                           author=TELEPHONY, body_text=body, at=now, **article)
                return target, added, False, wants_callback and CALLBACK_TAG in target.tags
            if not wants_callback:
                return None
            name = customer.name if customer is not None else ""
            ticket = self.intake.build(
                unit, subject=f"Call back {name or call.customer_number}", body=body,
                channel=Channel.PHONE, actor=TELEPHONY, direction=Direction.INTERNAL,
                customer=customer, links=[], tags=[CALLBACK_TAG], data=_data(call),
                article={k: v for k, v in article.items() if k != "subject"})
            return ticket, ticket.pending_articles[0], True, True

        return self._record(call, Direction.INBOUND if call.inbound else Direction.OUTBOUND, write)

    def find_recorded(self, provider_call_id: str) -> CallRecord | None:
        """Where the call was recorded, or None if it was not (yet)."""
        with self.units(read_only=True) as unit:
            return _earlier(unit, call_key(provider_call_id))

    # -- steps ---------------------------------------------------------------------------------

    def _record(self, call: Call, direction: Direction,
                write: Callable[[Unit], _Written | None]) -> CallRecord | None:
        """Run ``write`` in one unit of work unless the call was recorded before, and commit."""
        key = call_key(call.provider_call_id)
        try:
            with self.units() as unit:
                earlier = _earlier(unit, key)
                if earlier is not None:
                    return earlier
                written = write(unit)
                if written is None:
                    return None
                ticket, article, _new_ticket, callback = written
                unit.messages.add(MessageRecord(message_id=key, ticket_id=ticket.id,
                                                direction=direction, at=self.clock.now(),
                                                article_id=article.id))
                unit.commit()
        except StorageError:
            # The same call recorded concurrently: the other transaction's record stands.
            with self.units(read_only=True) as unit:
                earlier = _earlier(unit, key)
            if earlier is None:
                raise
            return earlier
        return CallRecord(ticket_id=ticket.id, ticket_number=ticket.number, article=article,
                          new=True, callback=callback)

    def _customer(self, call: Call) -> Contact | None:
        number = caller_number(call.customer_number) if call.customer_number else None
        return self.directory.customer_by_phone(number) if number else None


def _earlier(unit: Unit, key: str) -> CallRecord | None:
    for record in unit.messages.find([key]):
        ticket = unit.tickets.get(record.ticket_id)
        article = next((a for a in unit.tickets.articles(ticket.id)
                        if a.id == record.article_id), None)
        if article is not None:
            return CallRecord(ticket_id=ticket.id, ticket_number=ticket.number,
                              article=article, new=False,
                              callback=CALLBACK_TAG in ticket.tags
                              and article.direction is Direction.INTERNAL)
    return None


def _newest_active(unit: Unit, customer: Contact, *, tag: str | None) -> Ticket | None:
    page = unit.tickets.query(TicketQuery.active(
        customer_id=customer.id, sort=QueueSort.NEWEST, limit=1,
        tags=frozenset({tag}) if tag else frozenset()))
    return unit.tickets.get(page.items[0].id) if page.items else None


def _subject(call: Call, customer: Contact | None) -> str:
    who = call.customer_number or "a withheld number"
    if customer is not None and customer.name:
        who = f"{customer.name} ({who})"
    if not call.inbound:
        return f"Call to {who}"
    if call.outcome is CallOutcome.MISSED:
        return f"Missed call from {who}"
    return f"Call from {who}"


def _missed_text(call: Call, customer: Contact | None) -> str:
    who = call.customer_number or "a withheld number"
    if customer is not None and customer.name:
        who = f"{customer.name}, {who}"
    at = f"{call.started_at:%Y-%m-%d %H:%M} UTC"
    rang = int(call.ring_time.total_seconds())
    if call.inbound and call.outcome is CallOutcome.MISSED:
        return f"Missed call from {who} at {at}; it rang for {rang} s and nobody answered."
    if call.inbound:
        return f"Call from {who} at {at} did not connect."
    return f"Call to {who} at {at} did not connect (after {rang} s)."


def _article(call: Call, *, subject: str) -> dict[str, Any]:
    meta = {
        "kind": "call",
        "provider_call_id": call.provider_call_id,
        "direction": call.direction,
        "from": call.from_number or "",
        "to": call.to_number or "",
        "agent": call.agent or "",
        "outcome": call.outcome.value if call.outcome else "",
        "started_at": call.started_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else "",
        "ended_at": call.ended_at.isoformat() if call.ended_at else "",
        "duration_seconds": str(int(call.duration.total_seconds())),
    }
    return {"subject": subject, "meta": meta}


def _data(call: Call) -> dict[str, Any]:
    return {"provider_call_id": call.provider_call_id}
