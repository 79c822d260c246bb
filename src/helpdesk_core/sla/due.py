"""Who owns a ticket's due date: the SLA, or the agent who set one by hand; and why the SLA
moves it.

The SLA moves ``due_at`` with its resolution target. A due date an agent set by hand is
theirs: the SLA does not overwrite it (its clocks and escalations still run). The SLA takes
over again only once it set the last due date itself.

Each move says what moved it (:func:`due_reason`): what changed in the policy's terms since
the ticket's deadlines were last computed (another policy, other targets, another calendar),
else the new event that moved the resolution deadline (``paused: waiting on customer``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.values import Actor
from helpdesk_core.sla.clock import SlaClocks
from helpdesk_core.sla.policy import SlaTerms, TargetKind

__all__ = ["RECOMPUTED", "SLA_ACTOR", "due_reason", "due_set_by_hand", "sla_due_update"]

SLA_ACTOR = Actor.system("sla")
# The reason when neither the terms nor a new event explain a move: the stored record did not
# keep the terms, or something outside the configuration changed (public holiday data).
RECOMPUTED = "recomputed: the policy, its calendar or the public holidays changed"


def due_set_by_hand(events: Iterable[TicketEvent]) -> bool:
    """Whether the last due-date change in ``events`` was made by someone but the SLA. The
    due date a merge clears (the change right before the status change into ``merged``) was
    not set by hand: once the merge is undone, the SLA owns the due date as it did before."""
    ordered = list(events)
    changes = [event for event, after in zip(ordered, [*ordered[1:], None], strict=True)
               if event.kind is EventKind.DUE_CHANGED and not _into_merged(after)]
    return bool(changes) and changes[-1].actor != SLA_ACTOR


def _into_merged(event: TicketEvent | None) -> bool:
    return event is not None and event.kind is EventKind.STATUS_CHANGED and (
        event.data.get("to_category") == "merged" or event.new == "merged")


def sla_due_update(events: Iterable[TicketEvent], *, sla_due: datetime | None,
                   current: datetime | None) -> bool:
    """Whether the SLA should set the due date to ``sla_due`` now."""
    return sla_due != current and not due_set_by_hand(events)


def due_reason(terms: SlaTerms, before: SlaTerms | None, clocks: SlaClocks | None, *,
               since_seq: int | None) -> str:
    """Why the SLA moves a ticket's due date now, in words.

    ``terms`` are the ones the new due date comes from, ``before`` those the ticket's deadlines
    were last computed from (None for a new ticket: nothing to compare). ``clocks`` are read
    under ``terms`` (None: no policy); ``since_seq`` is the first event not yet seen (None:
    no new event). The answer is the first that applies of: what changed in the terms
    (``policy 'gold contract' → 'damaged goods'``, ``targets changed``, ``calendar changed``),
    the latest move of the resolution deadline by a new event, :data:`RECOMPUTED`.
    """
    moved = None if before is None else terms.moved_since(before)
    if moved is not None:
        return moved
    if clocks is not None and since_seq is not None:
        for change in reversed(clocks.changes):
            if change.target is TargetKind.RESOLUTION and change.seq is not None \
                    and change.seq >= since_seq and change.reason:
                return change.reason
    return RECOMPUTED
