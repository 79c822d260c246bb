"""A Helpdesk on in-memory storage with a fake clock and an in-memory host directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain import Contact, EntityKind, EntityRef, Order
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def directory() -> InMemoryDirectory:
    """Jana owns order 2026-00042, Petr (account owner: olga) owns 2026-00043, 2026-00044 is a
    guest checkout by Guest.Buyer@Example.com."""
    shop = InMemoryDirectory()
    jana = shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                            phone="+420 601 234 567", language="cs"))
    petr = shop.add_customer(Contact.create(name="Petr Svoboda", email="petr@example.cz",
                                            account_owner="olga"))
    shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", "2026-00042"),
                         number="2026-00042", customer_id=jana.id,
                         customer_email="jana@example.cz", summary="Kettle"))
    shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", "2026-00043"),
                         number="2026-00043", customer_id=petr.id, summary="Toaster"))
    shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", "2026-00044"),
                         number="2026-00044", customer_email="Guest.Buyer@Example.com",
                         summary="Guest checkout"))
    return shop


MakeHelpdesk = Callable[..., Helpdesk]


@pytest.fixture
def make_helpdesk(clock: FakeClock, directory: InMemoryDirectory) -> Iterator[MakeHelpdesk]:
    made: list[Helpdesk] = []

    def make(*, plugins: tuple[object, ...] = (), builtin_directory: bool = False,
             **settings: Any) -> Helpdesk:
        helpdesk = bootstrap(
            Settings(storage="memory", autoload_plugins=False, **settings),
            directory=None if builtin_directory else directory,
            clock=clock, plugins=plugins, environ={},
        )
        made.append(helpdesk)
        return helpdesk

    yield make
    for helpdesk in made:
        helpdesk.close()


@pytest.fixture
def helpdesk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk()

