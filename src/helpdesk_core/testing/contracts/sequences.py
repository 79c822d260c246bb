"""Sequence counters: 1, 2, 3 ... per scope, never one value twice.

Covers :class:`~helpdesk_core.ports.storage.SequenceAllocator`.
"""

from __future__ import annotations

import threading

from helpdesk_core.ports.storage import SequenceAllocator, Storage
from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.capabilities import Capabilities

__all__ = ["TestSequenceAllocator"]

COVERS = (SequenceAllocator,)


def _take(storage: Storage, scope: str, count: int, values: list[int],
          errors: list[BaseException], start: threading.Barrier) -> None:
    try:
        start.wait(30)
        for _ in range(count):
            with storage.unit_of_work() as uow:
                value = uow.sequences.next_value(scope)
                uow.commit()
            values.append(value)  # list.append is atomic
    except BaseException as error:  # reported by the caller
        errors.append(error)


def _run(takers: list[Storage], scope: str, count: int) -> list[int]:
    values: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(takers))
    threads = [threading.Thread(target=_take, args=(s, scope, count, values, errors, start))
               for s in takers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    return values


class TestSequenceAllocator:
    def test_sequences_count_per_scope(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            values = [uow.sequences.next_value("ticket:2026") for _ in range(3)]
            other = uow.sequences.next_value("ticket:2027")
            uow.commit()
        with storage.unit_of_work() as uow:
            later = uow.sequences.next_value("ticket:2026")
            uow.commit()
        assert values == [1, 2, 3]
        assert other == 1
        assert later == 4

    def test_concurrent_units_never_share_a_value(self, storage: Storage) -> None:
        values = _run([storage] * 4, "threads", 10)
        assert sorted(values) == list(range(1, 41))

    def test_two_instances_on_one_database_never_share_a_value(
        self, helpdesk_backend: Backend, storage: Storage,
        storage_capabilities: Capabilities,
    ) -> None:
        if storage_capabilities.offers("durable"):
            with helpdesk_backend.reopened(storage) as other:
                values = _run([storage, other, storage, other], "instances", 10)
            assert sorted(values) == list(range(1, 41))
        else:
            # The store lives and dies with its instance: a new one counts on its own.
            with helpdesk_backend.fresh_storage() as other:
                values = _run([storage, other, storage, other], "instances", 10)
            assert sorted(values) == sorted([*range(1, 21), *range(1, 21)])
