"""What the SLA engine stores: each ticket's next SLA instant, and escalations that fired.

Both are caches of facts that follow from the ticket's history and its policy, kept so that a
sweep can find due tickets through an index instead of reading every ticket; the fired
escalations make "each level fires exactly once" a unique key the database enforces.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from helpdesk_core.domain.values import ensure_utc

__all__ = ["EscalationRecord", "SlaRecord"]


def _optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value)


@attrs.frozen
class SlaRecord:
    """The policy chosen for a ticket (and why), and the next instant an escalation is due.

    ``targets_digest`` and ``calendar_digest`` fingerprint the policy's target durations and
    its calendar as they were when the ticket's deadlines were last computed (None: not known,
    a record kept before they were stored), so that a recomputation can tell what moved a
    deadline: another policy, other targets, or another calendar.
    """

    ticket_id: str
    policy: str | None
    reason: str
    updated_at: datetime = attrs.field(converter=ensure_utc)
    next_at: datetime | None = attrs.field(default=None, converter=_optional_utc)
    targets_digest: str | None = None
    calendar_digest: str | None = None


@attrs.frozen
class EscalationRecord:
    """One escalation level of one target's cycle, fired once."""

    ticket_id: str
    target: str
    cycle: int
    level: str
    fired_at: datetime = attrs.field(converter=ensure_utc)
    notified: tuple[str, ...] = ()
