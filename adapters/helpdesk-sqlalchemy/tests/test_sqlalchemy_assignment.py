"""The assignment chain on SQL storage: round-robin stays fair under concurrent assignment,
and the trace comes back from the database as it was written.

Round-robin positions come from the storage's per-scope sequence (``round_robin:<team>``),
allocated inside the transaction that creates the ticket, so concurrent assignments get
distinct, gap-free positions without any lock of the core's own.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpdesk_core import Actor, Helpdesk, Settings, StaffVia, Ticket, bootstrap
from helpdesk_core.domain.staff import Agent, HelpdeskStaff, Team

THREADS, PER_THREAD = 8, 25
MEMBERS = ("ales", "bara", "cyril", "dana", "emil")
EVA = Actor.agent("eva")
STAFF = HelpdeskStaff(agents=tuple(Agent(m) for m in MEMBERS),
                      teams=(Team("desk", members=MEMBERS),), helpdesk_team="desk")


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def helpdesk(url: str) -> Iterator[Helpdesk]:
    with bootstrap(Settings(database_url=url, staff=STAFF), environ={}) as made:
        yield made


def run_concurrently(helpdesk: Helpdesk) -> list[tuple[int, str, str]]:
    """(round-robin position, assignee, ticket number) of every ticket the threads opened."""
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> list[tuple[int, str, str]]:
        start.wait()
        opened: list[Ticket] = []
        for i in range(PER_THREAD):
            ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE,
                                            subject=f"{thread}/{i}", message="x")
            assert ticket.assignee is not None
            opened.append(ticket)
        picks: list[tuple[int, str, str]] = []
        for ticket in opened:
            [trace] = helpdesk.staff.trace(ticket.id)
            pick = trace["trace"][-1]["team_pick"]
            assert pick["picked"] == ticket.assignee
            picks.append((pick["position"], pick["picked"], ticket.number))
        return picks

    with ThreadPoolExecutor(THREADS) as pool:
        return [p for chunk in pool.map(worker, range(THREADS)) for p in chunk]


@pytest.mark.usefixtures("eager_thread_switching")
def test_round_robin_is_fair_under_concurrent_assignment(helpdesk: Helpdesk) -> None:
    began = time.perf_counter()
    picks = run_concurrently(helpdesk)
    elapsed = time.perf_counter() - began
    total = THREADS * PER_THREAD
    assert len(picks) == total
    # every assignment got its own turn, with no gap and no repeat
    assert sorted(p for p, _, _ in picks) == list(range(1, total + 1))
    # the counts differ by at most one (here they are equal: 200 tickets, 5 agents)
    counts = Counter(agent for _, agent, _ in picks)
    assert set(counts) == set(MEMBERS)
    assert max(counts.values()) - min(counts.values()) <= 1
    # in turn order nobody gets two in a row while another waits: every window of five
    # consecutive turns holds each member exactly once
    in_turn = [agent for _, agent, _ in sorted(picks)]
    for first in range(total - len(MEMBERS) + 1):
        assert sorted(in_turn[first:first + len(MEMBERS)]) == sorted(MEMBERS)
    # turns follow the order in which the tickets were numbered (both come from
    # sequences taken in the same transaction)
    by_number = [position for position, _, _ in sorted(picks, key=lambda p: p[2])]
    assert by_number == list(range(1, total + 1))
    print(f"\n{total} concurrent assignments by {THREADS} threads in {elapsed:.2f}s: "
          f"{dict(sorted(counts.items()))}")


def test_the_trace_round_trips_through_the_database(helpdesk: Helpdesk) -> None:
    ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="x", message="x")
    [trace] = helpdesk.staff.trace(ticket.number)
    assert trace["winner"] == "helpdesk_owner"
    assert trace["strategy"] == "round_robin"
    assert [s["resolver"] for s in trace["trace"]] == [
        "incident_type", "account_owner", "channel_owner", "helpdesk_owner"]
    assert trace["trace"][-1]["team_pick"] == {
        "team": "desk", "strategy": "round_robin", "candidates": list(MEMBERS), "position": 1,
        "picked": "ales", "why": "round-robin turn 1 in team desk"}
    helpdesk.staff.reassign(ticket.id, "emil", actor=EVA, reason="knows the customer")
    assert [(t["winner"], t["new"]) for t in helpdesk.staff.trace(ticket.id)] == [
        ("helpdesk_owner", "ales"), ("manual", "emil")]
