"""Service levels: business calendars, SLA policies and clocks derived from ticket history.

Pure like the domain: values and histories in, values out; no storage, no clock reads (``now``
is an argument). See docs/explanation/sla.md for the rules in plain words.
"""

from __future__ import annotations

from helpdesk_core.sla.calendar import BusinessCalendar, Interval, holiday_dates
from helpdesk_core.sla.clock import (
    ClockState,
    Cycle,
    DeadlineChange,
    EscalationPoint,
    Segment,
    SlaClocks,
    SlaState,
    TargetClock,
    changes_between,
    compute_clocks,
    initial_priority,
    next_deadline,
)
from helpdesk_core.sla.config import SlaConfig
from helpdesk_core.sla.due import (
    RECOMPUTED,
    SLA_ACTOR,
    due_reason,
    due_set_by_hand,
    sla_due_update,
)
from helpdesk_core.sla.policy import (
    EscalationLevel,
    NotifyChannel,
    PolicyChoice,
    PolicyRule,
    PolicySelector,
    PolicySubject,
    Recipient,
    SlaPolicy,
    SlaTarget,
    SlaTerms,
    TargetKind,
)

__all__ = [
    "RECOMPUTED",
    "SLA_ACTOR",
    "BusinessCalendar",
    "ClockState",
    "Cycle",
    "DeadlineChange",
    "EscalationLevel",
    "EscalationPoint",
    "Interval",
    "NotifyChannel",
    "PolicyChoice",
    "PolicyRule",
    "PolicySelector",
    "PolicySubject",
    "Recipient",
    "Segment",
    "SlaClocks",
    "SlaConfig",
    "SlaPolicy",
    "SlaState",
    "SlaTarget",
    "SlaTerms",
    "TargetClock",
    "TargetKind",
    "changes_between",
    "compute_clocks",
    "due_reason",
    "due_set_by_hand",
    "holiday_dates",
    "initial_priority",
    "next_deadline",
    "sla_due_update",
]
