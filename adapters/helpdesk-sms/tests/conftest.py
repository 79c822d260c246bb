"""Fixtures: one real Kannel per test session, and a fresh in-memory helpdesk per test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain import Contact
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.settings import Settings
from kannel_server import Kannel, KannelUnavailable, running_kannel
from sms_support import JANA_PHONE, T0


def pytest_configure(config: pytest.Config) -> None:
    # Also registered here for runs from the repository root, whose configuration is not ours.
    config.addinivalue_line("markers", "kannel: needs the Kannel gateway the tests start")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kannel" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kannel)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def kannel() -> Iterator[Kannel]:
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(running_kannel())
        except KannelUnavailable as exc:
            if _in_ci():
                pytest.fail(f"Kannel is needed in CI and could not run: {exc}", pytrace=False)
            pytest.skip(f"Kannel could not run here: {exc}")
        yield server


@pytest.fixture
def directory() -> InMemoryDirectory:
    shop = InMemoryDirectory()
    shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                     phone=JANA_PHONE, language="cs"))
    return shop


@pytest.fixture
def helpdesk(directory: InMemoryDirectory) -> Iterator[Helpdesk]:
    # Imported here: importing the submodule while pytest loads the tests would shadow the
    # lazily resolved ``helpdesk_core.bootstrap`` function for every later test module.
    from helpdesk_core.bootstrap import bootstrap

    made = bootstrap(Settings(storage="memory", autoload_plugins=False),
                     directory=directory, clock=FakeClock(T0), environ={})
    yield made
    made.close()
