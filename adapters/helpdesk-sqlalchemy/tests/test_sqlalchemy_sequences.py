"""Sequence counters: one atomic statement, unique under concurrency."""

from __future__ import annotations

import threading

from helpdesk_sqlalchemy import SqlAlchemyStorage
from sa_support import driver_statements


def test_next_value_is_one_upsert_statement(storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work() as uow:
        uow.sequences.next_value("warm-up")  # the transaction has begun after this
        with driver_statements() as seen:
            assert uow.sequences.next_value("ticket:2026") == 1
            assert uow.sequences.next_value("ticket:2026") == 2
        uow.commit()
    statements = [" ".join(sql.split()) for sql, _ in seen]
    assert len(statements) == 2
    assert all("ON CONFLICT (scope) DO UPDATE" in s and "RETURNING" in s for s in statements)


def test_a_rolled_back_value_is_never_shared_by_two_commits(storage: SqlAlchemyStorage) -> None:
    committed = []
    for commit in (True, False, True, False, True):
        with storage.unit_of_work() as uow:
            value = uow.sequences.next_value("s")
            if commit:
                uow.commit()
                committed.append(value)
    assert len(set(committed)) == len(committed) == 3
    assert committed == sorted(committed)


def test_threads_get_distinct_values(storage: SqlAlchemyStorage) -> None:
    threads, per_thread = 6, 25
    values: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work() -> None:
        try:
            start.wait(10)
            for _ in range(per_thread):
                with storage.unit_of_work() as uow:
                    value = uow.sequences.next_value("threads")
                    uow.commit()
                with lock:
                    values.append(value)
        except BaseException as error:
            errors.append(error)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)
    assert errors == []
    assert sorted(values) == list(range(1, threads * per_thread + 1))
