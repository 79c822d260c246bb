"""Helpers that make domain objects for tests with little typing."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, Priority
from helpdesk_core.ports.storage import Storage

__all__ = ["AGENT", "T0", "open_ticket", "store_tickets"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor.agent("agent-1", "Alice Agent")
_counter = itertools.count(1)


def open_ticket(*, seq: int | None = None, at: datetime = T0, **kwargs: Any) -> Ticket:
    """A new ticket with a unique number; keyword arguments go to :meth:`Ticket.open`."""
    number = TicketNumberFormat().render(seq=seq or next(_counter), created_at=at)
    kwargs.setdefault("subject", f"Request {number}")
    kwargs.setdefault("channel", Channel.WEB_FORM)
    kwargs.setdefault("actor", Actor.system())
    kwargs.setdefault("priority", Priority.NORMAL)
    return Ticket.open(number=number, at=at, **kwargs)


def store_tickets(storage: Storage, tickets: Iterable[Ticket]) -> list[Ticket]:
    """Add and commit tickets in one unit of work; returns them with their new version."""
    stored = list(tickets)
    with storage.unit_of_work() as uow:
        for ticket in stored:
            uow.tickets.add(ticket)
        uow.commit()
    return stored


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
