"""Each ticket's SLA record and the escalations that fired."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord

__all__ = ["SlaRepository"]


class SlaRepository(Protocol):
    """Each ticket's SLA record (policy, next due instant) and the escalations that fired."""

    def put(self, record: SlaRecord) -> None:
        """Insert or replace the ticket's record."""

    def get(self, ticket_id: str) -> SlaRecord | None: ...

    def due(self, *, now: datetime, limit: int) -> list[SlaRecord]:
        """Records whose ``next_at`` is at or before ``now``, earliest first: read through an
        index, so the cost grows with the number due, not with the number of tickets."""

    def fire(self, record: EscalationRecord) -> bool:
        """Record that an escalation fired; False (and nothing written) if that ticket,
        target, cycle and level fired before — also when another transaction is firing it
        right now (the database's unique key decides)."""

    def fired(self, ticket_id: str) -> list[EscalationRecord]:
        """The ticket's escalations, in the order they fired."""
