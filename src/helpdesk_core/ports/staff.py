"""The staff directory: the people the assignment chain can hand tickets to.

Only people data lives here (agents, teams, absences, the helpdesk owner, the chain order);
how many tickets an agent holds is counted by the services from the storage's queue.
A host with its own HR or LDAP system implements this port; the default is
:class:`helpdesk_core.inmemory.staff.InMemoryStaffDirectory`, built from ``Settings.staff``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.staff import Absence, Agent, Team

__all__ = ["StaffDirectory"]


class StaffDirectory(Protocol):
    def agent(self, agent_id: str) -> Agent | None:
        """The agent, or None for someone the directory does not know. Where it lists no
        agents at all, the chain takes such a person as named (availability unchecked);
        otherwise it skips them."""

    def team(self, key: str) -> Team | None: ...

    def team_members(self, key: str) -> list[Agent]:
        """The team's members in the team's own order (the round-robin order)."""

    def absences(self, at: datetime) -> list[Absence]:
        """Every absence covering the instant ``at``."""

    def helpdesk_owner(self) -> tuple[str | None, str | None]:
        """The general helpdesk owner: (person, team); either or both may be None."""

    def chain(self) -> tuple[str, ...]:
        """The order of the assignment chain, by resolver name."""

    def agents(self) -> list[Agent]:
        """Every agent the directory lists, active or not. Empty when no staff is configured:
        then any agent id is taken as given; otherwise an id not among them is refused
        (``UnknownStaff``) wherever a person or the configuration names one."""

    def teams(self) -> list[Team]:
        """Every team the directory lists; empty, any team key is taken as given."""
