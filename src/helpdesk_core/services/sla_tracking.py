"""Keeping a ticket's SLA record and deadline in step with its history (see services.sla)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from helpdesk_core.domain.escalations import SlaRecord
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.deps import Deps
from helpdesk_core.sla import PolicySubject, SlaClocks, TargetKind, compute_clocks

__all__ = ["SLA", "refresh"]

SLA = Actor.system("sla")


def refresh(deps: Deps, uow: UnitOfWork, ticket: Ticket, *,
            history: Sequence[TicketEvent] | None = None, now: datetime | None = None,
            store: bool = True) -> SlaRecord | None:
    """Bring the ticket's SLA record and ``due_at`` up to date, inside the caller's unit.

    Call it after changing the ticket and before saving it: its unsaved events count.
    ``history`` are the stored events (default: read them; a new ticket has none). A new
    ticket is not stored yet, so its caller passes ``store=False`` and puts the returned
    record after adding the ticket.
    """
    config = deps.sla
    if config is None:
        return None
    now = now or deps.clock.now()
    stored = list(history) if history is not None else uow.tickets.history(ticket.id)
    events = [*stored, *ticket.pending_events]
    choice = config.selector.choose(PolicySubject.of(ticket))
    record = uow.sla.get(ticket.id)
    policy_name = choice.policy.name if choice else None
    reason = choice.reason if choice else "no SLA rule matches the ticket"
    if record is None or record.policy != policy_name:
        ticket.record_sla_policy(policy_name, reason=reason, at=now, actor=SLA)
    if choice is None:
        empty = SlaRecord(ticket_id=ticket.id, policy=None, reason=reason, updated_at=now)
        if store:
            uow.sla.put(empty)
        return empty
    read = compute_clocks(events, choice.policy, None, now, priority=ticket.priority)
    resolution = read.get(TargetKind.RESOLUTION)
    due = resolution.due if resolution is not None and resolution.open else None
    # A due date an agent set by hand is theirs: the SLA does not overwrite it (its clocks and
    # escalations still run). The SLA takes over again only if it set the last one.
    last_set = next((e for e in reversed(events) if e.kind is EventKind.DUE_CHANGED), None)
    by_hand = last_set is not None and last_set.actor != SLA
    if due != ticket.due_at and not by_hand:
        why = next((c.reason for c in reversed(read.changes)
                    if c.target is TargetKind.RESOLUTION), "SLA resolution target")
        ticket.set_due(due, at=now, actor=SLA, reason=f"SLA {choice.policy.name}: {why}")
    fired = {(r.target, r.cycle, r.level) for r in uow.sla.fired(ticket.id)} if record else set()
    result = SlaRecord(ticket_id=ticket.id, policy=policy_name, reason=reason,
                       updated_at=now, next_at=_next_escalation(read, fired))
    if store:
        uow.sla.put(result)
    return result


def _next_escalation(read: SlaClocks,
                     fired: set[tuple[str, int, str]]) -> datetime | None:
    """The earliest level not fired yet — in the past too, so a late sweep still fires it."""
    instants = [
        point.at
        for clock in read.clocks if clock.open
        for point in clock.escalations
        if point.at is not None
        and (clock.kind.value, clock.cycles, point.level.label) not in fired
    ]
    return min(instants, default=None)


