"""Every hook helpdesk_core calls. Plugins implement them with ``@hookimpl``.

Hooks are called only through :class:`helpdesk_core.plugins.manager.Hooks`, which gives each a
typed signature. Arguments may be added in later versions, never removed; pluggy lets an
implementation accept only the arguments it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from helpdesk_core.domain.extensions import (
        AssignmentResolver,
        Classification,
        FollowUpAction,
    )
    from helpdesk_core.domain.history import TicketEvent
    from helpdesk_core.domain.ticket import Ticket
    from helpdesk_core.plugins.registry import Registry

PROJECT = "helpdesk_core"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def helpdesk_register(registry: Registry) -> None:
    """Register adapter factories by name: ``registry.add_storage("sqlalchemy", factory)``.

    Called once per plugin manager, before anything is built. Factories receive the Settings.
    """


@hookspec
def helpdesk_ticket_event(event: TicketEvent, ticket: Ticket) -> None:
    """Called for every change of a ticket after it was committed, in order.

    ``ticket`` is the committed state (a copy; changing it has no effect). Exceptions are logged
    and swallowed: a failing listener must not undo a committed change.
    """


@hookspec
def helpdesk_template_globals(language: str) -> dict[str, Any] | None:
    """Return extra names for reply templates (plain data only). Later plugins win on clashes."""


@hookspec
def helpdesk_classify(ticket: Ticket, text: str) -> Classification | None:
    """Suggest incident type, priority, team or tags for a new ticket from its first text.

    A classifier that raises is logged and skipped; the ticket is opened regardless.
    """


@hookspec
def helpdesk_assignment_resolvers() -> list[AssignmentResolver] | None:
    """Return resolvers to append to the assignment chain (after the configured ones)."""


@hookspec
def helpdesk_followup_actions() -> list[FollowUpAction] | None:
    """Return follow-up processes (exchange order, RMA, repair, refund) the host can run."""
