"""A Helpdesk on in-memory storage with a fake clock and a host directory with phones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain import Contact, EntityKind, EntityRef, Order, Organisation
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def directory() -> InMemoryDirectory:
    """Jana (+420 601 234 567) of Kavárna Nováková owns two orders; Petr has no phone."""
    shop = InMemoryDirectory()
    cafe = shop.add_organisation(Organisation.create("Kavárna Nováková", account_owner="olga"))
    jana = shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                            phone="+420 601 234 567", language="cs",
                                            organisation_id=cafe.id))
    shop.add_customer(Contact.create(name="Petr Svoboda", email="petr@example.cz"))
    for number, summary in (("2026-00041", "Coffee grinder"), ("2026-00042", "Kettle")):
        shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", number), number=number,
                             customer_id=jana.id, summary=summary))
    return shop


@pytest.fixture
def helpdesk(clock: FakeClock, directory: InMemoryDirectory) -> Iterator[Helpdesk]:
    made = bootstrap(Settings(storage="memory", autoload_plugins=False), directory=directory,
                     clock=clock, environ={})
    yield made
    made.close()
