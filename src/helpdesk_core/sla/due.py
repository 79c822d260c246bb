"""Who owns a ticket's due date: the SLA, or the agent who set one by hand.

The SLA moves ``due_at`` with its resolution target. A due date an agent set by hand is
theirs: the SLA does not overwrite it (its clocks and escalations still run). The SLA takes
over again only once it set the last due date itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.values import Actor

__all__ = ["SLA_ACTOR", "due_set_by_hand", "sla_due_update"]

SLA_ACTOR = Actor.system("sla")


def due_set_by_hand(events: Iterable[TicketEvent]) -> bool:
    """Whether the last due-date change in ``events`` was made by someone but the SLA."""
    last = None
    for event in events:
        if event.kind is EventKind.DUE_CHANGED:
            last = event
    return last is not None and last.actor != SLA_ACTOR


def sla_due_update(events: Iterable[TicketEvent], *, sla_due: datetime | None,
                   current: datetime | None) -> bool:
    """Whether the SLA should set the due date to ``sla_due`` now."""
    return sla_due != current and not due_set_by_hand(events)
