"""Where message templates are kept: one template per key, language and incident type."""

from __future__ import annotations

from typing import Protocol

from helpdesk_core.domain.templates import MessageTemplate

__all__ = ["TemplateStore"]


class TemplateStore(Protocol):
    """Templates keyed by ``(key, language, incident_type)``; ``incident_type`` None is the
    template for every incident type. Stores hold values only: the checks run before ``put``."""

    def put(self, template: MessageTemplate) -> None:
        """Insert, or replace the template with the same identity."""

    def get(self, key: str, language: str,
            incident_type: str | None = None) -> MessageTemplate | None: ...

    def delete(self, key: str, language: str, incident_type: str | None = None) -> bool:
        """Remove it; False when there was none."""

    def all(self, *, key: str | None = None, unit: object = None) -> list[MessageTemplate]:
        """Every template (or those with ``key``), ordered by key, language, incident type
        (the one for every incident type first).

        ``unit`` is the caller's open unit of work, if any: a store that keeps its templates
        in the same database may read them in that transaction instead of opening its own
        (as ``BlobStore.put`` does); any other store ignores it."""

    def migrate(self) -> None:
        """Create or upgrade what the store needs; a no-op where there is nothing to do.
        ``bootstrap()`` calls it on every start when ``Settings.migrate`` is true and the
        store belongs to another adapter than the storage."""

    def check_schema(self) -> None:
        """Like ``Storage.check_schema``: raise ``SchemaError`` when what the store needs is
        missing, behind or newer than the store; change nothing."""
