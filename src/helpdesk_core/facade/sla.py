"""``helpdesk.sla``: the clocks of a ticket, the escalation sweep, recomputing deadlines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.values import Actor
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.sla import SlaService, SweepReport
from helpdesk_core.sla import SlaClocks

__all__ = ["SlaSection"]


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
        return self._service.clocks(key, now=now)

    def sweep(self, *, now: datetime | None = None, limit: int = 1000,
              progress: Callable[[int, int], None] | None = None,
              actor: Actor | None = None) -> SweepReport:
        """Fire the escalation levels that are due, each once, and queue their notices: at
        most ``limit`` tickets; ``report.more_due`` says that more were due.
        ``progress(done, total)`` is called after each ticket."""
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        return self._service.sweep(now=now, limit=limit, progress=progress)

    def recompute(self, keys: list[str] | None = None, *, actor: Actor | None = None) -> int:
        """Rebuild deadlines after a policy or calendar change (default: every active
        ticket); each moved deadline is recorded with its reason."""
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        return self._service.recompute(keys=keys)
