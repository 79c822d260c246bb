"""``helpdesk.configuration``: what the deployment keeps in storage (incident types)."""

from __future__ import annotations

from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.services.configuration import Configuration

__all__ = ["ConfigurationSection"]


class ConfigurationSection:
    def __init__(self, *, configuration: Configuration) -> None:
        self._configuration = configuration

    def define_incident_type(self, incident_type: IncidentType) -> None:
        """Add or replace a node of the incident-type tree; define parents first."""
        self._configuration.define_incident_type(incident_type)

    def incident_types(self) -> list[IncidentType]:
        return self._configuration.incident_types()
