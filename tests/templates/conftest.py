"""A Helpdesk on in-memory storage with a fake clock and a host directory with an order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain import Contact, EntityKind, EntityRef, Order, Organisation
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def directory() -> InMemoryDirectory:
    """Jana (cs, of Kávový koutek s.r.o.) owns order 2026-00042; Hans (de) has no order."""
    shop = InMemoryDirectory()
    firm = Organisation.create("Kávový koutek s.r.o.")
    shop.add_organisation(firm)
    jana = shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                            language="cs", organisation_id=firm.id))
    shop.add_customer(Contact.create(name="Hans Müller", email="hans@example.de",
                                     language="de"))
    shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", "2026-00042"),
                         number="2026-00042", customer_id=jana.id,
                         customer_email="jana@example.cz", summary="Konvice Retro",
                         placed_at=datetime(2026, 11, 28, 15, 5, tzinfo=UTC)))
    return shop


MakeHelpdesk = Callable[..., Helpdesk]


@pytest.fixture
def make_helpdesk(clock: FakeClock, directory: InMemoryDirectory) -> Iterator[MakeHelpdesk]:
    made: list[Helpdesk] = []

    def make(*plugins: object, **settings: Any) -> Helpdesk:
        settings.setdefault("template_timezone", "Europe/Prague")
        settings.setdefault("storage", "memory")
        helpdesk = bootstrap(Settings(autoload_plugins=False, **settings),
                             directory=directory, clock=clock, plugins=plugins, environ={})
        made.append(helpdesk)
        return helpdesk

    yield make
    for helpdesk in made:
        helpdesk.close()


@pytest.fixture
def helpdesk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(portal_url="https://shop.example/podpora/{number}")
