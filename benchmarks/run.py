"""Benchmarks: the public API against the same work done in raw SQL, side by side.

For each database (SQLite file, PostgreSQL):
  1. ticket creation: ``helpdesk.tickets.open_by_staff`` against a raw DB-API transaction
     issuing the same statements (incident types read, sequence upsert, ticket, two events,
     article);
  2. agent-queue latency at N tickets (default 100,000; most closed, as in a real helpdesk):
     ``helpdesk.tickets.queue`` against the same SELECT (plus the page's tags) in raw SQL.
API and raw runs alternate in rounds so that drift (cache warm-up, autovacuum, other load)
hits both alike. Prints a Markdown report; ``--record`` also writes it into
docs/benchmarks.md between the markers.

    python benchmarks/run.py [--tickets 100000] [--create 2000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from helpdesk_core import Actor, Priority, Settings, StaffVia, TicketQuery, bootstrap
from helpdesk_core.app import Helpdesk
from helpdesk_core.domain import Channel, QueueSort, StatusCategory, Ticket, TicketNumberFormat
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.values import new_id
from helpdesk_sqlalchemy.engine import sqlite_pragmas

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "helpdesk_bench"
AGENT = Actor.agent("bench-agent", "Bench Agent")
TEAMS = ["returns", "billing", "technical", "b2b", "shop"]
ASSIGNEES = [f"agent-{i}" for i in range(20)]
ACTIVE = [c.value for c in StatusCategory if c.is_active]
WORKFLOW = Workflow.default()

TICKET_COLUMNS = (
    "id, number, subject, status, status_category, priority, priority_rank, channel, "
    "created_at, updated_at, customer_id, organisation_id, incident_type, assignee, team, "
    "language, due_at, due_sort, merged_into, custom_fields, links, version, event_seq"
)
EVENT_COLUMNS = "ticket_id, seq, at, actor, kind, field, old, new, data"
ARTICLE_COLUMNS = (
    "id, ticket_id, position, direction, channel, author, public, body_text, created_at, "
    "subject, attachments, external_id, meta"
)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


# -- databases ---------------------------------------------------------------------------


class Backend:
    name: str
    url: str
    placeholder: str

    def connect(self) -> Any:
        raise NotImplementedError

    def begin(self, conn: Any) -> None:
        raise NotImplementedError

    def begin_read(self, conn: Any) -> None:
        raise NotImplementedError

    def stamp(self, value: datetime | None) -> Any:
        return value


class SqliteBackend(Backend):
    name = "SQLite"
    placeholder = "?"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        for pragma in sqlite_pragmas():  # exactly those of the adapter's connections
            conn.execute(pragma)
        return conn

    def begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def begin_read(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def stamp(self, value: datetime | None) -> Any:
        # The adapter stores naive UTC text in this fixed-width format.
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


class PostgresBackend(Backend):
    name = "PostgreSQL"
    placeholder = "%s"

    def __init__(self, url: str) -> None:
        self.base = url
        sep = "&" if "?" in url else "?"
        self.url = f"{url}{sep}options=-csearch_path%3D{SCHEMA}"
        self.dsn = url.replace("postgresql+psycopg://", "postgresql://")

    def reset(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {SCHEMA}")

    def connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.dsn, options=f"-csearch_path={SCHEMA}")
        return conn

    def begin(self, conn: Any) -> None:
        pass  # psycopg opens a transaction with the first statement

    def begin_read(self, conn: Any) -> None:
        pass


# -- ticket creation ---------------------------------------------------------------------


def tickets_of(helpdesk: Any) -> Any:
    """``helpdesk.tickets``; before the facade had sections, the helpdesk itself (so that a
    commit from before that change can be measured side by side)."""
    return getattr(helpdesk, "tickets", helpdesk)


def create_via_api(helpdesk: Helpdesk, i: int) -> None:
    tickets_of(helpdesk).open_by_staff(
        agent=AGENT, via=StaffVia.PHONE, subject=f"Bench request {i}",
        message="Zákazník volal: objednávka nedorazila.\nBitte prüfen.")


def make_raw_creator(backend: Backend, conn: Any) -> Callable[[int], None]:
    p = backend.placeholder
    number_format = TicketNumberFormat()
    seq_sql = (f"INSERT INTO sequences (scope, value) VALUES ({p}, 1) ON CONFLICT (scope) "
               "DO UPDATE SET value = sequences.value + 1 RETURNING value")
    ticket_sql = f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({', '.join([p] * 23)})"
    event_sql = f"INSERT INTO ticket_events ({EVENT_COLUMNS}) VALUES ({', '.join([p] * 9)})"
    article_sql = f"INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES ({', '.join([p] * 13)})"
    actor = json.dumps(AGENT.to_dict())
    stamp = backend.stamp

    def create(i: int) -> None:
        now = datetime.now(UTC)
        backend.begin(conn)
        cur = conn.cursor()
        cur.execute("SELECT key, name, responsible, team FROM incident_types ORDER BY key")
        cur.fetchall()
        cur.execute(seq_sql, (number_format.scope(now),))
        seq = cur.fetchone()[0]
        ticket_id, article_id = new_id(), new_id()
        number = number_format.render(seq=seq, created_at=now)
        cur.execute(ticket_sql, (
            ticket_id, number, f"Bench request {i}", "new", "new", "normal", 2, "phone",
            stamp(now), stamp(now), None, None, None, None, None, "en", None,
            stamp(FAR_FUTURE), None, "{}", "[]", 1, 2,
        ))
        cur.executemany(event_sql, [
            (ticket_id, 1, stamp(now), actor, "created", None, None, None,
             json.dumps({"number": number, "channel": "phone", "via": "phone"})),
            (ticket_id, 2, stamp(now), actor, "article_added", None, None, None,
             json.dumps({"article_id": article_id, "direction": "inbound", "channel": "phone",
                         "public": True})),
        ])
        cur.execute(article_sql, (
            article_id, ticket_id, 1, "inbound", "phone", actor, True,
            "Zákazník volal: objednávka nedorazila.\nBitte prüfen.", stamp(now),
            f"Bench request {i}", "[]", None, "{}",
        ))
        conn.commit()

    return create


def alternate(rounds: int, per_round: int, api: Callable[[int], None],
              raw: Callable[[int], None]) -> tuple[float, float]:
    """Total seconds for the API and for raw SQL, run in alternating rounds."""
    totals = [0.0, 0.0]
    counter = 0
    for r in range(rounds):
        order = [(0, api), (1, raw)] if r % 2 == 0 else [(1, raw), (0, api)]
        for slot, fn in order:
            start = time.perf_counter()
            for _ in range(per_round):
                counter += 1
                fn(counter)
            totals[slot] += time.perf_counter() - start
    return totals[0], totals[1]


# -- queue -------------------------------------------------------------------------------


def load_tickets(helpdesk: Helpdesk, total: int, seed: int = 7) -> None:
    """Fill the store through the repository (not the API, which would take too long)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    fmt = TicketNumberFormat(prefix="LD-", pattern="{prefix}{seq:07d}")
    batch = 2000
    storage = getattr(helpdesk, "storage", None) or helpdesk.deps.storage  # type: ignore[attr-defined]
    for offset in range(0, total, batch):
        with storage.unit_of_work() as uow:
            for seq in range(offset + 1, min(offset + batch, total) + 1):
                at = start + timedelta(minutes=seq * 7 + rng.randint(0, 6))
                ticket = Ticket.open(
                    number=fmt.render(seq=seq, created_at=at), subject=f"Loaded ticket {seq}",
                    channel=rng.choice(list(Channel)), at=at, actor=AGENT,
                    priority=rng.choice(list(Priority)),
                    customer_id=f"cust-{rng.randint(1, total // 20 + 1)}",
                    team=rng.choice(TEAMS), assignee=rng.choice([None, *ASSIGNEES]),
                    tags=["vip"] if rng.random() < 0.1 else [],
                )
                if rng.random() < 0.7:
                    ticket.set_due(at + timedelta(hours=rng.randint(4, 72)), at=at, actor=AGENT)
                roll = rng.random()
                if roll < 0.85:  # most tickets of a mature helpdesk are done
                    ticket.transition("closed", workflow=WORKFLOW, at=at, actor=AGENT)
                elif roll < 0.92:
                    ticket.transition("open", workflow=WORKFLOW, at=at, actor=AGENT)
                elif roll < 0.96:
                    ticket.transition("waiting_on_customer", workflow=WORKFLOW, at=at,
                                      actor=AGENT)
                uow.tickets.add(ticket)
            uow.commit()


def raw_queue(backend: Backend, conn: Any, *, team: str | None, sort: QueueSort,
              limit: int) -> Callable[[], list[Any]]:
    p = backend.placeholder
    order = {QueueSort.PRIORITY: "priority_rank, created_at, id", QueueSort.DUE: "due_sort, id",
             QueueSort.NEWEST: "created_at DESC, id DESC", QueueSort.OLDEST: "created_at, id"}
    active = ", ".join(f"'{c}'" for c in ACTIVE)
    where = f"status_category IN ({active})" + (f" AND team = {p}" if team else "")
    sql = (f"SELECT {TICKET_COLUMNS} FROM tickets WHERE {where} ORDER BY {order[sort]} "
           f"LIMIT {limit + 1}")
    params = (team,) if team else ()

    def run() -> list[Any]:
        # Both reads in one transaction, as the API does, so the tags match the tickets.
        backend.begin_read(conn)
        cur = conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        ids = [r[0] for r in rows]
        cur.execute(
            f"SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN "
            f"({', '.join([p] * len(ids))})", ids)
        cur.fetchall()
        conn.commit()
        return rows

    return run


def latencies(runs: int, api: Callable[[], Any], raw: Callable[[], Any]) -> dict[str, float]:
    api_ms: list[float] = []
    raw_ms: list[float] = []
    for i in range(runs):
        pairs = [(api_ms, api), (raw_ms, raw)] if i % 2 == 0 else [(raw_ms, raw), (api_ms, api)]
        for sink, fn in pairs:
            start = time.perf_counter()
            fn()
            sink.append((time.perf_counter() - start) * 1000)

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]

    return {"api_p50": pct(api_ms, 50), "api_p95": pct(api_ms, 95),
            "raw_p50": pct(raw_ms, 50), "raw_p95": pct(raw_ms, 95)}


# -- driver ------------------------------------------------------------------------------


@contextmanager
def opened(backend: Backend) -> Iterator[Helpdesk]:
    helpdesk = bootstrap(Settings(database_url=backend.url))
    try:
        yield helpdesk
    finally:
        helpdesk.close()


def run_backend(backend: Backend, args: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    with opened(backend) as helpdesk:
        conn = backend.connect()
        # Warm both paths up (imports, statement caches, first sequence row).
        create_via_api(helpdesk, 0)
        make_raw_creator(backend, conn)(0)
        rounds = 4
        per_round = max(args.create // rounds, 1)
        api_s, raw_s = alternate(rounds, per_round, lambda i: create_via_api(helpdesk, i),
                                 make_raw_creator(backend, conn))
        n = rounds * per_round
        lines.append(
            f"| {backend.name} | ticket creation | {n / api_s:,.0f} tickets/s "
            f"| {n / raw_s:,.0f} tickets/s | {api_s / raw_s:.2f} |"
        )
        print(lines[-1], flush=True)

        started = time.perf_counter()
        load_tickets(helpdesk, args.tickets)
        load_s = time.perf_counter() - started
        print(f"  loaded {args.tickets:,} tickets in {load_s:.0f} s", flush=True)
        if isinstance(backend, PostgresBackend):
            conn.execute("ANALYZE")
            conn.commit()
        else:
            conn.execute("ANALYZE")
        scenarios = [
            ("active queue by priority", None, QueueSort.PRIORITY),
            ("active queue of one team by due date", "returns", QueueSort.DUE),
            ("active queue, newest first", None, QueueSort.NEWEST),
        ]
        for label, team, sort in scenarios:
            query = TicketQuery.active(team=team, sort=sort, limit=50)
            figures = latencies(
                args.runs, lambda q=query: tickets_of(helpdesk).queue(q),
                raw_queue(backend, conn, team=team, sort=sort, limit=50),
            )
            lines.append(
                f"| {backend.name} | {label} at {args.tickets:,} tickets (50 per page) "
                f"| p50 {figures['api_p50']:.2f} ms, p95 {figures['api_p95']:.2f} ms "
                f"| p50 {figures['raw_p50']:.2f} ms, p95 {figures['raw_p95']:.2f} ms "
                f"| {figures['api_p50'] / figures['raw_p50']:.2f} |"
            )
            print(lines[-1], flush=True)
        conn.close()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--create", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--record", action="store_true",
                        help="write the report into docs/benchmarks.md")
    args = parser.parse_args()

    header = [
        "| database | what | public API | raw SQL | ratio API/raw |",
        "| --- | --- | --- | --- | --- |",
    ]
    print("\n".join(header), flush=True)
    lines: list[str] = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            lines += run_backend(SqliteBackend(Path(tmp) / "bench.sqlite3"), args)
    if args.only in (None, "postgresql"):
        pg = PostgresBackend(os.environ.get("HELPDESK_TEST_DATABASE_URL", DEFAULT_PG))
        pg.reset()
        try:
            lines += run_backend(pg, args)
        finally:
            pg.reset()
    if args.record:
        record(header + lines, args)
    return 0


def record(table: list[str], args: argparse.Namespace) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    begin, end = "<!-- bench:storage:begin -->", "<!-- bench:storage:end -->"
    command = "nox -s bench -- --record" + (f" --tickets {args.tickets}"
                                            if args.tickets != 100_000 else "")
    block = "\n".join([
        begin,
        f"Recorded {datetime.now(UTC):%Y-%m-%d} with `{command}` on {platform.machine()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs.",
        "",
        *table,
        end,
    ])
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
