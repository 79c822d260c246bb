"""The access check every facade section runs before it calls a handler.

:func:`helpdesk_core.domain.access.check` decides; this module only gathers what it needs to
know about a ticket — read-only, before anything is loaded for writing — and only for a
customer actor (agents and the system may do everything, and need no ticket read).
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk_core.domain.access import Action, TicketScope, check
from helpdesk_core.domain.staff import Role
from helpdesk_core.domain.ticket import Ticket, participants
from helpdesk_core.domain.values import Actor, ActorKind
from helpdesk_core.errors import PermissionDenied, ValidationError
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
        """Raise PermissionDenied unless ``actor`` may do ``action`` on the ticket ``key``.

        ``action`` may depend on the ticket (a status change is a reopen, a close or another
        transition): then it is a function of the ticket, asked only for a customer.
        """
        if actor is None:
            actor = HOST
        elif not isinstance(actor, Actor):
            raise ValidationError("must be an Actor (Actor.agent(...), Actor.customer(...), "
                                  "Actor.system(...))", field="actor")
        if actor.kind is not ActorKind.CUSTOMER or key is None:
            asked = action if isinstance(action, Action) else Action.TRANSITION
            check(actor, asked, role=self._role(actor, asked))
            return
        ticket, addresses = self.units.read(
            lambda unit: (t := unit.tickets.load(key), participants(unit.tickets.history(t.id))))
        ids = [c.id for c in map(self.directory.customer_by_email, sorted(addresses)) if c]
        check(actor, action if isinstance(action, Action) else action(ticket),
              TicketScope.from_ticket(ticket, ids))

    def _role(self, actor: Actor, action: Action) -> Role | None:
        """The agent's role from the staff directory; None — the agent may do everything, as
        before roles existed — for an agent the directory does not list. A listed agent who
        is no longer active may do nothing."""
        if actor.kind is not ActorKind.AGENT or self.staff is None or not actor.id:
            return None
        agent = self.staff.agent(actor.id)
        if agent is None:
            return None
        if not agent.active:
            raise PermissionDenied(actor, action.value,
                                   reason="no longer an active agent of this helpdesk")
        return agent.role
