"""Servers the documentation pages need that are too slow to start for every run of a page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docservers
import pytest


@pytest.fixture(scope="session")
def docs_dovecot() -> Iterator[Any]:
    with docservers.running_dovecot() as server:
        yield server


@pytest.fixture(scope="session")
def docs_kannel() -> Iterator[Any]:
    with docservers.running_kannel() as server:
        yield server
