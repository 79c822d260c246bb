"""Reference implementations of every port: fast, complete, and the model adapters are tested
against."""

from helpdesk_core.inmemory.blobs import InMemoryBlobStore
from helpdesk_core.inmemory.clock import FakeClock, SystemClock
from helpdesk_core.inmemory.directory import InMemoryDirectory
from helpdesk_core.inmemory.ratelimit import InMemoryRateLimiter
from helpdesk_core.inmemory.storage import InMemoryStorage, InMemoryUnitOfWork
from helpdesk_core.inmemory.templates import InMemoryTemplateStore

__all__ = [
    "FakeClock",
    "InMemoryBlobStore",
    "InMemoryDirectory",
    "InMemoryRateLimiter",
    "InMemoryStorage",
    "InMemoryTemplateStore",
    "InMemoryUnitOfWork",
    "SystemClock",
]
