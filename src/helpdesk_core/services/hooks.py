"""The hook calls services make, as a protocol: services never import pluggy.

``helpdesk_core.plugins.Hooks`` implements it; tests may pass a stub.
"""

from __future__ import annotations

from typing import Any, Protocol

from helpdesk_core.domain.extensions import AssignmentResolver, Classification, FollowUpAction
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.ticket import Ticket

__all__ = ["HookCaller"]


class HookCaller(Protocol):
    def ticket_event(self, event: TicketEvent, ticket: Ticket) -> None:
        """Notify listeners; each must get its own copy of ``ticket``."""

    def template_globals(self, language: str) -> dict[str, Any]: ...

    def classify(self, ticket: Ticket, text: str) -> list[Classification]: ...

    def assignment_resolvers(self) -> list[AssignmentResolver]: ...

    def followup_actions(self) -> dict[str, FollowUpAction]: ...
