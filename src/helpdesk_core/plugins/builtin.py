"""The plugin that ships with the core: in-memory adapters, registered like any other."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from helpdesk_core.inmemory import (
    InMemoryBlobStore,
    InMemoryDirectory,
    InMemoryStorage,
    InMemoryTemplateStore,
)
from helpdesk_core.plugins.hookspecs import PROJECT

if TYPE_CHECKING:
    from helpdesk_core.plugins.registry import Registry

hookimpl = pluggy.HookimplMarker(PROJECT)


@hookimpl
def helpdesk_register(registry: Registry) -> None:
    registry.add_storage("memory", lambda settings: InMemoryStorage())
    registry.add_blob_store("memory", lambda settings: InMemoryBlobStore())
    registry.add_directory("memory", lambda settings: InMemoryDirectory())
    registry.add_template_store("memory", lambda settings: InMemoryTemplateStore())
