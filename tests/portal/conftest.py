"""Fixtures of the portal tests: a fake clock and a helpdesk on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from portal_support import T0, make_helpdesk

from helpdesk_core import Helpdesk
from helpdesk_core.inmemory import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def desk(clock: FakeClock) -> Iterator[Helpdesk]:
    with make_helpdesk(clock) as helpdesk:
        yield helpdesk
