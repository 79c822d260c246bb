"""The load → change → save → commit → publish cycle every changing use case follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.errors import ConcurrencyError, TicketNotFound
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.sla_tracking import refresh as refresh_sla

__all__ = ["change_ticket", "load_ticket", "publish"]

R = TypeVar("R")


def load_ticket(uow: UnitOfWork, key: str) -> Ticket:
    """By id or by human-facing number."""
    try:
        return uow.tickets.get(key)
    except TicketNotFound:
        return uow.tickets.get_by_number(key)


def change_ticket(
    deps: Deps,
    key: str,
    change: Callable[[Ticket], R],
    *,
    expected_version: int | None = None,
    within: Callable[[UnitOfWork, Ticket], Callable[[UnitOfWork], None] | None] | None = None,
) -> tuple[Ticket, R]:
    """Apply ``change`` to the ticket in one transaction and publish the resulting events.

    ``expected_version`` is the version the caller's view was built from (an agent's open
    form); if the ticket moved on since, ConcurrencyError is raised before anything changes.
    ``within`` runs after the change inside the same unit (it may change the ticket further);
    what it returns runs after the ticket was saved, for rows that refer to it.
    """
    with deps.storage.unit_of_work() as uow:
        ticket = load_ticket(uow, key)
        if expected_version is not None and ticket.version != expected_version:
            raise ConcurrencyError(
                f"ticket {ticket.number} is at version {ticket.version}, not {expected_version}"
            )
        result = change(ticket)
        after = within(uow, ticket) if within is not None else None
        refresh_sla(deps, uow, ticket)
        events = list(ticket.pending_events)
        uow.tickets.save(ticket)
        if after is not None:
            after(uow)
        uow.commit()
    publish(deps, ticket, events)
    return ticket, result


def publish(deps: Deps, ticket: Ticket, events: list[TicketEvent]) -> None:
    """Tell plugins what was committed (the hook caller hands each listener a copy)."""
    for event in events:
        deps.hooks.ticket_event(event, ticket)
