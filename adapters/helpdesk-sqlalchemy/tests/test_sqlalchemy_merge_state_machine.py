"""Merge, undo, split and links against mail, SMS, portal replies and notes on SQLite and
PostgreSQL, beside the in-memory model: the state machine of
:mod:`helpdesk_core.testing.merge_model`, a fresh database (SQLite file, PostgreSQL schema)
per example. Short here; ``nox -s merge_model`` runs it long
(``HELPDESK_MERGE_SQL_EXAMPLES``, ``HELPDESK_MERGE_STEPS``)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.testing.merge_model import MakeHelpdesk, merge_state_machine
from helpdesk_sqlalchemy import plugin as sqlalchemy_plugin
from sa_support import create_pg_schema, drop_pg_schema, require_postgres, sqlite_url_for

EXAMPLES = int(os.environ.get("HELPDESK_MERGE_SQL_EXAMPLES", "10"))
STEPS = int(os.environ.get("HELPDESK_MERGE_STEPS", "25"))


def _open(url: str, options: dict[str, Any], directory: InMemoryDirectory,
          clock: FakeClock) -> Helpdesk:
    # plugins are not autoloaded (as for the model): the adapter's own is named
    return bootstrap(Settings(database_url=url, migrate=True, **options),
                     directory=directory, clock=clock, plugins=[sqlalchemy_plugin],
                     environ={})


@contextlib.contextmanager
def on_sqlite(options: dict[str, Any], directory: InMemoryDirectory,
              clock: FakeClock) -> Iterator[Helpdesk]:
    with tempfile.TemporaryDirectory(prefix="helpdesk-merge-") as folder:
        desk = _open(sqlite_url_for(Path(folder) / "db.sqlite3"), options, directory, clock)
        try:
            yield desk
        finally:
            desk.close()


@contextlib.contextmanager
def on_postgresql(options: dict[str, Any], directory: InMemoryDirectory,
                  clock: FakeClock) -> Iterator[Helpdesk]:
    schema, url = create_pg_schema()
    try:
        desk = _open(url, options, directory, clock)
        try:
            yield desk
        finally:
            desk.close()
    finally:
        drop_pg_schema(schema)


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_merging_on_the_database_agrees_with_the_model(backend: str) -> None:
    make: MakeHelpdesk = on_sqlite
    if backend == "postgresql":
        require_postgres()  # skip locally, fail under CI
        make = on_postgresql
    run_state_machine_as_test(merge_state_machine(make), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
