"""What a storage adapter's tests use to check an erasure: a customer with a realistic
history, the statistics an erasure must keep, and a scan of stored values for what it must
remove.

An adapter's test builds the history on a helpdesk of its own, erases the customer, then
reads every stored value its way (every text, JSON and binary column of every table) and
asserts that :func:`leaks` finds nothing and :func:`statistics` is unchanged::

    person = build_history(helpdesk)
    before = statistics(helpdesk)
    helpdesk.privacy.erase(person.contact_id, actor=ADMIN, reason="request 2026-17")
    assert leaks(all_stored_values(), person) == []
    assert statistics(helpdesk) == before
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import attrs

from helpdesk_core.domain.privacy import _plain
from helpdesk_core.domain.queue import MAX_LIMIT, TicketQuery
from helpdesk_core.domain.values import Actor
from helpdesk_core.testing.inbox import MemoryInbox

__all__ = ["ADMIN", "EVA", "Person", "build_history", "leaks", "statistics"]

EVA = Actor.agent("eva", "Eva Agentová")
ADMIN = Actor.agent("admin", "Alois Admin")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@attrs.frozen
class Person:
    """The customer whose data is erased, and every form in which it was written."""

    contact_id: str
    terms: tuple[str, ...]  # name, addresses, numbers (E.164 and as typed)
    ticket_numbers: tuple[str, ...]


NAME = "Jana Nováková"
EMAIL = "Jana.Novakova@Example.cz"
HOME = "jana.home@example.net"
PHONE_TYPED = "+420 601 234 567"
PHONE = "+420601234567"
NATIONAL = "601 234 567"


def _mail(*, sender: str, subject: str, body: str, message_id: str, cc: str | None = None,
          in_reply_to: str | None = None,
          attachment: tuple[str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@shop.example"
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(T0)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(attachment[1], maintype="application", subtype="pdf",
                           filename=attachment[0])
    return bytes(msg)


def build_history(desk: Any) -> Person:
    """Jana's history on ``desk`` (a Helpdesk with the built-in directory and a mail channel
    ``default``): a web-form ticket, a mail fetched from a mailbox (staged, then parsed) with
    a file named after her, her reply with Cc, an SMS, an agent's reply with Cc to her other
    address, the web-form ticket merged into the mail ticket, and another customer's mail
    with her in Cc."""
    web = desk.tickets.open_from_web_form({
        "email": EMAIL, "name": NAME, "subject": f"Kettle order of {NAME}",
        "message": f"Hello, this is {NAME}, call me on {PHONE_TYPED} or {NATIONAL}."})
    contact_id = web.customer_id
    with desk.storage.unit_of_work() as uow:
        contact = uow.contacts.get(contact_id)
        uow.contacts.update(attrs.evolve(contact, emails=(*contact.emails, HOME),
                                         phones=(PHONE_TYPED,)))
        uow.commit()
    inbox = MemoryInbox("support")
    inbox.deliver(_mail(
        sender=f"{NAME} <{EMAIL}>", subject="Broken kettle", message_id="<k1@example.cz>",
        body=f"The kettle broke.\n--\n{NAME}\n{PHONE_TYPED}",
        attachment=(f"{NAME} invoice.pdf", b"%PDF-1.4 invoice for " + NAME.encode())))
    desk.mail.fetch(inbox, channel=desk.mail.channel("default"))
    [mail_ticket] = [t for t in _all_tickets(desk)
                     if t.customer_id == contact_id and t.id != web.id]
    desk.mail.receive(_mail(
        sender=f"{NAME} <{EMAIL}>", subject="Re: Broken kettle", message_id="<k2@example.cz>",
        in_reply_to="<k1@example.cz>", cc="Petr Svoboda <petr@example.cz>",
        body=f"Any news? My husband Petr is in Cc.\n{NAME}, {PHONE}"), channel="default")
    desk.sms.receive(from_number=PHONE_TYPED, to_number="+420700000000",
                     text=f"{NAME} here: please call {NATIONAL}", at=T0,
                     provider_id="sms-1")
    desk.tickets.reply(mail_ticket.number, f"Dear {NAME}, a new kettle is on its way.",
                       agent=EVA, cc=[HOME])
    desk.tickets.merge(mail_ticket.number, [web.number], actor=EVA, reason="same kettle")
    desk.mail.receive(_mail(
        sender="Petr Svoboda <petr@example.cz>", subject="Our kettle",
        message_id="<p1@example.cz>", cc=f"{NAME} <{EMAIL}>",
        body="My wife Jana Nováková wrote to you too."), channel="default")
    numbers = tuple(t.number for t in _all_tickets(desk))
    return Person(contact_id=contact_id, ticket_numbers=numbers,
                  terms=(NAME, EMAIL.casefold(), HOME, PHONE, PHONE_TYPED, NATIONAL))


def _all_tickets(desk: Any) -> list[Any]:
    found: list[Any] = []
    cursor = None
    while True:
        with desk.storage.unit_of_work(read_only=True) as uow:
            page = uow.tickets.query(TicketQuery(limit=MAX_LIMIT, sort="newest", after=cursor))
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            return found


def statistics(desk: Any) -> dict[str, Any]:
    """What reports count: tickets by status, channel and priority, their created, updated
    and closed times, articles by direction and channel with their times, SLA records."""
    tickets = _all_tickets(desk)
    stats: dict[str, Any] = {
        "tickets": len(tickets),
        "by_status": collections.Counter(t.status for t in tickets),
        "by_channel": collections.Counter(t.channel.value for t in tickets),
        "by_priority": collections.Counter(t.priority.value for t in tickets),
        "times": sorted((t.number, t.created_at, t.updated_at) for t in tickets),
    }
    articles: collections.Counter[tuple[str, str]] = collections.Counter()
    article_times = []
    sla = []
    with desk.storage.unit_of_work(read_only=True) as uow:
        for ticket in tickets:
            for article in uow.tickets.articles(ticket.id):
                articles[(article.direction.value, article.channel.value)] += 1
                article_times.append((ticket.number, article.created_at))
            sla.append((ticket.number, uow.sla.get(ticket.id), uow.sla.fired(ticket.id)))
    stats["articles"] = articles
    stats["article_times"] = sorted(article_times)
    stats["sla"] = sorted(sla, key=lambda row: row[0])
    return stats


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        yield data.decode("utf-8", "replace")
        yield data.decode("latin-1")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _texts(item)
    elif attrs.has(type(value)):
        yield from _texts(_plain(value))


def leaks(values: Iterable[Any], person: Person) -> list[str]:
    """The stored texts (or bytes, read as text) that contain one of ``person``'s terms,
    compared without letter case; each cut to 200 characters."""
    terms = [t.casefold() for t in person.terms]
    found = []
    for value in values:
        for text in _texts(value):
            folded = text.casefold()
            if any(term in folded for term in terms):
                found.append(text[:200])
    return found
