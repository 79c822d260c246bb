"""The staff directory built from a :class:`HelpdeskStaff` value (``Settings.staff``)."""

from __future__ import annotations

import threading
from datetime import datetime

import attrs

from helpdesk_core.domain.staff import Absence, Agent, HelpdeskStaff, Team

__all__ = ["InMemoryStaffDirectory"]


class InMemoryStaffDirectory:
    """Serves one :class:`HelpdeskStaff`; :meth:`replace` and :meth:`add_absence` change it
    at run time (a host reloading its configuration, an agent reporting sick)."""

    def __init__(self, staff: HelpdeskStaff | None = None) -> None:
        self._staff = staff or HelpdeskStaff()
        self._lock = threading.Lock()

    @property
    def staff(self) -> HelpdeskStaff:
        return self._staff

    def replace(self, staff: HelpdeskStaff) -> None:
        with self._lock:
            self._staff = staff

    def add_absence(self, absence: Absence) -> None:
        with self._lock:
            absences: tuple[Absence, ...] = (*self._staff.absences, absence)
            self._staff = attrs.evolve(self._staff, absences=absences)

    def agent(self, agent_id: str) -> Agent | None:
        return self._staff.agent(agent_id)

    def team(self, key: str) -> Team | None:
        return self._staff.team(key)

    def team_members(self, key: str) -> list[Agent]:
        return self._staff.members(key)

    def absences(self, at: datetime) -> list[Absence]:
        return [a for a in self._staff.absences if a.covers(at)]

    def helpdesk_owner(self) -> tuple[str | None, str | None]:
        return self._staff.helpdesk_owner, self._staff.helpdesk_team

    def chain(self) -> tuple[str, ...]:
        return self._staff.chain

    def agents(self) -> list[Agent]:
        return list(self._staff.agents)

    def teams(self) -> list[Team]:
        return list(self._staff.teams)
