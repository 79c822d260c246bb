"""Where tickets live: the aggregate, its history and articles, and the agent queue."""

from __future__ import annotations

from typing import Protocol

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.ticket import Ticket

__all__ = ["TicketRepository"]


class TicketRepository(Protocol):
    def add(self, ticket: Ticket) -> None:
        """Insert a new ticket with its pending events and articles; sets ``version`` to 1."""

    def get(self, ticket_id: str) -> Ticket:
        """Load by id; raises TicketNotFound."""

    def get_by_number(self, number: str) -> Ticket:
        """Load by human-facing number; raises TicketNotFound."""

    def save(self, ticket: Ticket) -> None:
        """Persist changes if the stored version still equals ``ticket.version``.

        Raises ConcurrencyError (and writes nothing) when someone saved it first; on success
        increments ``ticket.version``. A ticket without pending changes is not written.
        """

    def query(self, query: TicketQuery) -> Page[Ticket]:
        """The agent queue: filtered, sorted, keyset-paginated exactly as TicketQuery.apply."""

    def history(self, ticket_id: str) -> list[TicketEvent]:
        """Every recorded change of the ticket, oldest first (by ``seq``)."""

    def articles(self, ticket_id: str) -> list[Article]:
        """The communication log, in the order the articles were added."""
