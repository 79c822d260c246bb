"""Configuration kept in storage: the incident-type tree."""

from __future__ import annotations

from helpdesk_core.domain.incident_types import IncidentType, IncidentTypeTree
from helpdesk_core.services.deps import Deps

__all__ = ["define_incident_type", "incident_types"]


def define_incident_type(deps: Deps, incident_type: IncidentType) -> None:
    """Add or replace a node; its parent must exist (the tree refuses orphans)."""
    with deps.storage.unit_of_work() as uow:
        IncidentTypeTree.of([*uow.incident_types.all(), incident_type])
        uow.incident_types.put(incident_type)
        uow.commit()


def incident_types(deps: Deps) -> list[IncidentType]:
    with deps.storage.unit_of_work(read_only=True) as uow:
        return uow.incident_types.all()
