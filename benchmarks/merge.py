"""Merging a big ticket and undoing it, against writing its articles in the first place.

For each backend (SQLite; PostgreSQL too when ``HELPDESK_TEST_DATABASE_URL`` is set) a fresh
database gets a ticket with 1,000 articles, 100 of them carrying an attachment (its bytes
stored with ``helpdesk.tickets.add_attachment``, its AttachmentMeta on the article), and a
second, small ticket. Each round, side by side:

* **baseline** — the same 1,000 articles (with their attachment metadata) added to a fresh
  ticket in one unit of work: load, ``Ticket.add_article`` 1,000 times, save, commit;
* **merge** — ``helpdesk.tickets.merge(small, [big])``: the 1,000 article rows move;
* **unmerge** — ``helpdesk.tickets.unmerge(big)``: they move back.

Medians over the rounds; the ratios merge/baseline and unmerge/baseline are the figures.

    python benchmarks/merge.py [--rounds N] [--only sqlite|postgresql] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpdesk_core import Actor, Helpdesk, Settings, StaffVia, bootstrap
from helpdesk_core.domain import Direction
from helpdesk_core.domain.values import Channel

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = 1_000
ATTACHMENTS = 100
AGENT = Actor.agent("bench", name="Bench")


def _open(desk: Helpdesk, subject: str) -> str:
    return desk.tickets.open_by_staff(agent=AGENT, via=StaffVia.PHONE, subject=subject,
                                      message="Zákazník volá kvůli objednávce.").number


def _fill(desk: Helpdesk, number: str, attachments: list[Any], count: int) -> None:
    """``count`` articles on ticket ``number`` in one unit of work, every tenth with one of
    ``attachments``."""
    storage: Any = desk.storage
    with storage.unit_of_work() as uow:
        ticket = uow.tickets.get_by_number(number)
        for i in range(count):
            ticket.add_article(
                direction=Direction.INBOUND if i % 2 else Direction.OUTBOUND,
                channel=Channel.EMAIL, author=AGENT, at=datetime.now(UTC),
                body_text=f"Zpráva {i}: konvice nehřeje, posílám fotku a účtenku.",
                attachments=(attachments[(i // 10) % len(attachments)],) if i % 10 == 0 else (),
                meta={"message_id": f"<{uuid.uuid4().hex}@mail.example.cz>"})
        uow.tickets.save(ticket)
        uow.commit()


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def measure(url: str, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"baseline": [], "merge": [], "unmerge": []}
    with bootstrap(Settings(database_url=url, migrate=True), environ={}) as desk:
        attachments = [desk.tickets.add_attachment(
            data=f"%PDF-1.4 účtenka {i} ".encode() * 200, filename=f"uctenka-{i}.pdf",
            content_type="application/pdf") for i in range(ATTACHMENTS)]
        big, small = _open(desk, "Velký tiket"), _open(desk, "Malý tiket")
        _fill(desk, big, attachments, ARTICLES - 1)  # and the first article: 1,000
        assert len(desk.tickets.articles(big)) == ARTICLES
        assert sum(len(a.attachments) for a in desk.tickets.articles(big)) == ATTACHMENTS
        for _ in range(rounds):
            fresh = _open(desk, "Základ")
            times["baseline"].append(_timed(lambda n=fresh: _fill(desk, n, attachments,
                                                                   ARTICLES)))
            times["merge"].append(_timed(lambda: desk.tickets.merge(small, [big],
                                                                    actor=AGENT)))
            assert desk.tickets.articles(big) == []
            times["unmerge"].append(_timed(lambda: desk.tickets.unmerge(big, actor=AGENT)))
            assert len(desk.tickets.articles(big)) == ARTICLES
    return times


def _pg_url() -> tuple[str, Callable[[], None]] | None:
    base = os.environ.get("HELPDESK_TEST_DATABASE_URL")
    if not base:
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"helpdesk_bench_merge_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    lines = ["| database | baseline: 1,000 articles written (median ms) | merge (ms) | "
             "unmerge (ms) | merge/baseline | unmerge/baseline |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory(prefix="helpdesk-merge-") as folder:
            lines.append(_row("SQLite", measure(f"sqlite:///{folder}/merge.sqlite3",
                                                args.rounds)))
            print(lines[-1], flush=True)
    pg = _pg_url() if args.only != "sqlite" else None
    if pg is not None:
        url, drop = pg
        try:
            lines.append(_row("PostgreSQL", measure(url, args.rounds)))
            print(lines[-1], flush=True)
        finally:
            drop()
    print("\n".join(lines))
    if args.record:
        _record(lines, rounds=args.rounds)
    return 0


def _row(name: str, times: dict[str, list[float]]) -> str:
    base, merge, unmerge = (statistics.median(times[k]) for k in ("baseline", "merge",
                                                                   "unmerge"))
    return (f"| {name} | {base:.1f} | {merge:.1f} | {unmerge:.1f} | {merge / base:.2f} | "
            f"{unmerge / base:.2f} |")


def _record(table: list[str], *, rounds: int) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    begin, end = "<!-- bench:merge:begin -->", "<!-- bench:merge:end -->"
    command = "python benchmarks/merge.py --record" + (f" --rounds {rounds}"
                                                       if rounds != 7 else "")
    block = "\n".join([
        begin,
        f"Recorded {datetime.now(UTC):%Y-%m-%d} with `{command}` (also run by `nox -s bench`) "
        f"on {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"medians of {rounds} rounds, each measuring the baseline, the merge and its undo "
        "side by side.",
        "", *table, end])
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Merge\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
