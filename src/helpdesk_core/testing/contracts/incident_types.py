"""Incident types: put inserts or replaces by key; all() is ordered by key.

Covers :class:`~helpdesk_core.ports.storage.IncidentTypeRepository`.
"""

from __future__ import annotations

from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.ports.storage import IncidentTypeRepository, Storage

__all__ = ["TestIncidentTypeRepository"]

COVERS = (IncidentTypeRepository,)


class TestIncidentTypeRepository:
    def test_incident_types(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.incident_types.put(IncidentType("complaint", "Reklamace", team="returns"))
            uow.incident_types.put(IncidentType("complaint/damaged", "Poškozeno"))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.incident_types.put(IncidentType("complaint", "Complaint", responsible="alice"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.incident_types.all() == [
                IncidentType("complaint", "Complaint", responsible="alice"),
                IncidentType("complaint/damaged", "Poškozeno"),
            ]
