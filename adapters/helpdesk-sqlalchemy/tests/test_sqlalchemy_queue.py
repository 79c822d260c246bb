"""The SQL queue gives exactly what ``TicketQuery.apply`` gives on the same tickets."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from helpdesk_core.domain.queue import FAR_FUTURE, QueueSort, TicketQuery, encode_cursor
from helpdesk_core.domain.status import StatusCategory, Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import EntityKind, EntityRef, Priority
from helpdesk_core.errors import StorageError
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import AGENT, T0, open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyStorage, driver, statements
from helpdesk_sqlalchemy.convert import TICKET_COLUMNS
from helpdesk_sqlalchemy.statements import query_parameters, query_statement
from sa_support import executed_queue_statement, queue_statements, sqlite_trace, wipe_tickets

WORKFLOW = Workflow.default()

# Ids and incident types chosen to catch collation and prefix-matching mistakes: case,
# accents, characters on both sides of '/', LIKE wildcards.
IDS = ["a", "B", "b", "Ä", "ä", "z", "Z9", "0", "_", "%", "a/b", "a0", "ab", "ž", "中"]
TICKET_INCIDENT_TYPES = [
    None, "", "complaint", "complaint/damaged", "complaint/damaged/box", "complaint_x",
    "complaint-x", "complaint0", "complaint.", "Complaint/x", "compl", "question", "c%",
    "c%/x", "c_mplaint/x",
]
QUERY_INCIDENT_TYPES = ["", "complaint", "complaint/damaged", "compl", "Complaint",
                        "c%", "c_mplaint", "question"]
INSTANTS = [T0 + timedelta(minutes=m) for m in (0, 0, 1, 5, 60)]  # ties are likely
STATUSES = ["open", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed"]


@st.composite
def ticket_sets(draw: st.DrawFn) -> list[Ticket]:
    ids = draw(st.lists(st.sampled_from(IDS), unique=True, max_size=len(IDS)))
    result = []
    for ticket_id in ids:
        kwargs = draw(strategies.ticket_kwargs())
        kwargs["at"] = draw(st.sampled_from(INSTANTS))
        kwargs["links"] = ()
        kwargs["organisation_id"] = draw(st.none() | st.sampled_from(["org-1", "org-2"]))
        ticket = open_ticket(**kwargs)
        ticket.id = ticket_id
        ticket.incident_type = draw(st.sampled_from(TICKET_INCIDENT_TYPES))
        status = draw(st.none() | st.sampled_from(STATUSES))
        if status is not None:
            ticket.transition(status, workflow=WORKFLOW, at=ticket.created_at, actor=AGENT)
        due = draw(st.none() | st.sampled_from(INSTANTS))
        if due is not None:
            ticket.set_due(due + timedelta(hours=1), at=ticket.created_at, actor=AGENT)
        ticket.collect()  # events reference the id given by open(); irrelevant here
        result.append(ticket)
    return result


def _mostly_none(values: list[Any]) -> st.SearchStrategy[Any]:
    # One filter at a time keeps matches common, so edge cases actually meet.
    return st.sampled_from([None] * max(3, len(values)) + values)


ACTIVE = frozenset(c for c in StatusCategory if c.is_active)


@st.composite
def queue_queries(draw: st.DrawFn) -> TicketQuery:
    assignee = draw(_mostly_none(strategies.AGENTS))
    return TicketQuery(
        status_categories=draw(_mostly_none([
            ACTIVE, frozenset(), frozenset({StatusCategory.NEW, StatusCategory.OPEN}),
            frozenset({StatusCategory.CLOSED, StatusCategory.RESOLVED}),
            frozenset({StatusCategory.WAITING_ON_CUSTOMER}),
        ])),
        team=draw(_mostly_none(strategies.TEAMS)),
        assignee=assignee,
        unassigned=assignee is None and draw(st.integers(0, 4)) == 0,
        incident_type=draw(_mostly_none(QUERY_INCIDENT_TYPES)),
        customer_id=draw(_mostly_none(strategies.CUSTOMERS)),
        organisation_id=draw(_mostly_none(["org-1", "org-2"])),
        priorities=draw(_mostly_none([
            frozenset({Priority.URGENT}), frozenset({Priority.HIGH, Priority.LOW}),
        ])),
        tags=draw(_mostly_none([frozenset({t}) for t in strategies.TAGS]
                               + [frozenset(strategies.TAGS[:2])])) or frozenset(),
        sort=draw(st.sampled_from(list(QueueSort))),
        limit=draw(st.integers(1, 6)),
    )


def _pages(fetch: Any, query: TicketQuery) -> list[tuple[list[str], str | None]]:
    pages = []
    cursor: str | None = None
    while True:
        page = fetch(TicketQuery(**{**_fields(query), "after": cursor}))
        pages.append(([t.id for t in page.items], page.next_cursor))
        cursor = page.next_cursor
        if cursor is None or len(pages) > 50:
            return pages


def _fields(query: TicketQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in (
        "status_categories", "team", "assignee", "unassigned", "incident_type", "customer_id",
        "organisation_id", "priorities", "tags", "sort", "limit")}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tickets=ticket_sets(), queries=st.lists(queue_queries(), min_size=1, max_size=6))
def test_every_page_and_cursor_equals_the_reference(
    storage: SqlAlchemyStorage, tickets: list[Ticket], queries: list[TicketQuery]
) -> None:
    wipe_tickets(storage)
    store_tickets(storage, tickets)

    def from_storage(query: TicketQuery) -> Any:
        with storage.unit_of_work(read_only=True) as uow:
            return uow.tickets.query(query)

    for query in queries:
        assert _pages(from_storage, query) == _pages(lambda q: q.apply(tickets), query), query


def test_queue_returns_complete_tickets(storage: SqlAlchemyStorage) -> None:
    tickets = [open_ticket(tags=["vip", "b2b"][: i % 3], custom_fields={"n": i},
                           at=T0 + timedelta(seconds=i)) for i in range(7)]
    store_tickets(storage, tickets)
    with storage.unit_of_work(read_only=True) as uow:
        page = uow.tickets.query(TicketQuery(sort=QueueSort.OLDEST, limit=10))
    assert [t.snapshot() for t in page.items] == [t.snapshot() for t in tickets]
    assert page.next_cursor is None


def test_a_page_costs_two_queries_however_many_tickets_have_tags(
    storage: SqlAlchemyStorage,
) -> None:
    store_tickets(storage, [open_ticket(tags=["vip", f"t{i}"], at=T0 + timedelta(seconds=i))
                            for i in range(40)])
    statements = queue_statements(storage, TicketQuery(limit=25))
    with storage.unit_of_work(read_only=True) as uow:
        page = uow.tickets.query(TicketQuery(limit=25))
    assert len(page.items) == 25
    assert all(len(t.tags) == 2 for t in page.items)
    assert len(statements) == 2, statements
    assert all(sql.lstrip().upper().startswith("SELECT") for sql, _ in statements)


def test_tickets_written_in_the_unit_are_in_its_queue(storage: SqlAlchemyStorage) -> None:
    ticket = open_ticket(priority=Priority.URGENT)
    with storage.unit_of_work() as uow:
        uow.tickets.add(ticket)
        assert [t.id for t in uow.tickets.query(TicketQuery.active()).items] == [ticket.id]


def test_sqlite_serves_the_active_queue_from_the_partial_indexes(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    store_tickets(sqlite_storage, [open_ticket(at=T0 + timedelta(seconds=i)) for i in range(3)])
    active = frozenset(c for c in StatusCategory if c.is_active)
    expected = {
        QueueSort.PRIORITY: "ix_tickets_active_priority",
        QueueSort.DUE: "ix_tickets_active_due",
        QueueSort.NEWEST: "ix_tickets_active_created",
        QueueSort.OLDEST: "ix_tickets_active_created",
    }
    with sqlite_storage.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    for categories in (active, frozenset({StatusCategory.NEW, StatusCategory.OPEN})):
        for sort, index in expected.items():
            first = TicketQuery(status_categories=categories, sort=sort, limit=1)
            with sqlite_storage.unit_of_work(read_only=True) as uow:
                cursor = uow.tickets.query(first).next_cursor
            assert cursor is not None
            for query in (first, TicketQuery(status_categories=categories, sort=sort,
                                             limit=1, after=cursor)):
                plan = _sqlite_plan(sqlite_storage, query)
                assert index in plan, (sort, plan)
                assert "TEMP B-TREE" not in plan, (sort, plan)


def _sqlite_plan(storage: SqlAlchemyStorage, query: TicketQuery) -> str:
    statement, parameters = executed_queue_statement(storage, query)
    with storage.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return " / ".join(str(row[-1]) for row in rows)


def test_the_queue_statement_is_the_one_the_repository_runs(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    query = TicketQuery(customer_id="c-1")
    statement, parameters = executed_queue_statement(sqlite_storage, query)
    compiled = query_statement(query, "sqlite").params(query_parameters(query)).compile(
        dialect=sqlite_storage.engine.dialect, compile_kwargs={"render_postcompile": True})
    assert statement == compiled.string
    assert list(parameters) == ["c-1", 51, 0]  # customer, LIMIT, OFFSET
    # What SQLite itself runs is that statement, with those values.
    with sqlite_trace(sqlite_storage) as ran, sqlite_storage.unit_of_work(read_only=True) as uow:
        uow.tickets.query(query)
    expanded = statement.replace("?", "'c-1'", 1).replace("?", "51", 1).replace("?", "0", 1)
    assert expanded in ran, ran
    assert "ix_tickets_customer" in _sqlite_plan(sqlite_storage, TicketQuery(customer_id="c"))


# -- the page read on the driver --------------------------------------------------------------


def test_driver_rows_give_back_the_stored_tickets(storage: SqlAlchemyStorage) -> None:
    full = open_ticket(tags=["vip", "b2b"], links=[EntityRef(EntityKind.ORDER, "shop", "O-1"),
                                                   EntityRef(EntityKind.INVOICE, "erp", "I-9")],
                       custom_fields={"weight": 2.5, "rma": "R-5", "gift": True},
                       team="returns", assignee="agent-1", language="cs")
    full.set_due(T0 + timedelta(hours=5, microseconds=7), at=T0, actor=AGENT)
    bare = open_ticket(at=T0 + timedelta(seconds=1))
    store_tickets(storage, [full, bare])
    with storage.unit_of_work(read_only=True) as uow:
        paged = {t.id: t for t in uow.tickets.query(TicketQuery(limit=10)).items}
        loaded = {t.id: uow.tickets.get(t.id) for t in (full, bare)}
    assert set(paged) == {full.id, bare.id}
    for ticket in (full, bare):  # as stored: version 1, nothing pending
        assert paged[ticket.id].snapshot() == ticket.snapshot()
        assert loaded[ticket.id].snapshot() == ticket.snapshot()
    assert paged[full.id].custom_fields == {"weight": 2.5, "rma": "R-5", "gift": True}
    assert paged[full.id].due_at == T0 + timedelta(hours=5, microseconds=7)
    assert paged[full.id].created_at.tzinfo is UTC


def test_the_driver_columns_are_the_ticket_fields_in_order() -> None:
    fields = [f.name for f in attrs.fields(Ticket)
              if f.name not in ("tags", "pending_events", "pending_articles",
                                "pending_arrivals")]
    assert list(TICKET_COLUMNS) == fields


# -- the cache of compiled statements ---------------------------------------------------------


def test_one_cache_keeps_the_most_recently_used_statements(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    reader = sqlite_storage.queue
    with sqlite_storage.unit_of_work(read_only=True) as uow:
        conn = uow.connection()
        # The same shape with other values, the page size among them, reuses its compiled text.
        first, _ = reader.statement_for(conn, TicketQuery(team="a", limit=300))
        again, params = reader.statement_for(conn, TicketQuery(team="b", limit=7))
        assert first is again
        assert list(params) == ["b", 8, 0]  # team, LIMIT, OFFSET
        # Queue shapes and the other statements share one cache, bounded by recent use.
        by_id = driver.compiled(conn, statements.TICKET_BY_ID, {"key": "t-1"})
        shapes = [TicketQuery(status_categories=frozenset(categories), sort=sort,
                              unassigned=unassigned)
                  for categories in _subsets(list(StatusCategory))
                  for sort in QueueSort for unassigned in (False, True)]
        assert len(shapes) > driver.KEPT
        for i, query in enumerate(shapes):
            reader.statement_for(conn, query)
            if i % 100 == 0:  # in use all along
                assert driver.compiled(conn, statements.TICKET_BY_ID, {"key": "t-2"}) is by_id
        cache = conn.connection.info["helpdesk_compiled"]
        assert len(cache) == driver.KEPT
        assert driver.compiled(conn, statements.TICKET_BY_ID, {"key": "t-3"}) is by_id
        assert reader.statement_for(conn, TicketQuery(team="c"))[0] is not first  # evicted
        assert reader.statement_for(conn, shapes[-1])[0] is reader.statement_for(
            conn, shapes[-1])[0]


def _subsets(items: list[Any]) -> list[list[Any]]:
    return [[item for i, item in enumerate(items) if mask >> i & 1]
            for mask in range(1 << len(items))]


def test_the_cache_key_reads_every_field_of_the_query() -> None:
    """A field TicketQuery gains is part of the key unless it is declared a value."""
    read: set[str] = set()

    class Recording(TicketQuery):
        def __getattribute__(self, name: str) -> Any:
            read.add(name)
            return super().__getattribute__(name)

    query = Recording()
    read.clear()
    statements.queue_key(query)
    fields = {f.name for f in attrs.fields(TicketQuery)}
    assert read == fields - statements.QUEUE_VALUE_ONLY
    assert {"limit"} == statements.QUEUE_VALUE_ONLY
    assert set(statements.QUEUE_KEY_PARTS) <= fields  # no part for a field that went away


def test_a_new_field_is_part_of_the_key_with_its_value() -> None:
    @attrs.frozen
    class WithLanguage(TicketQuery):
        language: str | None = None

    key = statements.queue_key_for(WithLanguage)
    keys = {key(WithLanguage(language=language)) for language in (None, "cs", "de")}
    assert len(keys) == 3
    assert key(WithLanguage(team="a")) == key(WithLanguage(team="b"))


def test_the_key_tells_apart_what_changes_the_text() -> None:
    key = statements.queue_key
    assert key(TicketQuery(incident_type="")) != key(TicketQuery(incident_type="x"))
    assert key(TicketQuery(incident_type="x")) == key(TicketQuery(incident_type="y/z"))
    assert key(TicketQuery(tags=["vip"])) != key(TicketQuery(tags=["vip", "b2b"]))
    assert key(TicketQuery(tags=["vip"])) == key(TicketQuery(tags=["b2b"]))
    assert key(TicketQuery(limit=1)) == key(TicketQuery(limit=500))
    assert key(TicketQuery(unassigned=True)) != key(TicketQuery())
    assert key(TicketQuery(sort=QueueSort.DUE)) != key(TicketQuery())
    assert key(TicketQuery(priorities=frozenset({Priority.HIGH}))) != key(
        TicketQuery(priorities=frozenset({Priority.LOW})))


# Values every field of TicketQuery takes in the property test below; a field added to
# TicketQuery needs values here (test_every_field_has_values_in_the_property_test).
def _field_values(sort: QueueSort) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "status_categories": _mostly_none([
            ACTIVE, frozenset(), frozenset({StatusCategory.NEW, StatusCategory.OPEN}),
            frozenset({StatusCategory.CLOSED, StatusCategory.RESOLVED}),
            frozenset({StatusCategory.WAITING_ON_CUSTOMER}),
        ]),
        "team": _mostly_none(strategies.TEAMS),
        "assignee": _mostly_none(strategies.AGENTS),
        "unassigned": st.booleans(),
        "incident_type": _mostly_none(QUERY_INCIDENT_TYPES),
        "customer_id": _mostly_none(strategies.CUSTOMERS),
        "organisation_id": _mostly_none(["org-1", "org-2"]),
        "priorities": _mostly_none([frozenset({Priority.URGENT}),
                                    frozenset({Priority.HIGH, Priority.LOW})]),
        "tags": st.sampled_from([frozenset(), frozenset({"vip"}), frozenset({"b2b"}),
                                 frozenset(strategies.TAGS[:2]), frozenset(strategies.TAGS[2:])]),
        "visible_to": st.none() | strategies.visibilities(),
        "sort": st.just(sort),
        "limit": st.integers(1, 6),
        "after": st.none() | _cursors(sort),
    }


def _cursors(sort: QueueSort) -> st.SearchStrategy[str]:
    instants = st.sampled_from(INSTANTS + [T0 + timedelta(hours=1, minutes=m)
                                           for m in (0, 1, 5)])
    ids = st.sampled_from(IDS)
    if sort is QueueSort.PRIORITY:
        keys: st.SearchStrategy[tuple[Any, ...]] = st.tuples(st.integers(0, 3), instants, ids)
    else:
        keys = st.tuples(instants | st.just(FAR_FUTURE), ids)
    return keys.map(lambda key: encode_cursor(key, sort))


@st.composite
def _queries(draw: st.DrawFn) -> TicketQuery:
    values = _field_values(draw(st.sampled_from(list(QueueSort))))
    fields = {name: draw(strategy) for name, strategy in values.items()}
    fields["unassigned"] = fields["unassigned"] and fields["assignee"] is None
    return TicketQuery(**fields)


@st.composite
def _same_key(draw: st.DrawFn, query: TicketQuery) -> TicketQuery:
    """Another query that the key says has the same SQL: every field the key reads only in
    part (or not at all) given another value with the same part."""
    values = _field_values(query.sort)
    fields = {f.name: getattr(query, f.name) for f in attrs.fields(TicketQuery)}
    for name in [*statements.QUEUE_KEY_PARTS, *statements.QUEUE_VALUE_ONLY]:
        candidate = draw(values[name])
        part = statements.QUEUE_KEY_PARTS.get(name, lambda value: None)
        if part(candidate) == part(fields[name]):
            fields[name] = candidate
    sibling = TicketQuery(**fields)
    assert statements.queue_key(sibling) == statements.queue_key(query)
    return sibling


def test_every_field_has_values_in_the_property_test() -> None:
    assert set(_field_values(QueueSort.DUE)) == {f.name for f in attrs.fields(TicketQuery)}


def _fresh(conn: Any, query: TicketQuery) -> tuple[str, Any, list[str]]:
    """The text and parameters SQLAlchemy itself sends for ``query``, compiled without any
    cache (neither the adapter's nor SQLAlchemy's), and the ids it returns."""
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", seen)
    try:
        rows = conn.execute(query_statement(query, conn.dialect.name), query_parameters(query),
                            execution_options={"compiled_cache": None}).all()
    finally:
        event.remove(conn, "before_cursor_execute", seen)
    [(statement, parameters)] = sent
    return statement, parameters, [row.id for row in rows]


def _same_parameters(served: Any, fresh: Any) -> bool:
    if isinstance(fresh, dict):
        return bool(served == fresh)
    return list(served) == list(fresh)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tickets=ticket_sets(), data=st.data())
def test_the_cached_sql_is_the_sql_compiled_afresh_and_pages_equal_the_reference(
    storage: SqlAlchemyStorage, tickets: list[Ticket], data: st.DataObject
) -> None:
    wipe_tickets(storage)
    store_tickets(storage, tickets)
    queries = data.draw(st.lists(_queries(), min_size=1, max_size=5))
    with storage.unit_of_work(read_only=True) as uow:
        conn = uow.connection()
        for query in queries:
            # Whatever filled the cache for this key before, a query of the same key but
            # other values is served first; the query is then served from the cache.
            sibling = data.draw(_same_key(query))
            for served_for in (sibling, query):
                sql, parameters = storage.queue.statement_for(conn, served_for)
                fresh_sql, fresh_parameters, fresh_ids = _fresh(conn, served_for)
                assert sql == fresh_sql, served_for
                assert _same_parameters(parameters, fresh_parameters), served_for
                page = uow.tickets.query(served_for)
                expected = served_for.apply(tickets)
                assert [t.snapshot() for t in page.items] == [
                    t.snapshot() for t in expected.items], served_for
                assert page.next_cursor == expected.next_cursor, served_for
                assert fresh_ids[:served_for.limit] == [t.id for t in page.items]


def test_a_driver_error_is_a_storage_error(sqlite_storage: SqlAlchemyStorage) -> None:
    with sqlite_storage.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE tickets RENAME COLUMN subject TO title")
    with sqlite_storage.unit_of_work(read_only=True) as uow, \
            pytest.raises(StorageError, match=r"query failed.*subject"):
        uow.tickets.query(TicketQuery())
