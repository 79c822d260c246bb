"""Configuration kept in storage: the incident-type tree."""

from __future__ import annotations

from helpdesk_core.domain.assignment import known_agent, known_team
from helpdesk_core.domain.incident_types import IncidentType, IncidentTypeTree
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.unit_of_work import Units

__all__ = ["Configuration"]


class Configuration:
    def __init__(self, *, units: Units, staff: StaffDirectory) -> None:
        self.units = units
        self.staff = staff

    def define_incident_type(self, incident_type: IncidentType) -> None:
        """Add or replace a node; its parent must exist (the tree refuses orphans), its
        responsible person and team must be ones the staff directory lists (any, where it
        lists none)."""
        if incident_type.responsible is not None:
            known_agent(self.staff, incident_type.responsible, field="responsible")
        if incident_type.team is not None:
            known_team(self.staff, incident_type.team, field="team")
        with self.units() as unit:
            IncidentTypeTree.of([*unit.incident_types.all(), incident_type])
            unit.incident_types.put(incident_type)
            unit.commit()

    def incident_types(self) -> list[IncidentType]:
        with self.units(read_only=True) as unit:
            return unit.incident_types.all()
