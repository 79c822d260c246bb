"""Merging on PostgreSQL from several OS processes at once.

* Two processes merge A into B and B into A at the same moment (released by a barrier), ten
  fresh pairs in a row: exactly one merge lands, the other is refused (MergeConflict, or
  ConcurrencyError should it run out of retries), and every article is on the survivor once.
* One process ingests a customer's reply to A (by number and by In-Reply-To) while another
  merges A into B: whichever commits first, the reply ends on B exactly once and A keeps
  nothing. Both orders are forced by holding one side's transaction open (an in-transaction
  bus handler registered in that process sleeps before the commit, its rows locked), and a
  few rounds run unforced.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core import Actor, Helpdesk, bootstrap
from merge_support import (
    customer_mail,
    interleaved_worker,
    merge_race_worker,
    settings,
)

pytestmark = pytest.mark.postgres

AGENT = Actor.agent("eva")
PAIRS = 10
REFUSED = ("MergeConflict", "ConcurrencyError")


@pytest.fixture
def desk(pg_url: str) -> Any:
    from helpdesk_sqlalchemy import SqlAlchemyStorage

    storage = SqlAlchemyStorage.from_url(pg_url)
    storage.migrate()
    storage.close()
    with bootstrap(settings(pg_url), environ={}) as helpdesk:
        yield helpdesk


def _ticket(desk: Helpdesk, label: str, sender: str = "jana@example.cz") -> str:
    """A ticket opened by the customer's mail (with its acknowledgement) and an agent's note."""
    outcome = desk.mail.receive(customer_mail(f"Konvice {label}", f"Konvice {label} nehřeje.",
                                              message_id=f"<{label}@mail.example.cz>",
                                              sender=sender))
    assert outcome.outcome == "new_ticket"
    assert outcome.ticket_number is not None
    desk.tickets.add_note(outcome.ticket_number, f"note on {label}", agent=AGENT)
    return outcome.ticket_number


def _article_ids(desk: Helpdesk, number: str) -> list[str]:
    return [a.id for a in desk.tickets.articles(number)]


def test_opposite_merges_at_the_same_moment_one_lands(desk: Helpdesk, pg_url: str) -> None:
    pairs = [(_ticket(desk, f"a{i}"), _ticket(desk, f"b{i}")) for i in range(PAIRS)]
    before = {n: _article_ids(desk, n) for pair in pairs for n in pair}
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    plans = [pairs, [(b, a) for a, b in pairs]]  # worker 0: B into A; worker 1: A into B
    processes = [context.Process(target=merge_race_worker,
                                 args=(pg_url, plan, start, results, n))
                 for n, plan in enumerate(plans)]
    began = time.monotonic()
    for process in processes:
        process.start()
    reports = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(30)
    print(f"{PAIRS} opposite-merge races in {time.monotonic() - began:.1f} s")
    assert [problem for _, _, problem in reports] == [None, None]
    tally: Counter[str] = Counter()
    for i, (a, b) in enumerate(pairs):
        first, second = reports[0][1][i], reports[1][1][i]
        results_ = [first[2], second[2]]
        assert results_.count("ok") == 1, results_
        refused = next(r for r in results_ if r != "ok")
        assert refused.startswith(REFUSED), refused
        tally[refused.split(":")[0]] += 1
        survivor, merged = (a, b) if first[2] == "ok" else (b, a)
        live, gone = desk.tickets.get(survivor), desk.tickets.get(merged)
        assert live.merged_into is None
        assert live.status != "merged"
        assert gone.merged_into == live.id
        assert gone.status == "merged"
        assert _article_ids(desk, merged) == []
        on_live = _article_ids(desk, survivor)
        assert len(on_live) == len(set(on_live))  # none twice
        assert sorted(on_live) == sorted(before[a] + before[b])  # none lost
    print(f"refused as: {dict(tally)}")


ORDERS = ["merge_first", "ingest_first", "unforced", "unforced", "unforced"]


def test_a_reply_during_a_merge_ends_on_the_survivor_once(
    desk: Helpdesk, pg_url: str, tmp_path: Path,
) -> None:
    """Five rounds, one merging process and one ingesting process: the first round holds
    the merge's transaction open (the reply waits for it and follows the merge), the second
    holds the reply's (the merge waits and takes the reply along), the rest race freely."""
    plans: dict[str, list[dict[str, Any]]] = {"merge": [], "ingest": []}
    tickets = []
    for i, order in enumerate(ORDERS):
        sender = f"jana{i}@example.cz"  # a customer per round: each is acknowledged
        a, b = _ticket(desk, f"r{i}-a", sender), _ticket(desk, f"r{i}-b", sender)
        [ack] = [m for m in desk.outbox.for_ticket(a) if m.message_id]
        before = set(_article_ids(desk, a)) | set(_article_ids(desk, b))
        tickets.append((a, b, before))
        raw = customer_mail(f"Re: [{a}] Konvice", f"Posílám fotku {i}.", sender=sender,
                            message_id=f"<reply-{i}@mail.example.cz>",
                            in_reply_to=ack.message_id)
        common = {"go": str(tmp_path / f"go-{i}")}
        signal = str(tmp_path / f"held-{i}")
        merge: dict[str, Any] = {**common, "target": b, "source": a,
                                 "ready": str(tmp_path / f"ready-merge-{i}")}
        ingest: dict[str, Any] = {**common, "raw": raw,
                                  "ready": str(tmp_path / f"ready-ingest-{i}")}
        if order == "merge_first":
            merge |= {"hold": 1.0, "signal": signal}
            ingest["wait_for"] = signal
        elif order == "ingest_first":
            ingest |= {"hold": 1.0, "signal": signal}
            merge["wait_for"] = signal
        plans["merge"].append(merge)
        plans["ingest"].append(ingest)

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=interleaved_worker, args=(pg_url, role, plan, results))
                 for role, plan in plans.items()]
    began = time.monotonic()
    for process in processes:
        process.start()
    done: dict[tuple[str, int], tuple[str, float]] = {}
    for i in range(len(ORDERS)):
        deadline = time.monotonic() + 60
        while not (Path(plans["merge"][i]["ready"]).exists()
                   and Path(plans["ingest"][i]["ready"]).exists()):
            assert time.monotonic() < deadline, "a worker did not get ready"
            assert all(p.is_alive() for p in processes), "a worker died"
            time.sleep(0.005)
        Path(plans["merge"][i]["go"]).touch()  # both released at once
        for _ in range(2):
            role, index, outcome, finished = results.get(timeout=60)
            assert index == i, outcome
            done[role, i] = (outcome, finished)
    for process in processes:
        process.join(30)
    print(f"{len(ORDERS)} reply/merge rounds in {time.monotonic() - began:.1f} s")

    for i, (order, (a, b, before)) in enumerate(zip(ORDERS, tickets, strict=True)):
        (merged, merge_end), (replied, ingest_end) = done["merge", i], done["ingest", i]
        assert merged == "ok", (order, merged)
        assert replied in (f"reply {a}", f"reply {b}"), (order, replied)
        if order == "merge_first":  # the reply waited for the merge and followed it
            assert replied == f"reply {b}"
            assert ingest_end > merge_end
        elif order == "ingest_first":  # the merge waited and took the reply along
            assert replied == f"reply {a}"
            assert merge_end > ingest_end
        assert _article_ids(desk, a) == [], order
        on_b = desk.tickets.articles(b)
        ids = [x.id for x in on_b]
        assert len(ids) == len(set(ids)), order  # none twice
        replies = [x for x in on_b if x.body_text.strip() == f"Posílám fotku {i}."]
        assert len(replies) == 1, order  # the reply once, on the survivor
        assert set(ids) == before | {replies[0].id}, order  # nothing lost
        assert desk.tickets.get(a).merged_into == desk.tickets.get(b).id
