"""The SLA sweep's find step at two table sizes: its cost must follow the due tickets, not all.

For each backend a fresh database gets N tickets and their SLA records through SQL (bulk,
so loading a million takes seconds, not hours); ``due`` of them have ``next_at`` in the past,
the rest are spread over the coming year. The measured call is the one the sweep makes:
``uow.sla.due(now=..., limit=<due>)`` through the storage adapter, in a read-only unit of
work, median of repeated runs. Sizes: PostgreSQL 100,000 and 1,000,000; SQLite 10,000 and
100,000; each with 1,000 and 2,000 due tickets.

    python benchmarks/sla_sweep.py [--quick] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from helpdesk_sqlalchemy import SqlAlchemyStorage

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "helpdesk_bench_sla"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# One statement each; {n} tickets, {due} of them due before NOW. Columns follow tables.py.
_PG_TICKETS = """
INSERT INTO tickets (id, number, subject, status, status_category, priority, priority_rank,
    channel, created_at, updated_at, due_sort, custom_fields, links, version, event_seq)
SELECT lpad(to_hex(g), 32, '0'), 'B-' || g, 'Ticket ' || g, 'open', 'open', 'normal', 2,
    'email', timestamptz '2026-01-01' + g * interval '1 second',
    timestamptz '2026-01-01' + g * interval '1 second', timestamptz '9999-01-01', '{{}}',
    '[]', 1, 1
FROM generate_series(1, {n}) AS g
"""
_PG_SLA = """
INSERT INTO sla_state (ticket_id, policy, reason, updated_at, next_at)
SELECT lpad(to_hex(g), 32, '0'), 'standard', 'default', timestamptz '2026-05-01',
    CASE WHEN g <= {due} THEN timestamptz '2026-06-01 11:00' - g * interval '1 second'
         ELSE timestamptz '2026-06-02' + (g % 31536000) * interval '1 second' END
FROM generate_series(1, {n}) AS g
"""
_SQLITE_TICKETS = """
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})
INSERT INTO tickets (id, number, subject, status, status_category, priority, priority_rank,
    channel, created_at, updated_at, due_sort, custom_fields, links, version, event_seq)
SELECT printf('%032x', i), 'B-' || i, 'Ticket ' || i, 'open', 'open', 'normal', 2, 'email',
    strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01', '+' || i || ' seconds'),
    strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01', '+' || i || ' seconds'),
    '9999-01-01 00:00:00.000000', '{{}}', '[]', 1, 1
FROM g
"""
_SQLITE_SLA = """
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})
INSERT INTO sla_state (ticket_id, policy, reason, updated_at, next_at)
SELECT printf('%032x', i), 'standard', 'default', '2026-05-01 00:00:00.000000',
    CASE WHEN i <= {due}
         THEN strftime('%Y-%m-%d %H:%M:%f000', '2026-06-01 11:00:00', '-' || i || ' seconds')
         ELSE strftime('%Y-%m-%d %H:%M:%f000', '2026-06-02',
                       '+' || (i % 31536000) || ' seconds') END
FROM g
"""


def _find_ms(storage: SqlAlchemyStorage, runs: int, due: int) -> tuple[float, int]:
    times: list[float] = []
    found = 0
    for _ in range(runs):
        start = time.perf_counter()
        with storage.unit_of_work(read_only=True) as uow:
            found = len(uow.sla.due(now=NOW, limit=due))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), found


def _pg(n: int, due: int, runs: int) -> tuple[float, int, float]:
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
    sep = "&" if "?" in PG_URL else "?"
    storage = SqlAlchemyStorage.from_url(f"{PG_URL}{sep}options=-csearch_path%3D{SCHEMA}")
    try:
        storage.migrate()
        started = time.perf_counter()
        with psycopg.connect(dsn, options=f"-csearch_path={SCHEMA}") as conn:
            conn.execute(_PG_TICKETS.format(n=n))  # type: ignore[arg-type]
            conn.execute(_PG_SLA.format(n=n, due=due))  # type: ignore[arg-type]
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE sla_state")
        load = time.perf_counter() - started
        median, found = _find_ms(storage, runs, due)
        return median, found, load
    finally:
        storage.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def _sqlite(n: int, due: int, runs: int) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory(prefix="helpdesk-sla-") as folder:
        storage = SqlAlchemyStorage.from_url(f"sqlite:///{folder}/sla.sqlite3")
        try:
            storage.migrate()
            started = time.perf_counter()
            with storage.engine.begin() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute(_SQLITE_TICKETS.format(n=n))
                raw.execute(_SQLITE_SLA.format(n=n, due=due))
            with storage.engine.connect() as conn:
                conn.connection.driver_connection.execute("ANALYZE")  # type: ignore[union-attr]
            load = time.perf_counter() - started
            median, found = _find_ms(storage, runs, due)
            return median, found, load
        finally:
            storage.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    plans = ([("SQLite", _sqlite, (2_000, 20_000)), ("PostgreSQL", _pg, (10_000, 100_000))]
             if args.quick else
             [("SQLite", _sqlite, (10_000, 100_000)), ("PostgreSQL", _pg, (100_000, 1_000_000))])
    lines = ["| database | tickets | due | find the due (median ms) | found | load s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, run, sizes in plans:
        for n in sizes:
            for due in (1_000, 2_000):
                median, found, load = run(n, due, args.runs)
                lines.append(f"| {name} | {n:,} | {due:,} | {median:.2f} | {found:,} | "
                             f"{load:.1f} |")
                print(lines[-1], flush=True)
    print("\n".join(lines))
    if args.record:
        _record(lines, quick=args.quick)
    return 0


def _record(table: list[str], *, quick: bool) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    begin, end = "<!-- bench:sla:begin -->", "<!-- bench:sla:end -->"
    command = "python benchmarks/sla_sweep.py --record" + (" --quick" if quick else "")
    block = "\n".join([
        begin,
        f"Recorded {datetime.now(UTC):%Y-%m-%d} with `{command}` on {platform.machine()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs. \"find the due\" is "
        "`uow.sla.due(now=…, limit=<due>)`, the sweep's only read of the table.",
        "", *table, end])
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## SLA sweep\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
