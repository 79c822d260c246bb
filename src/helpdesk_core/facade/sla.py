"""``helpdesk.sla``: the clocks of a ticket, the escalation sweep, recomputing deadlines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.values import Actor, ensure_utc
from helpdesk_core.errors import ValidationError
from helpdesk_core.facade.arguments import checked, in_range
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.sla import SlaService, SweepReport
from helpdesk_core.sla import SlaClocks

__all__ = ["SlaSection"]

MOST = 1_000_000  # tickets one sweep looks at
# The business calendars look a day ahead: the last day Python's datetime has is out of reach.
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _now(now: datetime | None) -> datetime | None:
    """``now`` as an aware UTC instant the clocks can be read at (naive ones are refused)."""
    if now is None:
        return None
    now = ensure_utc(now, field="now")
    if now >= LATEST:
        raise ValidationError(f"must be before {LATEST:%Y-%m-%d}", field="now")
    return now


@checked
class SlaSection:
    def __init__(self, *, guard: Guard, service: SlaService) -> None:
        self._guard = guard
        self._service = service

    def clocks(self, key: str, *, now: datetime | None = None,
               actor: Actor | None = None) -> SlaClocks | None:
        """The ticket's SLA clocks now — state, elapsed, remaining and due per target — with
        every deadline change explained; None when no SLA applies."""
        self._guard.check(actor, Action.READ_INTERNAL, key)
        return self._service.clocks(key, now=_now(now))

    def sweep(self, *, now: datetime | None = None, limit: int = 1000,
              progress: Callable[[int, int], None] | None = None,
              actor: Actor | None = None) -> SweepReport:
        """Fire the escalation levels that are due, each once, and queue their notices: at
        most ``limit`` tickets; ``report.more_due`` says that more were due.
        ``progress(done, total)`` is called after each ticket."""
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        return self._service.sweep(now=_now(now), limit=in_range(limit, field="limit", most=MOST),
                                   progress=progress)

    def recompute(self, keys: list[str] | None = None, *, actor: Actor | None = None) -> int:
        """Rebuild deadlines after a policy or calendar change (default: every active
        ticket); each moved deadline is recorded with its reason."""
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        return self._service.recompute(keys=keys)
