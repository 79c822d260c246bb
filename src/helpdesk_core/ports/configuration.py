"""What a deployment configures in storage (incident types) and the counters it allocates."""

from __future__ import annotations

from typing import Protocol

from helpdesk_core.domain.incident_types import IncidentType

__all__ = ["IncidentTypeRepository", "SequenceAllocator"]


class IncidentTypeRepository(Protocol):
    def put(self, incident_type: IncidentType) -> None:
        """Insert or replace by key."""

    def all(self) -> list[IncidentType]:
        """Every node, ordered by key."""


class SequenceAllocator(Protocol):
    def next_value(self, scope: str) -> int:
        """The next value of the named counter (1, 2, 3 ...), unique even under concurrency.

        Called inside the transaction that uses the value, so a rolled-back ticket may leave a
        gap but two committed tickets never share a number.
        """
