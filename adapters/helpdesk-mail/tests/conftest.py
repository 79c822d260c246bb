"""Fixtures: one real Dovecot per test session, a fresh user (so a fresh mailbox) per test."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator

import pytest

from dovecot_server import Dovecot, DovecotUnavailable, UserMailbox, running_dovecot

_users = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    # Also registered here for runs from the repository root, whose configuration is not ours.
    config.addinivalue_line("markers", "dovecot: needs the Dovecot server the tests start")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "dovecot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dovecot)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(running_dovecot())
        except DovecotUnavailable as exc:
            if _in_ci():
                pytest.fail(f"Dovecot is needed in CI and could not run: {exc}", pytrace=False)
            pytest.skip(f"Dovecot could not run here: {exc}")
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot, request: pytest.FixtureRequest) -> UserMailbox:
    """A user nobody has logged in as yet: Dovecot creates an empty mailbox on first login."""
    name = request.node.name.split("[")[0].removeprefix("test_")[:40].replace("_", "-")
    return UserMailbox(dovecot, f"u{next(_users)}-{name}")
