"""``helpdesk.configuration``: what the deployment keeps in storage (incident types)."""

from __future__ import annotations

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.values import Actor
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.configuration import Configuration

__all__ = ["ConfigurationSection"]


@checked
class ConfigurationSection:
    def __init__(self, *, guard: Guard, configuration: Configuration) -> None:
        self._guard = guard
        self._configuration = configuration

    def define_incident_type(self, incident_type: IncidentType, *,
                             actor: Actor | None = None) -> None:
        """Add or replace a node of the incident-type tree; define parents first."""
        self._guard.check(actor, Action.CONFIGURE)
        self._configuration.define_incident_type(incident_type)

    def incident_types(self, *, actor: Actor | None = None) -> list[IncidentType]:
        self._guard.check(actor, Action.CONFIGURE)
        return self._configuration.incident_types()
