"""The one fixture an adapter provides, and the fixtures the contract tests use, made from it.

An adapter's test suite defines a ``helpdesk_backend`` fixture returning a :class:`Backend`,
usually parametrised over the databases it supports and session-scoped (it holds recipes, not
stores). Every contract test asks for the fixtures below, or for ``helpdesk_backend`` itself
when it needs a fresh store per hypothesis example; an adapter may also override any of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import NoReturn

import attrs
import pytest

from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.storage import Storage
from helpdesk_core.ports.templates import TemplateStore
from helpdesk_core.testing.contracts.capabilities import Capabilities

__all__ = ["Backend", "blob_store", "storage", "storage_capabilities", "template_store"]


def _missing(what: str) -> Callable[[Storage], NoReturn]:
    def fail(storage: Storage) -> NoReturn:
        pytest.fail(f"the backend gives no {what}: pass one to Backend, or import only the "
                    "contract modules the adapter implements")

    return fail


@attrs.frozen(kw_only=True)
class Backend:
    """How the contract suites get stores of one backend, and what the backend can do.

    - ``make_storage()`` returns a new, empty, migrated :class:`Storage` of its own (a
      throwaway database, schema or file); closing it releases whatever it made.
    - ``blob_store(storage)`` and ``template_store(storage)`` return the stores that go with
      that storage (the same database, where the adapter keeps them there).
    - ``reopen(storage)`` returns another instance on the same database as ``storage``; it is
      required when ``capabilities.durable`` holds, and the caller closes it.
    """

    name: str
    make_storage: Callable[[], Storage]
    capabilities: Capabilities = attrs.field(factory=Capabilities)
    blob_store: Callable[[Storage], BlobStore] = attrs.field(
        default=_missing("blob store"))
    template_store: Callable[[Storage], TemplateStore] = attrs.field(
        default=_missing("template store"))
    reopen: Callable[[Storage], Storage] | None = None

    def __attrs_post_init__(self) -> None:
        if self.capabilities.durable and self.reopen is None:
            raise ValueError(f"backend {self.name!r} declares it is durable but gives no "
                             "reopen(): pass one, or declare Capabilities(durable=False)")

    @contextlib.contextmanager
    def fresh_storage(self) -> Iterator[Storage]:
        """A new, empty, migrated storage for the block; closed after it."""
        storage = self.make_storage()
        try:
            yield storage
        finally:
            storage.close()

    @contextlib.contextmanager
    def reopened(self, storage: Storage) -> Iterator[Storage]:
        """Another instance on the database of ``storage``, for the block."""
        if self.reopen is None:
            raise ValueError(f"backend {self.name!r} gives no reopen()")
        other = self.reopen(storage)
        try:
            yield other
        finally:
            other.close()


@pytest.fixture(scope="session")
def storage_capabilities(helpdesk_backend: Backend) -> Capabilities:
    """What the backend under test declares it offers."""
    return helpdesk_backend.capabilities


@pytest.fixture
def storage(helpdesk_backend: Backend) -> Iterator[Storage]:
    """A fresh, empty, migrated storage for one test."""
    with helpdesk_backend.fresh_storage() as fresh:
        yield fresh


@pytest.fixture
def blob_store(helpdesk_backend: Backend, storage: Storage) -> BlobStore:
    """The blob store that goes with the test's ``storage``."""
    return helpdesk_backend.blob_store(storage)


@pytest.fixture
def template_store(helpdesk_backend: Backend, storage: Storage) -> TemplateStore:
    """The template store that goes with the test's ``storage``."""
    return helpdesk_backend.template_store(storage)
