"""The facade's hostile-argument property on SQLite and PostgreSQL: every public method of
every section, fed values of the wrong type and hostile strings (lone surrogates, NUL bytes,
huge text), lets only the library's own errors out, and a refused call leaves every table as
it was. The in-memory run in ``tests/property`` draws many more examples; this one checks
that the databases answer as the model does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.testing.facade_calls import (
    call_arguments,
    call_refused_cleanly,
    section_class,
    section_methods,
    seed,
    shop_directory,
)
from helpdesk_sqlalchemy.tables import metadata

EXAMPLES = int(os.environ.get("HELPDESK_HOSTILE_SQL_EXAMPLES", "6"))
METHODS = section_methods()


@pytest.fixture
def desk(url: str) -> Iterator[Helpdesk]:
    helpdesk = bootstrap(Settings(database_url=url, migrate=True), directory=shop_directory(),
                         clock=FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)), environ={})
    seed(helpdesk)
    yield helpdesk
    helpdesk.close()


def written(desk: Helpdesk) -> dict[str, list[str]]:
    """Every row of every table but the sequences (a refused call may use up a number, as a
    database sequence does)."""
    engine = desk.storage.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {table.name: sorted(map(repr, connection.execute(select(table))))
                for table in metadata.sorted_tables if table.name != "sequences"}


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@pytest.mark.parametrize(("section", "name"), METHODS, ids=[f"{s}.{m}" for s, m in METHODS])
def test_only_the_librarys_errors_come_out_and_a_refusal_leaves_every_table(
        desk: Helpdesk, section: str, name: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(call_arguments(getattr(section_class(section), name)))
    def attempt(drawn: tuple[list[Any], dict[str, Any]]) -> None:
        call_refused_cleanly(desk, section, name, drawn, written)

    attempt()
