"""SQLite gathers query-planner statistics only when asked; the adapter asks."""

from __future__ import annotations

from pathlib import Path

from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.status import Workflow
from helpdesk_core.testing.builders import AGENT, T0, open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyStorage
from helpdesk_sqlalchemy.statements import query_statement

WORKFLOW = Workflow.default()


def test_the_active_queue_uses_its_partial_index_once_statistics_exist(tmp_path: Path) -> None:
    storage = SqlAlchemyStorage.from_url(
        f"sqlite:///{tmp_path / 'stats.sqlite3'}", sqlite_optimize_every="3"
    )
    storage.migrate()
    tickets = [open_ticket() for _ in range(3000)]
    for ticket in tickets[:2600]:  # most tickets of a running helpdesk are closed
        ticket.transition("closed", workflow=WORKFLOW, at=T0, actor=AGENT)
    store_tickets(storage, tickets)
    query = TicketQuery.active(limit=50)
    for _ in range(6):  # queries on pooled connections; check-ins trigger PRAGMA optimize
        with storage.unit_of_work(read_only=True) as uow:
            assert len(uow.tickets.query(query).items) == 50
    sql = str(query_statement(query, "sqlite").compile(
        storage.engine, compile_kwargs={"literal_binds": True}))
    with storage.engine.connect() as conn:
        raw = conn.connection.driver_connection
        analysed = raw.execute(
            "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'tickets'").fetchone()[0]
        plan = " | ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + sql))
    storage.close()
    assert analysed > 0
    assert "ix_tickets_active_priority" in plan
    assert "TEMP B-TREE" not in plan
