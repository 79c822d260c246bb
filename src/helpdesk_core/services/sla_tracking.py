"""Keeping each ticket's SLA record and due date in step with its history.

An in-transaction handler: whatever changed a ticket — any channel, any command — the SLA
record (policy, next escalation instant) and ``due_at`` are rebuilt from the ticket's events
before the change commits. The sweep and the recompute command call :meth:`refresh` directly,
because a record can fall due without the ticket changing. A merged ticket keeps its
``due_at`` (it refuses changes; nothing of it is open, so its record has no next instant);
once the merge is undone the SLA sets it again.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from helpdesk_core.domain.escalations import SlaRecord
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.ports.clock import Clock
from helpdesk_core.services.messagebus import Raised
from helpdesk_core.services.unit_of_work import Unit
from helpdesk_core.sla import (
    SLA_ACTOR,
    PolicySubject,
    SlaClocks,
    SlaTerms,
    TargetKind,
    compute_clocks,
    due_reason,
    sla_due_update,
)
from helpdesk_core.sla.config import SlaConfig

__all__ = ["SLA", "SlaTracker"]

SLA = SLA_ACTOR
# What the tracker records itself: a batch of only these, by the SLA, changes nothing.
_OWN = frozenset({EventKind.SLA_POLICY, EventKind.DUE_CHANGED})
# What the clocks and the policy choice never depend on (the handler is not subscribed).
IGNORED = frozenset({EventKind.DELIVERY, EventKind.CC_RECORDED})


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
        ticket's unsaved events count. A moved deadline says what moved it: another policy,
        its targets or its calendar (compared with the record), else the new event."""
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
        policy = choice.policy if choice else None
        terms = SlaTerms.of(policy)
        reason = choice.reason if choice else "no SLA rule matches the ticket"
        if record is None or record.policy != terms.policy:
            ticket.record_sla_policy(terms.policy, old=record.policy if record else None,
                                     reason=reason, at=now, actor=SLA)
        read = None if policy is None else compute_clocks(events, policy, None, now,
                                                          priority=ticket.priority)
        resolution = None if read is None else read.get(TargetKind.RESOLUTION)
        due = resolution.due if resolution is not None and resolution.open else None
        # A merged ticket refuses every change: its due date is the merge's to keep or clear.
        merged = ticket.status_category is StatusCategory.MERGED
        if not merged and sla_due_update(events, sla_due=due, current=ticket.due_at):
            # A new ticket has nothing to compare with; one without a record had no policy.
            before = None if new and record is None else _terms(record)
            why = due_reason(terms, before, read, since_seq=min(
                (e.seq for e in ticket.pending_events), default=None))
            ticket.set_due(due, at=now, actor=SLA,
                           reason=f"SLA {policy.name}: {why}" if policy else f"SLA: {why}")
        fired = set() if new or read is None else {(r.target, r.cycle, r.level)
                                                   for r in unit.sla.fired(ticket.id)}
        self._put(unit, ticket, SlaRecord(
            ticket_id=ticket.id, policy=terms.policy, reason=reason, updated_at=now,
            next_at=None if read is None else _next_escalation(read, fired),
            targets_digest=terms.targets, calendar_digest=terms.calendar))

    @staticmethod
    def _put(unit: Unit, ticket: Ticket, record: SlaRecord) -> None:
        unit.note(ticket, record)  # a second refresh in this unit compares with this one
        unit.note(ticket, _Refreshed(len(ticket.pending_events)))
        unit.sla.put(record)


def _terms(record: SlaRecord | None) -> SlaTerms:
    """The terms a ticket's deadlines were last computed from; none without a record."""
    if record is None:
        return SlaTerms()
    return SlaTerms(record.policy, record.targets_digest, record.calendar_digest)


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
