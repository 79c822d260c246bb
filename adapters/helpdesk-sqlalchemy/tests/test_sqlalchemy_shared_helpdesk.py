"""One Helpdesk shared by many threads (docs/explanation/concurrency.md): every thread's work
lands once, with distinct numbers, and no thread sees an error — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from helpdesk_core import Actor, Settings, TicketQuery, bootstrap

THREADS, PER_THREAD = 8, 25
EVA = Actor.agent("eva")


def test_threads_share_one_helpdesk(url: str) -> None:
    helpdesk = bootstrap(Settings(database_url=url))
    start = threading.Barrier(THREADS)

    def work(thread: int) -> list[str]:
        start.wait()
        numbers = []
        for i in range(PER_THREAD):
            ticket = helpdesk.tickets.open_from_web_form(
                {"email": f"customer{thread}@example.cz", "message": f"thread {thread} #{i}"})
            helpdesk.tickets.add_note(ticket.number, f"seen by {thread}", agent=EVA)
            numbers.append(ticket.number)
        return numbers

    with helpdesk, ThreadPoolExecutor(THREADS) as pool:
        numbers = [n for batch in pool.map(work, range(THREADS)) for n in batch]
        assert len(set(numbers)) == THREADS * PER_THREAD
        page = helpdesk.tickets.queue(TicketQuery.active(limit=500), actor=EVA)
        assert {t.number for t in page.items} == set(numbers)
        for position in range(0, len(numbers), 37):
            articles = helpdesk.tickets.articles(numbers[position], actor=EVA)
            note = f"seen by {position // PER_THREAD}"
            assert [a.body_text for a in articles].count(note) == 1


def test_threads_changing_one_ticket_all_land(url: str) -> None:
    """A writing unit locks the ticket it loads, and a change that lost a race anyway runs
    again on the fresh ticket: no agent gets an error for a note on a busy ticket."""
    with bootstrap(Settings(database_url=url)) as helpdesk:
        ticket = helpdesk.tickets.open_from_web_form(
            {"email": "busy@example.cz", "message": "everyone is on this one"})
        start = threading.Barrier(THREADS)

        def work(thread: int) -> None:
            start.wait()
            for i in range(10):
                helpdesk.tickets.add_note(ticket.number, f"{thread}/{i}", agent=EVA)
            helpdesk.tickets.tag(ticket.number, f"t{thread}", actor=EVA)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(work, range(THREADS)))
        texts = {a.body_text for a in helpdesk.tickets.articles(ticket.number, actor=EVA)}
        assert {f"{t}/{i}" for t in range(THREADS) for i in range(10)} <= texts
        final = helpdesk.tickets.get(ticket.number, actor=EVA)
        assert {f"t{t}" for t in range(THREADS)} <= set(final.tags)
