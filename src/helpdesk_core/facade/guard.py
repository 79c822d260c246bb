"""The access check every facade section runs before it calls a handler.

:func:`helpdesk_core.domain.access.check` decides; this module only gathers what it needs to
know about a ticket — read-only, before anything is loaded for writing — and only for a
customer actor or an agent who sees only their teams' tickets
(:class:`~helpdesk_core.domain.staff.AgentScope`); other agents and the system need no ticket
read. A ticket such an agent may not see is answered as :class:`TicketNotFound`, exactly as a
ticket that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk_core.domain.access import NOT_VISIBLE, Action, TicketScope, check
from helpdesk_core.domain.queue import Visibility
from helpdesk_core.domain.staff import Agent
from helpdesk_core.domain.ticket import Ticket, participants
from helpdesk_core.domain.values import Actor, ActorKind
from helpdesk_core.errors import PermissionDenied, TicketNotFound, ValidationError
from helpdesk_core.ports import Directory
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.unit_of_work import Units

__all__ = ["HOST", "Guard"]

# Who calls when no actor is named: the host application itself, which is trusted.
HOST = Actor.system("host")


class Guard:
    def __init__(self, *, units: Units, directory: Directory,
                 staff: StaffDirectory | None = None) -> None:
        self.units = units
        self.directory = directory
        self.staff = staff

    def check(self, actor: Actor | None, action: Action | Callable[[Ticket], Action],
              key: str | None = None) -> None:
        """Raise PermissionDenied unless ``actor`` may do ``action`` on the ticket ``key``;
        TicketNotFound for a ticket the agent may not see.

        ``action`` may depend on the ticket (a status change is a reopen, a close or another
        transition): then it is a function of the ticket, asked only when the ticket is read.
        """
        actor = _actor(actor)
        asked = action if isinstance(action, Action) else Action.TRANSITION
        if actor.kind is not ActorKind.CUSTOMER:
            agent = self._agent(actor, asked)
            role = agent.role if agent is not None else None
            teams = agent.visible_teams if agent is not None else None
            if teams is None or key is None:
                check(actor, asked, role=role)
                return
            ticket = self.units.read(lambda unit: unit.tickets.load(key))
            hidden = False
            try:
                check(actor, action if isinstance(action, Action) else action(ticket),
                      TicketScope.from_ticket(ticket), role=role, teams=teams)
            except PermissionDenied as refused:
                if refused.reason != NOT_VISIBLE:
                    raise
                hidden = True
            if hidden:  # raised out here: no __context__ tells it from a missing ticket
                raise TicketNotFound(key)
            return
        if key is None:
            check(actor, asked)
            return
        ticket, addresses = self.units.read(
            lambda unit: (t := unit.tickets.load(key), participants(unit.tickets.history(t.id))))
        ids = [c.id for c in map(self.directory.customer_by_email, sorted(addresses)) if c]
        check(actor, action if isinstance(action, Action) else action(ticket),
              TicketScope.from_ticket(ticket, ids))

    def check_all(self, actor: Actor | None, action: Action, keys: list[str]) -> None:
        """:meth:`check` for each ticket of ``keys`` (the tickets a merge or a link
        involves), in order."""
        for key in keys:
            self.check(actor, action, key)

    def check_team(self, actor: Actor | None, action: Action, team: str | None) -> None:
        """Refuse (PermissionDenied) an agent who sees only their teams' tickets putting a
        ticket into ``team`` when it is not one of theirs: they could not see it there."""
        actor = _actor(actor)
        if team is None or actor.kind is not ActorKind.AGENT:
            return
        agent = self._agent(actor, action)
        teams = agent.visible_teams if agent is not None else None
        if teams is not None and team not in teams:
            raise PermissionDenied(actor, action.value,
                                   reason=f"the team {team!r} is not one of the agent's teams")

    def visibility(self, actor: Actor | None) -> Visibility | None:
        """The queue filter of an agent who sees only their teams' tickets; None for anyone
        who sees every ticket."""
        actor = _actor(actor)
        if actor.kind is not ActorKind.AGENT:
            return None
        agent = self._agent(actor, Action.VIEW_QUEUE)
        teams = agent.visible_teams if agent is not None else None
        if teams is None:
            return None
        return Visibility(teams=teams, assignee=actor.id or None)

    def _agent(self, actor: Actor, action: Action) -> Agent | None:
        """The agent from the staff directory; None — the agent may do everything and see
        every ticket, as before roles existed — for an agent the directory does not list. A
        listed agent who is no longer active may do nothing."""
        if actor.kind is not ActorKind.AGENT or self.staff is None or not actor.id:
            return None
        agent = self.staff.agent(actor.id)
        if agent is None:
            return None
        if not agent.active:
            raise PermissionDenied(actor, action.value,
                                   reason="no longer an active agent of this helpdesk")
        return agent


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        return HOST
    if not isinstance(actor, Actor):
        raise ValidationError("must be an Actor (Actor.agent(...), Actor.customer(...), "
                              "Actor.system(...))", field="actor")
    return actor
