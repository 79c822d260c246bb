"""Acceptance: 1,000 tickets opened at once through the public API by several processes get
1,000 distinct numbers, and no process sees an error (8 processes on PostgreSQL, 2 on one
SQLite file)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from queue import Empty

import pytest
from sqlalchemy import func, select

from helpdesk_sqlalchemy import SqlAlchemyStorage
from helpdesk_sqlalchemy.tables import ticket_events, tickets
from sa_support import create_tickets_worker, migrate_worker, sqlite_url_for

TOTAL = 1_000


def _run_workers(url: str, processes: int) -> list[str]:
    storage = SqlAlchemyStorage.from_url(url)
    storage.migrate()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    per_process = TOTAL // processes
    workers = [
        ctx.Process(target=create_tickets_worker, args=(url, per_process, start, results, n))
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.set()
    numbers: list[str] = []
    errors: list[str] = []
    try:
        for _ in workers:
            try:
                _worker, got, failed = results.get(timeout=300)
            except Empty:
                pytest.fail("a worker did not report within 5 minutes")
            numbers += got
            errors += failed
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    assert errors == [], errors[:5]
    assert all(worker.exitcode == 0 for worker in workers)
    with storage.engine.connect() as conn:
        stored = conn.execute(select(tickets.c.number)).scalars().all()
        created = conn.execute(
            select(func.count()).select_from(ticket_events)
            .where(ticket_events.c.kind == "created")
        ).scalar_one()
    storage.close()
    assert len(stored) == TOTAL
    assert created == TOTAL  # each ticket's "created" event, committed with it
    assert sorted(stored) == sorted(numbers)
    return numbers


def _check_numbers(numbers: list[str]) -> None:
    assert len(numbers) == TOTAL
    assert len(set(numbers)) == TOTAL
    # Nothing rolled back, so the yearly counter has no gaps either.
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert seqs == list(range(1, TOTAL + 1))


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_on_postgresql(pg_url: str) -> None:
    _check_numbers(_run_workers(pg_url, processes=8))


@pytest.mark.slow
def test_two_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    _check_numbers(_run_workers(sqlite_url_for(tmp_path / "shared.sqlite3"), processes=2))


def _migrate_concurrently(url: str, processes: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    workers = [ctx.Process(target=migrate_worker, args=(url, start, results))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert outcomes == [None] * processes


@pytest.mark.slow
@pytest.mark.postgres
def test_processes_migrating_at_once_on_postgresql(pg_url: str) -> None:
    _migrate_concurrently(pg_url, processes=4)


@pytest.mark.slow
def test_processes_migrating_at_once_on_sqlite(tmp_path: Path) -> None:
    _migrate_concurrently(sqlite_url_for(tmp_path / "fresh.sqlite3"), processes=4)
