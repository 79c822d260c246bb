"""The agent queue: ``TicketQuery`` as SQL, and tickets read on the driver connection.

The queue is the helpdesk's most frequent read, and on SQLite the query itself takes a
fraction of a millisecond, so SQLAlchemy's per-execution work (cache key, parameter
processing, result rows, mappings) would cost several times the query. The SQL is still
built and compiled by SQLAlchemy Core, once per *shape* of query (which filters are set,
sort, page size); a page then costs one execution of the compiled text on the DB-API cursor
of the unit's connection, inside the unit's transaction, and one positional conversion per
row (:func:`helpdesk_sqlalchemy.convert.ticket_from_values`).

Every value a query filters on travels as a bound parameter named by
:func:`query_parameters`; only the shape (category and priority sets, which are small enums,
and the page size) is rendered into the SQL text.

The statements run through :mod:`helpdesk_sqlalchemy.driver` (and are logged there).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select, tuple_
from sqlalchemy.engine import Connection, Dialect

from helpdesk_core.domain.queue import QueueSort, TicketQuery
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket
from helpdesk_sqlalchemy.convert import TICKET_COLUMNS, ticket_from_values
from helpdesk_sqlalchemy.driver import Compiled, fetch, run
from helpdesk_sqlalchemy.tables import ACTIVE_CATEGORIES, active_only, ticket_tags, tickets

__all__ = ["QueueReader", "query_parameters", "query_statement"]

_SHAPES_KEPT = 256  # compiled shapes per engine; a handful are in use at any time
_TAGS_OF = select(ticket_tags.c.ticket_id, ticket_tags.c.tag).where(
    ticket_tags.c.ticket_id.in_(bindparam("ids", expanding=True)))


def _sort_columns(sort: QueueSort) -> list[Any]:
    if sort is QueueSort.PRIORITY:
        return [tickets.c.priority_rank, tickets.c.created_at, tickets.c.id]
    if sort is QueueSort.DUE:
        return [tickets.c.due_sort, tickets.c.id]
    return [tickets.c.created_at, tickets.c.id]


def _category_filter(
    categories: frozenset[StatusCategory], dialect: str
) -> ColumnElement[bool]:
    values = tuple(c.value for c in StatusCategory if c in categories)  # canonical order
    if values == ACTIVE_CATEGORIES:
        return active_only()
    chosen = tickets.c.status_category.in_(
        bindparam("status_categories", values, expanding=True, literal_execute=True)
    )
    if dialect == "sqlite" and values and set(values) < set(ACTIVE_CATEGORIES):
        # Redundant, but SQLite uses a partial index only when the query repeats its
        # predicate. (PostgreSQL proves the implication itself, and the repeated term would
        # only skew its row estimates.)
        return and_(chosen, active_only())
    return chosen


def _incident_type_filter(key: str) -> ColumnElement[bool]:
    # "key or anything below it", as a range instead of LIKE: no escaping of '_' and '%', no
    # case folding, and an index range scan. Under code-point order the strings that start
    # with "key/" are exactly those in ["key/", "key0"), '0' being the successor of '/'.
    column = tickets.c.incident_type
    subtree = and_(column >= bindparam("incident_type_from"),
                   column < bindparam("incident_type_below"))
    if key == "":  # the model treats a missing incident type as ""
        return or_(column.is_(None), column == "", subtree)
    return or_(column == bindparam("incident_type"), subtree)


def query_parameters(query: TicketQuery) -> dict[str, Any]:
    """The bound values of :func:`query_statement`, by parameter name."""
    params: dict[str, Any] = {}
    for name in ("team", "assignee", "customer_id", "organisation_id"):
        value = getattr(query, name)
        if value is not None:
            params[name] = value
    if query.incident_type is not None:
        key = query.incident_type
        params.update(incident_type=key, incident_type_from=key + "/",
                      incident_type_below=key + "0")
        if key == "":
            del params["incident_type"]
    for i, tag in enumerate(sorted(query.tags)):
        params[f"tag_{i}"] = tag
    start = query.after_key()
    if start is not None:
        for i, value in enumerate(start):
            params[f"after_{i}"] = value
    return params


def query_conditions(query: TicketQuery, dialect: str) -> list[ColumnElement[bool]]:
    """WHERE terms equivalent to ``TicketQuery.matches`` plus the keyset start."""
    t = tickets.c
    conditions: list[ColumnElement[bool]] = []
    if query.status_categories is not None:
        conditions.append(_category_filter(query.status_categories, dialect))
    for name in ("team", "assignee", "customer_id", "organisation_id"):
        if getattr(query, name) is not None:
            conditions.append(t[name] == bindparam(name))
    if query.unassigned:
        conditions.append(t.assignee.is_(None))
    if query.incident_type is not None:
        conditions.append(_incident_type_filter(query.incident_type))
    if query.priorities is not None:
        values = sorted(p.value for p in query.priorities)
        conditions.append(t.priority.in_(
            bindparam("priorities", values, expanding=True, literal_execute=True)))
    for i in range(len(query.tags)):
        conditions.append(exists().where(ticket_tags.c.ticket_id == t.id,
                                         ticket_tags.c.tag == bindparam(f"tag_{i}")))
    if query.after is not None:
        columns = _sort_columns(query.sort)
        key = tuple_(*columns)
        bound = tuple_(*(bindparam(f"after_{i}", type_=c.type) for i, c in enumerate(columns)))
        conditions.append(key < bound if query.sort.descending else key > bound)
    return conditions


def query_statement(query: TicketQuery, dialect: str) -> Select[Any]:
    """The SELECT for one page: ``limit + 1`` rows, the last only proving there is more.

    ``dialect`` is the backend's name ("sqlite", "postgresql"); the values are bound
    separately (:func:`query_parameters`)."""
    columns = _sort_columns(query.sort)
    order = [c.desc() if query.sort.descending else c.asc() for c in columns]
    return (
        select(*(tickets.c[name] for name in TICKET_COLUMNS))
        .where(*query_conditions(query, dialect))
        .order_by(*order)
        .limit(query.limit + 1)
    )


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
        self._shapes: OrderedDict[tuple[Any, ...], Compiled] = OrderedDict()
        self._lock = threading.Lock()
        self._read_ticket = ticket_from_values(dialect)

    def page(self, conn: Connection, query: TicketQuery) -> list[Ticket]:
        """Up to ``limit + 1`` tickets in queue order, read in ``conn``'s transaction."""
        values = query_parameters(query)
        cursor = run(conn, self._compiled(query, values), values)
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
        values = query_parameters(query)
        compiled = self._compiled(query, values)
        return compiled.sql, compiled.parameters(values)

    @staticmethod
    def _tags(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
        tags: dict[str, list[str]] = {}
        if ids:
            for ticket_id, tag in fetch(conn, _TAGS_OF, {"ids": ids}, shape=len(ids)):
                tags.setdefault(ticket_id, []).append(tag)
        return tags

    def _compiled(self, query: TicketQuery, values: dict[str, Any]) -> Compiled:
        shape = _shape(query)
        with self._lock:
            found = self._shapes.get(shape)
            if found is not None:
                self._shapes.move_to_end(shape)
                return found
        compiled = Compiled(query_statement(query, self.dialect.name), self.dialect, values)
        with self._lock:
            self._shapes[shape] = compiled
            while len(self._shapes) > _SHAPES_KEPT:
                self._shapes.popitem(last=False)
        return compiled


