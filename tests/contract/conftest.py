"""The backend the contract suites run on in the core's own tests: the in-memory reference."""

from __future__ import annotations

import pytest

from helpdesk_core.inmemory import InMemoryBlobStore, InMemoryStorage, InMemoryTemplateStore
from helpdesk_core.ports.storage import Storage
from helpdesk_core.testing.contracts import Backend, Capabilities


def _memory(storage: Storage) -> InMemoryStorage:
    assert isinstance(storage, InMemoryStorage)
    return storage


# The blob and template stores keep their data in the storage's database, as a database
# adapter's tables do; reopen() gives another instance on that database.
MEMORY = Backend(
    name="memory",
    make_storage=InMemoryStorage,
    capabilities=Capabilities(),
    blob_store=lambda storage: InMemoryBlobStore(_memory(storage)),
    template_store=lambda storage: InMemoryTemplateStore(_memory(storage)),
    reopen=lambda storage: _memory(storage).reopen(),
)


@pytest.fixture(scope="session", params=[MEMORY], ids=["memory"])
def helpdesk_backend(request: pytest.FixtureRequest) -> Backend:
    backend: Backend = request.param
    return backend
