"""Every public method of every facade section, fed values of the wrong type and hostile
strings: only the library's own errors come out, and a refused call writes nothing.

The arguments are drawn from each method's annotations (:mod:`helpdesk_core.testing.facade_calls`),
so a method added to a section is covered without touching this file. The run is short here;
``nox -s hostile`` runs it long (``HELPDESK_HOSTILE_EXAMPLES``). The SQL adapter's tests run
the same calls on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

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

EXAMPLES = int(os.environ.get("HELPDESK_HOSTILE_EXAMPLES", "30"))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
METHODS = section_methods()


def test_every_section_and_method_is_covered() -> None:
    sections = {section for section, _ in METHODS}
    assert sections == {"tickets", "staff", "mail", "outbox", "sms", "calls", "sla",
                        "templates", "configuration", "kb", "portal", "privacy"}
    assert len(METHODS) >= 47


@contextlib.contextmanager
def fresh_helpdesk() -> Iterator[Helpdesk]:
    desk = bootstrap(Settings(storage="memory", autoload_plugins=False),
                     directory=shop_directory(), clock=FakeClock(T0), environ={})
    seed(desk)
    try:
        yield desk
    finally:
        desk.close()


def written(desk: Helpdesk) -> dict[str, str]:
    """Everything the in-memory database holds, but for sequence values: a refused call
    may use up a number, as a database sequence does, and that is no data."""
    state = desk.storage._state  # type: ignore[attr-defined]
    return {field.name: repr(getattr(state, field.name))
            for field in attrs.fields(type(state))
            if field.name not in {"lock", "claimed", "sequences"}}


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@pytest.mark.parametrize(("section", "name"), METHODS, ids=[f"{s}.{m}" for s, m in METHODS])
def test_only_the_librarys_errors_come_out_and_a_refusal_writes_nothing(
        section: str, name: str) -> None:
    arguments = call_arguments(getattr(section_class(section), name))

    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(arguments)
    def attempt(drawn: tuple[list[Any], dict[str, Any]]) -> None:
        with fresh_helpdesk() as desk:
            call_refused_cleanly(desk, section, name, drawn, written)

    attempt()
