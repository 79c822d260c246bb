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
        """Insert a new ticket with its pending events and articles; sets ``version`` to 1.
        Its pending arrivals (a split) are re-homed onto it as :meth:`save` does."""

    def get(self, ticket_id: str) -> Ticket:
        """Load by id; raises TicketNotFound."""

    def get_by_number(self, number: str) -> Ticket:
        """Load by human-facing number; raises TicketNotFound."""

    def save(self, ticket: Ticket) -> None:
        """Persist changes if the stored version still equals ``ticket.version``.

        Raises ConcurrencyError (and writes nothing) when someone saved it first; on success
        increments ``ticket.version``. A ticket without pending changes is not written.

        The ticket's pending arrivals (``Ticket.collect_arrivals``: stored articles moved onto
        it by a merge, its undo or a split) are re-homed in the same transaction: each stored
        article row keeps its id and content and now belongs to this ticket, placed after its
        last article in the order given. An arrival whose article is no longer stored under
        its ``from_ticket`` raises ConcurrencyError and nothing of the save is written.
        """

    def query(self, query: TicketQuery) -> Page[Ticket]:
        """The agent queue: filtered, sorted, keyset-paginated exactly as TicketQuery.apply."""

    def history(self, ticket_id: str) -> list[TicketEvent]:
        """Every recorded change of the ticket, oldest first (by ``seq``)."""

    def articles(self, ticket_id: str) -> list[Article]:
        """The communication log in time order: by ``created_at``, articles of one instant in
        the order they came onto the ticket (added, or moved onto it)."""
