"""A Helpdesk on in-memory storage with a fake clock, a host directory and a staff.

The clock stands on Monday 2 March 2026, 09:00 UTC (10:00 in Prague). Customers: Jana
(Czech, no account owner) and Petr (account owner: olga).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from assign_support import T0, staff

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain import Contact
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def directory() -> InMemoryDirectory:
    shop = InMemoryDirectory()
    shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                     language="cs"))
    shop.add_customer(Contact.create(name="Petr Svoboda", email="petr@example.cz",
                                     account_owner="olga"))
    return shop


MakeHelpdesk = Callable[..., Helpdesk]


@pytest.fixture
def make_helpdesk(clock: FakeClock, directory: InMemoryDirectory) -> Iterator[MakeHelpdesk]:
    made: list[Helpdesk] = []

    def make(*, plugins: tuple[object, ...] = (), **settings: Any) -> Helpdesk:
        settings.setdefault("staff", staff())
        helpdesk = bootstrap(Settings(storage="memory", autoload_plugins=False, **settings),
                             directory=directory, clock=clock, plugins=plugins, environ={})
        made.append(helpdesk)
        return helpdesk

    yield make
    for helpdesk in made:
        helpdesk.close()


