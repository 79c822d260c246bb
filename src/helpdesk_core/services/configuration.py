"""Configuration kept in storage: the incident-type tree."""

from __future__ import annotations

from helpdesk_core.domain.incident_types import IncidentType, IncidentTypeTree
from helpdesk_core.services.unit_of_work import Units

__all__ = ["Configuration"]


class Configuration:
    def __init__(self, *, units: Units) -> None:
        self.units = units

    def define_incident_type(self, incident_type: IncidentType) -> None:
        """Add or replace a node; its parent must exist (the tree refuses orphans)."""
        with self.units() as unit:
            IncidentTypeTree.of([*unit.incident_types.all(), incident_type])
            unit.incident_types.put(incident_type)
            unit.commit()

    def incident_types(self) -> list[IncidentType]:
        with self.units(read_only=True) as unit:
            return unit.incident_types.all()
