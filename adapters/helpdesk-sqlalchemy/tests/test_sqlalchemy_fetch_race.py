"""Several fetcher processes on one mailbox: each mail stored once, every ledger row finished.

A fetcher that loses the race for a mail must see only ConcurrencyError (counted as
``FetchReport.lost_races``), never a failure of the mail, and must never write over the
winner's row. The suite runs a short version; ``nox -s faults_fetch`` runs 1,000 mails
(``HELPDESK_FAULTS_FETCH_MAILS``).
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from fetch_support import DirectoryInbox, fetch_mail, fetch_worker
from helpdesk_core import Settings, StagedState, bootstrap

MAILS = os.environ.get("HELPDESK_FAULTS_FETCH_MAILS")


@pytest.mark.parametrize(("backend", "workers", "count"), [
    pytest.param("postgresql", 4, 100, marks=pytest.mark.postgres, id="postgresql-4"),
    pytest.param("postgresql", 8, 100, marks=pytest.mark.postgres, id="postgresql-8"),
    pytest.param("sqlite", 2, 50, id="sqlite-2"),
])
def test_concurrent_fetchers_store_each_mail_once_and_finish_every_row(
    backend: str, workers: int, count: int, request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    count = int(MAILS) if MAILS else count
    url: str = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    options = {"sqlite_busy_timeout_ms": 60_000} if backend == "sqlite" else {}
    with bootstrap(Settings(database_url=url, migrate=True, options=options),
                   environ={}) as helpdesk:
        maildir = tmp_path / "inbox"
        maildir.mkdir()
        inbox = DirectoryInbox(maildir)
        for number in range(count):
            inbox.deliver(number, fetch_mail(number))

        context = multiprocessing.get_context("spawn")
        start = context.Barrier(workers)
        results = context.Queue()
        processes = [context.Process(target=fetch_worker,
                                     args=(url, str(maildir), start, results, n, options))
                     for n in range(workers)]
        for process in processes:
            process.start()
        reports = [results.get(timeout=900) for _ in processes]
        for process in processes:
            process.join(60)

        errors = [e for _, _, errs in reports for e in errs]
        totals = {name: sum(t[name] for _, t, _ in reports) for name in reports[0][1]}
        print(f"{backend}, {workers} fetchers, {count} mails: {totals}")
        assert errors == []
        assert (totals["failed"], totals["quarantined"]) == (0, 0)
        assert totals["processed"] == count  # each mail handled once, by one fetcher
        assert inbox.remaining() == 0
        rows = helpdesk.mail.staged(limit=count + 10)
        assert len(rows) == count
        assert {(r.state, r.attempts, r.acknowledged) for r in rows} == {
            (StagedState.PROCESSED, 0, True)}
        assert {r.outcome for r in rows} == {"new_ticket"}
        engine = helpdesk.storage.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            tickets, subjects = conn.execute(text(
                "SELECT count(*), count(DISTINCT subject) FROM tickets")).one()
            messages = conn.execute(text(
                "SELECT count(*) FROM mail_messages WHERE direction = 'inbound'")).scalar()
            contacts = conn.execute(text("SELECT count(*) FROM contacts")).scalar()
        assert (tickets, subjects, messages) == (count, count, count)  # none lost, none twice
        assert contacts == len({fetch_mail(n).split(b"\r\n")[0] for n in range(count)})
