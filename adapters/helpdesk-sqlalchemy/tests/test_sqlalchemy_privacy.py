"""``helpdesk.privacy`` on SQLite and PostgreSQL: after a customer's erasure no value in any
column of any table holds her name, addresses or numbers, and the statistics are those of
before; the export reads the same history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.testing.privacy import ADMIN, EVA, T0, build_history, leaks, statistics
from helpdesk_sqlalchemy.tables import metadata

REASON = "erasure request 2026/17"


@pytest.fixture
def desk(url: str) -> Iterator[Helpdesk]:
    with bootstrap(Settings(database_url=url), clock=FakeClock(T0), environ={}) as helpdesk:
        yield helpdesk


def _every_stored_value(desk: Helpdesk) -> list[Any]:
    engine = desk.storage.engine  # type: ignore[attr-defined]
    values: list[Any] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                values += [v for v in row if v is not None]
    return values


def test_after_erasure_no_column_names_her(desk: Helpdesk) -> None:
    jana = build_history(desk)
    assert len(leaks(_every_stored_value(desk), jana)) > 20
    export = desk.privacy.export(jana.contact_id, actor=EVA)
    assert {t["number"] for t in export.tickets} == set(jana.ticket_numbers)
    assert any(f.filename.endswith("invoice.pdf") for f in export.files)
    before = statistics(desk)
    report = desk.privacy.erase(jana.contact_id, actor=ADMIN, reason=REASON)
    assert leaks(_every_stored_value(desk), jana) == []
    assert statistics(desk) == before
    assert report.blobs_deleted > 0
    assert report.blobs_kept == ()
    again = desk.privacy.erase(jana.contact_id, actor=ADMIN, reason=REASON)
    assert again.already_erased
    assert statistics(desk) == before
