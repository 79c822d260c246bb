"""``helpdesk.staff``: who gets a ticket — manual assignment, reassignment, the traces."""

from __future__ import annotations

from typing import Any

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.assignment import Assignment

__all__ = ["StaffSection"]


@checked
class StaffSection:
    def __init__(self, *, guard: Guard, assignment: Assignment) -> None:
        self._guard = guard
        self._assignment = assignment

    @property
    def directory(self) -> StaffDirectory:
        """The staff directory the chain reads (agents, teams, absences)."""
        return self._assignment.staff

    def assign(self, key: str, assignee: str | None, *, actor: Actor, team: str | None = None,
               expected_version: int | None = None) -> Ticket:
        self._guard.check(actor, Action.ASSIGN, key)
        self._guard.check_team(actor, Action.ASSIGN, team)
        return self._assignment.assign(key, assignee, actor=actor, team=team,
                                       expected_version=expected_version)

    def reassign(self, key: str, assignee: str | None, *, actor: Actor, reason: str = "",
                 team: str | None = None, expected_version: int | None = None) -> Ticket:
        """Manual reassignment, recorded with the reason and the previous assignee."""
        self._guard.check(actor, Action.ASSIGN, key)
        self._guard.check_team(actor, Action.ASSIGN, team)
        return self._assignment.reassign(key, assignee, actor=actor, reason=reason, team=team,
                                         expected_version=expected_version)

    def trace(self, key: str, *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Every assignment of the ticket, oldest first: who, why, and the chain's trace."""
        self._guard.check(actor, Action.READ_INTERNAL, key)
        return self._assignment.trace(key)
