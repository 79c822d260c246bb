"""The agent queue: pages of ``TicketQuery`` read on the driver connection.

The queue is the helpdesk's most frequent read, and on SQLite the query itself takes a
fraction of a millisecond, so SQLAlchemy's per-execution work (cache key, parameter
processing, result rows, mappings) would cost several times the query. The SQL is built by
:func:`helpdesk_sqlalchemy.statements.query_statement` and compiled by SQLAlchemy once per
*shape* of query (:func:`helpdesk_sqlalchemy.statements.queue_key`), in the driver's cache of
compiled statements; a page then costs one execution of the compiled text on the DB-API cursor
of the unit's connection, inside the unit's transaction, one query for the page's tags, and a
ticket per row from the reader of :func:`helpdesk_sqlalchemy.convert.ticket_from_values`.

The statements run through :mod:`helpdesk_sqlalchemy.driver` (and are logged there).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect

from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_sqlalchemy import driver, statements
from helpdesk_sqlalchemy.convert import ticket_from_values

__all__ = ["QueueReader"]


class QueueReader:
    """Pages of the agent queue, and tickets from driver rows, for one engine's dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect

    @functools.cached_property
    def _read_ticket(self) -> Callable[[Sequence[Any], Iterable[str]], Ticket]:
        # Built at the first read, not with the storage: bootstrap() on a new engine would
        # spend a sixth of a bare connection's cost on it.
        return ticket_from_values(self._dialect)

    def page(self, conn: Connection, query: TicketQuery) -> list[Ticket]:
        """Up to ``limit + 1`` tickets in queue order, read in ``conn``'s transaction."""
        values = statements.query_parameters(query)
        cursor = driver.run(conn, self._compiled(conn, query, values), values)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return self.tickets(conn, rows)

    def tickets(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> list[Ticket]:
        """Tickets from driver rows of ``TICKET_COLUMNS``, with their tags (one query)."""
        tags = self._tags(conn, [row[0] for row in rows])
        read = self._read_ticket
        return [read(row, tags.get(row[0], ())) for row in rows]

    def statement_for(self, conn: Connection, query: TicketQuery
                      ) -> tuple[str, Sequence[Any] | dict[str, Any]]:
        """The SQL text and driver parameters that :meth:`page` runs for ``query`` on ``conn``
        (taken from the cache as the page takes them)."""
        values = statements.query_parameters(query)
        compiled = self._compiled(conn, query, values)
        return compiled.sql, compiled.parameters(values)

    @staticmethod
    def _compiled(conn: Connection, query: TicketQuery, values: dict[str, Any]
                  ) -> driver.Compiled:
        return driver.compiled_for(
            conn, statements.queue_key(query),
            functools.partial(statements.query_statement, query), values)

    @staticmethod
    def _tags(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
        tags: dict[str, list[str]] = {}
        if ids:
            for ticket_id, tag in driver.fetch(conn, statements.TAGS_OF, {"ids": ids},
                                               shape=len(ids)):
                tags.setdefault(ticket_id, []).append(tag)
        return tags
