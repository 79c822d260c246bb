"""Ticket numbers: sequential, yearly, and unique when many threads open tickets at once."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from helpdesk_core.domain import Actor, StaffVia, TicketNumberFormat, TicketQuery

EVA = Actor.agent("eva")
THREADS, PER_THREAD = 8, 50


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    """Switch threads as often as possible, so that races show up in a short test."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def run_in_threads(work: Callable[[int, int], str]) -> list[str]:
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> list[str]:
        start.wait()
        return [work(thread, i) for i in range(PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        return [n for numbers in pool.map(worker, range(THREADS)) for n in numbers]


def test_numbers_are_sequential(helpdesk):
    numbers = [helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject=f"#{i}",
                                      message="x").number for i in range(5)]
    assert numbers == [f"HD-2026-00000{i}" for i in range(1, 6)]


def test_the_sequence_restarts_with_the_year(helpdesk, clock):
    helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="a", message="x")
    clock.set(datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="b",
                                  message="x").number == "HD-2027-000001"


def test_a_flat_format_never_restarts(make_helpdesk, clock):
    helpdesk = make_helpdesk(ticket_number=TicketNumberFormat(prefix="T-",
                                                              pattern="{prefix}{seq}"))
    first = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="a", message="x")
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    second = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.OTHER, subject="b", message="x")
    assert (first.number, second.number) == ("T-1", "T-2")


@pytest.mark.usefixtures("eager_thread_switching")
def test_concurrent_staff_entries_get_distinct_sequential_numbers(helpdesk):
    numbers = run_in_threads(lambda t, i: helpdesk.tickets.open_by_staff(
        agent=EVA, via=StaffVia.PHONE, subject=f"{t}/{i}", message="x").number)
    total = THREADS * PER_THREAD
    assert len(set(numbers)) == total
    assert sorted(numbers) == [f"HD-2026-{n:06d}" for n in range(1, total + 1)]
    assert len(helpdesk.tickets.queue(TicketQuery(limit=500)).items) == total


@pytest.mark.usefixtures("eager_thread_switching")
def test_concurrent_web_forms_with_the_builtin_directory(make_helpdesk):
    helpdesk = make_helpdesk(builtin_directory=True)
    numbers = run_in_threads(lambda t, i: helpdesk.tickets.open_from_web_form(
        {"email": f"c{t}-{i % 5}@example.cz", "message": "x"}).number)
    assert len(set(numbers)) == THREADS * PER_THREAD
    tickets = helpdesk.tickets.queue(TicketQuery(limit=500)).items
    # one contact per address, however many threads raced to create it
    by_address = {}
    for ticket in tickets:
        contact = helpdesk.directory.customer(ticket.customer_id)
        by_address.setdefault(contact.email, set()).add(contact.id)
    assert len(by_address) == THREADS * 5
    assert all(len(ids) == 1 for ids in by_address.values())


@pytest.mark.usefixtures("eager_thread_switching")
def test_concurrent_web_forms_with_the_in_memory_directory(helpdesk):
    def open_one(attempt: int, thread: int, i: int) -> str:
        return helpdesk.tickets.open_from_web_form(
            {"email": f"race{attempt}-{thread}-{i}@example.cz", "message": "x"}).number

    for attempt in range(3):
        numbers = run_in_threads(lambda t, i, a=attempt: open_one(a, t, i))
        assert len(set(numbers)) == THREADS * PER_THREAD
