"""Changes of one ticket from many threads at once: each lands, none is lost, and no caller
gets an error for a change that only lost a race (docs/explanation/concurrency.md)."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpdesk_core.domain import Actor
from helpdesk_core.errors import ConcurrencyError

EVA = Actor.agent("eva")
THREADS, PER_THREAD = 8, 20


@pytest.fixture(autouse=True)
def eager_thread_switching():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_notes_from_many_threads_on_one_ticket_all_land(helpdesk):
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz",
                                                  "message": "a busy ticket"})
    start = threading.Barrier(THREADS)

    def work(thread: int) -> None:
        start.wait()
        for i in range(PER_THREAD):
            helpdesk.tickets.add_note(ticket.number, f"{thread}/{i}", agent=EVA)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    texts = [a.body_text for a in helpdesk.tickets.articles(ticket.number)]
    expected = {f"{t}/{i}" for t in range(THREADS) for i in range(PER_THREAD)}
    assert sorted(t for t in texts if t in expected) == sorted(expected)


def test_a_change_against_a_version_seen_earlier_is_not_redone(helpdesk):
    """With expected_version the caller decided on what they saw; that is never retried."""
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz",
                                                  "message": "two agents"})
    helpdesk.tickets.add_note(ticket.number, "first", agent=EVA)
    with pytest.raises(ConcurrencyError):
        helpdesk.tickets.transition(ticket.number, "in_progress", actor=EVA,
                                    expected_version=ticket.version)
