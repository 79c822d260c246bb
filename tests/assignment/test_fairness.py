"""Round-robin stays fair when many threads assign at once (in-memory storage; the SQL
adapter's tests run the same check on SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from assign_support import EVA, staff

from helpdesk_core.domain import StaffVia
from helpdesk_core.domain.staff import Agent, Team

THREADS, PER_THREAD = 8, 30
MEMBERS = ("ales", "bara", "cyril", "dana", "emil")


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def assert_fair(picks: list[tuple[int, str]], members: tuple[str, ...]) -> None:
    """Counts differ by at most one; in turn order nobody gets two in a row while another
    waits — every window of len(members) consecutive turns holds each member once."""
    positions = [p for p, _ in picks]
    assert sorted(positions) == list(range(1, len(picks) + 1))  # distinct, no gaps
    counts = Counter(agent for _, agent in picks)
    assert set(counts) == set(members)
    assert max(counts.values()) - min(counts.values()) <= 1
    in_turn = [agent for _, agent in sorted(picks)]
    for start in range(len(in_turn) - len(members) + 1):
        assert sorted(in_turn[start:start + len(members)]) == sorted(members)


@pytest.mark.usefixtures("eager_thread_switching")
def test_concurrent_round_robin_is_fair_in_memory(make_helpdesk):
    agents = tuple(Agent(m) for m in MEMBERS)
    helpdesk = make_helpdesk(staff=staff(agents=agents, teams=(Team("desk", members=MEMBERS),),
                                         helpdesk_team="desk"))
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> list[tuple[int, str]]:
        start.wait()
        picks = []
        for i in range(PER_THREAD):
            ticket = helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE,
                                            subject=f"{thread}/{i}", message="x")
            [trace] = helpdesk.staff.trace(ticket.id)
            pick = trace["trace"][-1]["team_pick"]
            assert pick["picked"] == ticket.assignee
            picks.append((pick["position"], ticket.assignee))
        return picks

    with ThreadPoolExecutor(THREADS) as pool:
        picks = [p for chunk in pool.map(worker, range(THREADS)) for p in chunk]
    assert len(picks) == THREADS * PER_THREAD
    assert_fair(picks, MEMBERS)
