"""Keeping each ticket's SLA record and due date in step with its history.

An in-transaction handler: whatever changed a ticket — any channel, any command — the SLA
record (policy, next escalation instant) and ``due_at`` are rebuilt from the ticket's events
before the change commits. The sweep and the recompute command call :meth:`refresh` directly,
because a record can fall due without the ticket changing.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from helpdesk_core.domain.escalations import SlaRecord
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.ports.clock import Clock
from helpdesk_core.services.messagebus import Raised
from helpdesk_core.services.unit_of_work import Unit
from helpdesk_core.sla import (
    SLA_ACTOR,
    PolicySubject,
    SlaClocks,
    TargetKind,
    compute_clocks,
    sla_due_update,
)
from helpdesk_core.sla.config import SlaConfig

__all__ = ["SLA", "SlaTracker"]

SLA = SLA_ACTOR
# What the tracker records itself: a batch of only these, by the SLA, changes nothing.
_OWN = frozenset({EventKind.SLA_POLICY, EventKind.DUE_CHANGED})
# What the clocks and the policy choice never depend on (the handler is not subscribed).
IGNORED = frozenset({EventKind.DELIVERY})


@attrs.frozen
class _Refreshed:
    events: int  # how many unsaved events the ticket had when it was refreshed


class SlaTracker:
    """The ``sla`` in-transaction handler (and the refresh the sweep calls)."""

    def __init__(self, config: SlaConfig | None, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def __call__(self, raised: Raised, unit: Unit) -> None:
        if all(e.kind in _OWN and e.actor == SLA for e in raised.events):
            return
        done = unit.noted(raised.ticket, _Refreshed)
        if done is not None and done.events == len(raised.ticket.pending_events):
            return  # the sweep or recompute refreshed it after its last change
        self.refresh(unit, raised.ticket)

    def refresh(self, unit: Unit, ticket: Ticket, *, now: datetime | None = None) -> None:
        """Bring the ticket's SLA record and ``due_at`` up to date inside ``unit``; the
        ticket's unsaved events count."""
        config = self.config
        if config is None:
            return
        now = now or self.clock.now()
        events = [*unit.history(ticket), *ticket.pending_events]
        choice = config.selector.choose(PolicySubject.of(ticket))
        new = unit.is_new(ticket)
        record = unit.noted(ticket, SlaRecord)
        if record is None and not new:
            record = unit.sla.get(ticket.id)
        policy_name = choice.policy.name if choice else None
        reason = choice.reason if choice else "no SLA rule matches the ticket"
        if record is None or record.policy != policy_name:
            ticket.record_sla_policy(policy_name, reason=reason, at=now, actor=SLA)
        if choice is None:
            self._put(unit, ticket, SlaRecord(ticket_id=ticket.id, policy=None, reason=reason,
                                              updated_at=now))
            return
        read = compute_clocks(events, choice.policy, None, now, priority=ticket.priority)
        resolution = read.get(TargetKind.RESOLUTION)
        due = resolution.due if resolution is not None and resolution.open else None
        if sla_due_update(events, sla_due=due, current=ticket.due_at):
            why = next((c.reason for c in reversed(read.changes)
                        if c.target is TargetKind.RESOLUTION), "SLA resolution target")
            ticket.set_due(due, at=now, actor=SLA, reason=f"SLA {choice.policy.name}: {why}")
        fired = set() if new else {(r.target, r.cycle, r.level)
                                   for r in unit.sla.fired(ticket.id)}
        self._put(unit, ticket, SlaRecord(ticket_id=ticket.id, policy=policy_name,
                                          reason=reason, updated_at=now,
                                          next_at=_next_escalation(read, fired)))

    @staticmethod
    def _put(unit: Unit, ticket: Ticket, record: SlaRecord) -> None:
        unit.note(ticket, record)  # a second refresh in this unit compares with this one
        unit.note(ticket, _Refreshed(len(ticket.pending_events)))
        unit.sla.put(record)


def _next_escalation(read: SlaClocks, fired: set[tuple[str, int, str]]) -> datetime | None:
    """The earliest level not fired yet — in the past too, so a late sweep still fires it."""
    instants = [
        point.at
        for clock in read.clocks if clock.open
        for point in clock.escalations
        if point.at is not None
        and (clock.kind.value, clock.cycles, point.level.label) not in fired
    ]
    return min(instants, default=None)
