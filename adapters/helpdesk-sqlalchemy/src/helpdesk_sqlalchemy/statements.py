"""The statements that run on the compiled fast path, and the rule that admits them.

The rule
--------
A statement runs on the fast path (compiled by SQLAlchemy once per pooled connection and then
executed on that connection's DB-API cursor, see :mod:`helpdesk_sqlalchemy.driver`) only if
it is defined in this module, and it belongs here only if all three hold:

1. **It is hot**: it runs for every queue page, ticket load or save, new ticket, new contact or
   received mail, the paths measured in docs/benchmarks.md, where SQLAlchemy's work per
   execution (tens of microseconds) costs as much as the database's or more.
2. **Its SQL text is fixed by a small key**: it is a constant here, or it is built here from a
   key with few values: the dialect, the length of an expanded list, the shape of a queue query
   (:func:`queue_key`). Every value a caller chooses travels as a bound parameter.
3. **It needs nothing the fast path leaves out**: SQLAlchemy's events and ``echo`` (the
   ``helpdesk_sqlalchemy.driver`` logger shows these statements instead), ``Result`` objects
   (rows come back as tuples, or as mappings through the columns' result processors), and
   values SQLAlchemy would compute while executing (column defaults, inserted primary keys):
   an INSERT or UPDATE names every column it sets.

Everything else runs through SQLAlchemy Core (``conn.execute``) and is defined next to the code
that runs it: statements built per call from arbitrary values (a contact's update, the outbox
claim, staged-mail listings), rare paths (a stale version's check, removing tags), and the
stores that own their connections. ``tests/test_sqlalchemy_statements.py`` checks that every
statement handed to the driver comes from this module.

The cache
---------
There is one cache of compiled statements, kept per pooled connection (a connection serves one
thread at a time, so the cache needs no lock, and it goes when its connection does). Its key is
the statement (the identity of a constant here, or :func:`queue_key` for the agent queue), the
column keys of an INSERT or UPDATE, and the length of an expanded list.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import attrs
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from helpdesk_core.domain.queue import QueueSort, TicketQuery, Visibility
from helpdesk_core.domain.status import StatusCategory
from helpdesk_sqlalchemy.convert import TICKET_COLUMNS
from helpdesk_sqlalchemy.tables import (
    ACTIVE_CATEGORIES,
    active_only,
    articles,
    blobs,
    contact_emails,
    contact_phones,
    contacts,
    incident_types,
    mail_messages,
    mail_staging,
    message_templates,
    outbox,
    sequences,
    ticket_events,
    ticket_tags,
    tickets,
)

__all__ = [
    "ALL_INCIDENT_TYPES",
    "ARTICLES",
    "COUNT_SENT",
    "EMAIL_OWNER",
    "FIND_MESSAGES",
    "HISTORY",
    "INSERT_ARTICLE",
    "INSERT_CONTACT",
    "INSERT_CONTACT_EMAIL",
    "INSERT_CONTACT_PHONE",
    "INSERT_EVENT",
    "INSERT_TAG",
    "INSERT_TICKET",
    "LAST_POSITION",
    "MAIL_INSERTS",
    "QUEUE_KEY_PARTS",
    "QUEUE_VALUE_ONLY",
    "REHOME_ARTICLE",
    "SAVE_TICKET",
    "TAGS_OF",
    "TAGS_OF_ONE",
    "TEMPLATES",
    "TEMPLATES_WITH_KEY",
    "TICKET_BY_ID",
    "TICKET_BY_ID_LOCKED",
    "TICKET_BY_NUMBER",
    "TICKET_BY_NUMBER_LOCKED",
    "next_value",
    "put_blob",
    "query_parameters",
    "query_statement",
    "queue_key",
    "queue_key_for",
]

# -- tickets ----------------------------------------------------------------------------------

_TICKET_COLUMNS = [tickets.c[name] for name in TICKET_COLUMNS]
TICKET_BY_ID = select(*_TICKET_COLUMNS).where(tickets.c.id == bindparam("key"))
TICKET_BY_NUMBER = select(*_TICKET_COLUMNS).where(tickets.c.number == bindparam("key"))
# A writing unit locks the ticket it loads (PostgreSQL; SQLite's writers are serialised by
# BEGIN IMMEDIATE), so concurrent changes of one ticket queue up instead of failing on the
# version check at save.
TICKET_BY_ID_LOCKED = TICKET_BY_ID.with_for_update(of=tickets)
TICKET_BY_NUMBER_LOCKED = TICKET_BY_NUMBER.with_for_update(of=tickets)
INSERT_TICKET = insert(tickets)
# Parameters named like columns become the SET clause; the version is bumped in SQL.
SAVE_TICKET = (update(tickets)
               .where(tickets.c.id == bindparam("b_id"),
                      tickets.c.version == bindparam("b_expected"))
               .values(version=tickets.c.version + 1))
INSERT_TAG = insert(ticket_tags)
TAGS_OF_ONE = select(ticket_tags.c.tag).where(ticket_tags.c.ticket_id == bindparam("ticket_id"))
# The tags of a page of tickets; the number of ids is part of the cache key.
TAGS_OF = select(ticket_tags.c.ticket_id, ticket_tags.c.tag).where(
    ticket_tags.c.ticket_id.in_(bindparam("ids", expanding=True)))
INSERT_EVENT = insert(ticket_events)
HISTORY = (select(ticket_events).where(ticket_events.c.ticket_id == bindparam("ticket_id"))
           .order_by(ticket_events.c.seq))
INSERT_ARTICLE = insert(articles)
# Time order; articles of one instant in the order they came onto the ticket (position).
ARTICLES = (select(articles).where(articles.c.ticket_id == bindparam("ticket_id"))
            .order_by(articles.c.created_at, articles.c.position))
LAST_POSITION = select(func.max(articles.c.position)).where(
    articles.c.ticket_id == bindparam("ticket_id"))
# A stored article moved onto another ticket (a merge, its undo, a split): only from the
# ticket it is expected under, so that a move that lost a race changes no row. Run for all
# the moved articles at once (executemany); the rowcount is the sum over them.
REHOME_ARTICLE = (update(articles)
                  .where(articles.c.id == bindparam("b_id"),
                         articles.c.ticket_id == bindparam("b_from"))
                  .values(ticket_id=bindparam("b_to"), position=bindparam("b_position")))
ALL_INCIDENT_TYPES = select(incident_types).order_by(incident_types.c.key)


@functools.cache
def next_value(dialect: str) -> Any:
    """The upsert that allocates the next number of a sequence scope, for ``dialect``."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(sequences)
    return (
        stmt.values(scope=bindparam("scope"), value=1)
        .on_conflict_do_update(index_elements=["scope"], set_={"value": sequences.c.value + 1})
        .returning(sequences.c.value)
    )


# -- contacts ---------------------------------------------------------------------------------

EMAIL_OWNER = select(contact_emails.c.contact_id).where(
    contact_emails.c.email == bindparam("email"))
# Contacts are numbered in the order they were added (the oldest wins a shared phone).
INSERT_CONTACT = insert(contacts).values(
    ordinal=select(func.coalesce(func.max(contacts.c.ordinal), 0) + 1).scalar_subquery())
INSERT_CONTACT_EMAIL = insert(contact_emails)
INSERT_CONTACT_PHONE = insert(contact_phones)

# -- mail, attachments, templates --------------------------------------------------------------

MAIL_INSERTS = {table.name: insert(table) for table in (mail_messages, mail_staging, outbox)}
FIND_MESSAGES = (
    select(mail_messages.c.message_id, mail_messages.c.fingerprint, mail_messages.c.ticket_id,
           mail_messages.c.article_id, mail_messages.c.direction, mail_messages.c.at)
    .where(mail_messages.c.message_id.in_(bindparam("ids", expanding=True)))
    .order_by(mail_messages.c.at)
)
COUNT_SENT = select(func.count()).select_from(outbox).where(
    outbox.c.first_recipient == bindparam("recipient"), outbox.c.kind == bindparam("kind"),
    outbox.c.created_at >= bindparam("since"))
TEMPLATES = select(message_templates).order_by(
    message_templates.c.key, message_templates.c.language, message_templates.c.incident_type)
TEMPLATES_WITH_KEY = TEMPLATES.where(message_templates.c.key == bindparam("key"))


@functools.cache
def put_blob(dialect: str) -> Any:
    """Store a blob unless its key is there already, for ``dialect``."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(blobs)
    return stmt.on_conflict_do_nothing(index_elements=["key"])


# -- the agent queue ----------------------------------------------------------------------------
#
# One SELECT per shape of TicketQuery. Every value a query filters on travels as a bound
# parameter named by query_parameters(); only the shape is rendered into the text: which
# filters are set, the category and priority sets (small enums, rendered so that SQLite can
# match its partial indexes), the number of tags, the sort, whether the page starts after a
# cursor. queue_key() is that shape, read from the fields of TicketQuery themselves.


def _is_set(value: Any) -> bool:
    return value is not None


def _visibility_part(value: Visibility | None) -> tuple[int, bool] | None:
    # None: no filter; else one bound team per team, and whether the assignee term is there.
    return None if value is None else (len(value.teams), value.assignee is not None)


def _incident_type_part(value: str | None) -> str | None:
    # None: no filter; "" also matches tickets without a type, which changes the text.
    return None if value is None else "" if value == "" else "subtree"


# How the value of a TicketQuery field decides the SQL text, for the fields whose value is bound
# as a parameter. Every field not named here, and every field added to TicketQuery later, is
# part of the key with its whole value: a new filter can add entries to the cache, never be
# served the SQL of another query.
QUEUE_KEY_PARTS: Mapping[str, Callable[[Any], Hashable]] = {
    "team": _is_set,
    "assignee": _is_set,
    "customer_id": _is_set,
    "organisation_id": _is_set,
    "incident_type": _incident_type_part,
    "tags": len,  # one EXISTS term, with one bound tag, per tag
    "visible_to": _visibility_part,
    "after": _is_set,  # the keyset start; its values are bound, their number depends on sort
}
# Fields whose value is only ever a bound parameter and never changes the text: not in the key.
QUEUE_VALUE_ONLY = frozenset({"limit"})


def queue_key_for(cls: type[TicketQuery]) -> Callable[[TicketQuery], tuple[Hashable, ...]]:
    """The cache key of the queue's SQL for queries of ``cls``: a part for every attrs field
    of ``cls`` except :data:`QUEUE_VALUE_ONLY`, as :data:`QUEUE_KEY_PARTS` says or else the
    field's value itself."""
    names = [f.name for f in attrs.fields(cls) if f.name not in QUEUE_VALUE_ONLY]
    values_of = operator.attrgetter(*names)  # a tuple of the values: TicketQuery has many
    partial = [(i, QUEUE_KEY_PARTS[name]) for i, name in enumerate(names)
               if name in QUEUE_KEY_PARTS]

    def key(query: TicketQuery) -> tuple[Hashable, ...]:
        values = list(values_of(query))
        for i, part in partial:
            values[i] = part(values[i])
        return ("queue", *values)

    return key


queue_key = queue_key_for(TicketQuery)


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


def _visibility_filter(visible: Visibility) -> ColumnElement[bool]:
    # A ticket of one of the teams (one bound team each), or assigned to the agent. A NULL
    # team or assignee equals nothing, as in Visibility.admits.
    t = tickets.c
    terms = [t.team == bindparam(f"visible_team_{i}") for i in range(len(visible.teams))]
    if visible.assignee is not None:
        terms.append(t.assignee == bindparam("visible_assignee"))
    return or_(*terms) if terms else false()


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
    if query.visible_to is not None:
        for i, team in enumerate(sorted(query.visible_to.teams)):
            params[f"visible_team_{i}"] = team
        if query.visible_to.assignee is not None:
            params["visible_assignee"] = query.visible_to.assignee
    start = query.after_key()
    if start is not None:
        for i, value in enumerate(start):
            params[f"after_{i}"] = value
    params["limit"] = query.limit + 1
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
    if query.visible_to is not None:
        conditions.append(_visibility_filter(query.visible_to))
    if query.after is not None:
        columns = _sort_columns(query.sort)
        key = tuple_(*columns)
        bound = tuple_(*(bindparam(f"after_{i}", type_=c.type) for i, c in enumerate(columns)))
        conditions.append(key < bound if query.sort.descending else key > bound)
    return conditions


def query_statement(query: TicketQuery, dialect: str) -> Select[Any]:
    """The SELECT for one page: ``limit + 1`` rows, the last only proving there is more.

    ``dialect`` is the backend's name ("sqlite", "postgresql"). The values, the page size among
    them, are bound separately (:func:`query_parameters`); the statement carries this query's
    own only so that it can also be compiled on its own (to explain its plan, say)."""
    columns = _sort_columns(query.sort)
    order = [c.desc() if query.sort.descending else c.asc() for c in columns]
    return (
        select(*_TICKET_COLUMNS)
        .where(*query_conditions(query, dialect))
        .order_by(*order)
        .limit(bindparam("limit", query.limit + 1, type_=Integer()))
    )
