"""The agent queue: ``TicketQuery`` as SQL, and tickets read on the driver connection.

The queue is the helpdesk's most frequent read, and on SQLite the query itself takes a
fraction of a millisecond, so SQLAlchemy's per-execution work (cache key, parameter
processing, result rows, mappings) would cost several times the query. The SQL is still
built by :func:`helpdesk_sqlalchemy.statements.query_statement` and compiled by SQLAlchemy
Core, once per *shape* of query (which filters are set, sort, page size); a page then costs one
execution of the compiled text on the DB-API cursor of the unit's connection, inside the unit's
transaction, and one ``Ticket.restore`` per row
(:func:`helpdesk_sqlalchemy.convert.ticket_from_values`).

The statements run through :mod:`helpdesk_sqlalchemy.driver` (and are logged there).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect

from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_sqlalchemy import driver, statements
from helpdesk_sqlalchemy.convert import ticket_from_values

__all__ = ["QueueReader"]

_SHAPES_KEPT = 256  # compiled shapes per engine; a handful are in use at any time


def _shape(query: TicketQuery) -> tuple[Any, ...]:
    """What decides the SQL text of a query (values do not)."""
    return (query.status_categories, query.team is not None, query.assignee is not None,
            query.unassigned, query.incident_type is None, query.incident_type == "",
            query.customer_id is not None, query.organisation_id is not None,
            query.priorities, len(query.tags), query.after is not None, query.sort,
            query.limit)


class QueueReader:
    """Pages of the agent queue for one engine; compiled shapes are kept per engine."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._shapes: OrderedDict[tuple[Any, ...], driver.Compiled] = OrderedDict()
        self._lock = threading.Lock()
        self._read_ticket = ticket_from_values(dialect)

    def page(self, conn: Connection, query: TicketQuery) -> list[Ticket]:
        """Up to ``limit + 1`` tickets in queue order, read in ``conn``'s transaction."""
        values = statements.query_parameters(query)
        cursor = driver.run(conn, self._compiled(query, values), values)
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

    def statement_for(self, query: TicketQuery) -> tuple[str, Sequence[Any] | dict[str, Any]]:
        """The SQL text and driver parameters that :meth:`page` runs for ``query``."""
        values = statements.query_parameters(query)
        compiled = self._compiled(query, values)
        return compiled.sql, compiled.parameters(values)

    @staticmethod
    def _tags(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
        tags: dict[str, list[str]] = {}
        if ids:
            for ticket_id, tag in driver.fetch(conn, statements.TAGS_OF, {"ids": ids},
                                               shape=len(ids)):
                tags.setdefault(ticket_id, []).append(tag)
        return tags

    def _compiled(self, query: TicketQuery, values: dict[str, Any]) -> driver.Compiled:
        shape = _shape(query)
        with self._lock:
            found = self._shapes.get(shape)
            if found is not None:
                self._shapes.move_to_end(shape)
                return found
        compiled = driver.Compiled(statements.query_statement(query, self.dialect.name),
                                   self.dialect, values)
        with self._lock:
            self._shapes[shape] = compiled
            while len(self._shapes) > _SHAPES_KEPT:
                self._shapes.popitem(last=False)
        return compiled


