"""Registers the "sqlalchemy" storage, blob store and template store (entry point group
``helpdesk_core``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from helpdesk_core.plugins import hookimpl
from helpdesk_sqlalchemy.blobs import SqlAlchemyBlobStore
from helpdesk_sqlalchemy.engine import create_engine_for
from helpdesk_sqlalchemy.storage import SqlAlchemyStorage
from helpdesk_sqlalchemy.templates import SqlAlchemyTemplateStore

if TYPE_CHECKING:
    from helpdesk_core.plugins.registry import Registry
    from helpdesk_core.settings import Settings

__all__ = ["EngineCache", "helpdesk_register"]


class EngineCache:
    """Engines by URL and options, so that the stores built from the same
    settings share one connection pool. One cache per registration, never module-global."""

    def __init__(self) -> None:
        self._engines: dict[tuple[str, tuple[tuple[str, str], ...]], Engine] = {}

    def get(self, url: str, options: dict[str, Any]) -> Engine:
        key = (url, tuple(sorted((k, repr(v)) for k, v in options.items())))
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = create_engine_for(url, options)
        return engine

    def for_settings(self, settings: Settings) -> Engine:
        return self.get(settings.database_url, dict(settings.options))


@hookimpl
def helpdesk_register(registry: Registry) -> None:
    engines = EngineCache()
    registry.add_storage(
        "sqlalchemy", lambda settings: SqlAlchemyStorage(engines.for_settings(settings))
    )
    registry.add_blob_store(
        "sqlalchemy", lambda settings: SqlAlchemyBlobStore(engines.for_settings(settings))
    )
    registry.add_template_store(
        "sqlalchemy", lambda settings: SqlAlchemyTemplateStore(engines.for_settings(settings))
    )
