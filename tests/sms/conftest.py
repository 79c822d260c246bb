"""A Helpdesk on in-memory storage with a fake clock; Jana is a known customer with a phone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain import Contact
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JANA_PHONE = "+420601234567"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def directory() -> InMemoryDirectory:
    shop = InMemoryDirectory()
    shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                     phone="+420 601 234 567", language="cs"))
    return shop


@pytest.fixture
def helpdesk(clock: FakeClock, directory: InMemoryDirectory) -> Iterator[Helpdesk]:
    # Imported here: importing the submodule while pytest loads the tests would shadow the
    # lazily resolved ``helpdesk_core.bootstrap`` function for every later test module.
    from helpdesk_core.bootstrap import bootstrap

    made = bootstrap(Settings(storage="memory", autoload_plugins=False),
                     directory=directory, clock=clock, environ={})
    yield made
    made.close()
