"""The active queue at 100,000 tickets (most closed) is served from an index, in about a
millisecond, on PostgreSQL and SQLite. Plans are taken of exactly what the repository sends."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from helpdesk_core.domain.queue import QueueSort, TicketQuery
from helpdesk_sqlalchemy import SqlAlchemyStorage
from sa_support import bulk_load_tickets, executed_queue_statement

ROWS = 100_000
INDEX_FOR_SORT = {
    QueueSort.PRIORITY: "ix_tickets_active_priority",
    QueueSort.DUE: "ix_tickets_active_due",
    QueueSort.NEWEST: "ix_tickets_active_created",
    QueueSort.OLDEST: "ix_tickets_active_created",
}


def _pages(storage: SqlAlchemyStorage, sort: QueueSort) -> list[TicketQuery]:
    first = TicketQuery.active(sort=sort, limit=50)
    with storage.unit_of_work(read_only=True) as uow:
        cursor = uow.tickets.query(first).next_cursor
    assert cursor is not None
    return [first, TicketQuery.active(sort=sort, limit=50, after=cursor)]


def _best_of(storage: SqlAlchemyStorage, query: TicketQuery, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        with storage.unit_of_work(read_only=True) as uow:
            page = uow.tickets.query(query)
        best = min(best, time.perf_counter() - started)
        assert len(page.items) == 50
    return best * 1000


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_active_queue_uses_the_partial_indexes(pg_storage: SqlAlchemyStorage) -> None:
    bulk_load_tickets(pg_storage, ROWS)
    for sort, index in INDEX_FOR_SORT.items():
        for query in _pages(pg_storage, sort):
            statement, parameters = executed_queue_statement(pg_storage, query)
            with pg_storage.engine.connect() as conn:
                raw = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
                ).scalar_one()
            explained = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            nodes = _nodes(explained["Plan"])
            kinds = [n["Node Type"] for n in nodes]
            assert any(n.get("Index Name") == index for n in nodes), (sort, kinds)
            assert "Sort" not in kinds, (sort, kinds)
            assert "Seq Scan" not in kinds, (sort, kinds)
            assert explained["Execution Time"] < 25, explained["Execution Time"]
            page_ms = _best_of(pg_storage, query)
            print(f"postgresql {sort.value:8s} after={query.after is not None!s:5s} "
                  f"exec {explained['Execution Time']:.3f} ms, page {page_ms:.2f} ms")
            assert page_ms < 100


@pytest.mark.slow
def test_sqlite_active_queue_uses_the_partial_indexes(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    bulk_load_tickets(sqlite_storage, ROWS)
    for sort, index in INDEX_FOR_SORT.items():
        for query in _pages(sqlite_storage, sort):
            statement, parameters = executed_queue_statement(sqlite_storage, query)
            with sqlite_storage.engine.connect() as conn:
                plan = " / ".join(str(r[-1]) for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters))
            assert index in plan, plan
            assert "TEMP B-TREE" not in plan, plan
            page_ms = _best_of(sqlite_storage, query)
            print(f"sqlite {sort.value:8s} after={query.after is not None!s:5s} "
                  f"page {page_ms:.2f} ms  ({plan})")
            assert page_ms < 100


@pytest.mark.slow
def test_sqlite_team_queue_by_due_date_needs_no_statistics(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    # The statistics bulk_load_tickets gathers are the adapter's own approximate ones
    # (analysis_limit = 1000), which overestimate how selective a team is.
    bulk_load_tickets(sqlite_storage, ROWS)
    first = TicketQuery.active(team="returns", sort=QueueSort.DUE, limit=50)
    with sqlite_storage.unit_of_work(read_only=True) as uow:
        cursor = uow.tickets.query(first).next_cursor
    assert cursor is not None
    for query in (first, TicketQuery.active(team="returns", sort=QueueSort.DUE, limit=50,
                                            after=cursor)):
        statement, parameters = executed_queue_statement(sqlite_storage, query)
        with sqlite_storage.engine.connect() as conn:
            plan = " / ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))
        assert "ix_tickets_active_team_due" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        assert _best_of(sqlite_storage, query) < 100
