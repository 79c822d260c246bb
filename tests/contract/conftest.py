"""The backend the contract suites run on in the core's own tests: the in-memory reference."""

from __future__ import annotations

import pytest

from helpdesk_core.inmemory import InMemoryBlobStore, InMemoryStorage, InMemoryTemplateStore
from helpdesk_core.testing.contracts import Backend, Capabilities

# The in-memory store lives and dies with its instance, and its blob store writes at once.
MEMORY = Backend(
    name="memory",
    make_storage=InMemoryStorage,
    capabilities=Capabilities(durable=False, transactional_blobs=False),
    blob_store=lambda storage: InMemoryBlobStore(),
    template_store=lambda storage: InMemoryTemplateStore(),
)


@pytest.fixture(scope="session", params=[MEMORY], ids=["memory"])
def helpdesk_backend(request: pytest.FixtureRequest) -> Backend:
    backend: Backend = request.param
    return backend
