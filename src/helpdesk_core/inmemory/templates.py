"""Templates in an in-memory database: the reference TemplateStore."""

from __future__ import annotations

from helpdesk_core.domain.templates import MessageTemplate, template_order
from helpdesk_core.inmemory.storage import InMemoryStorage

__all__ = ["InMemoryTemplateStore", "template_order"]


class InMemoryTemplateStore:
    """Made for a storage (``InMemoryTemplateStore(storage)``), it keeps the templates in that
    storage's database, where every instance on it (:meth:`InMemoryStorage.reopen`) reads
    and writes them; without a storage it has a database of its own. Writes take effect at
    once."""

    def __init__(self, storage: InMemoryStorage | None = None) -> None:
        self._storage = storage if storage is not None else InMemoryStorage()

    def put(self, template: MessageTemplate) -> None:
        state = self._storage._state
        with state.lock:
            state.templates[template.identity] = template

    def get(self, key: str, language: str,
            incident_type: str | None = None) -> MessageTemplate | None:
        return self._storage._state.templates.get((key, language, incident_type))

    def delete(self, key: str, language: str, incident_type: str | None = None) -> bool:
        state = self._storage._state
        with state.lock:
            return state.templates.pop((key, language, incident_type), None) is not None

    def all(self, *, key: str | None = None, unit: object = None) -> list[MessageTemplate]:
        state = self._storage._state
        with state.lock:
            found = [t for t in state.templates.values() if key is None or t.key == key]
        return sorted(found, key=template_order)

    def migrate(self) -> None:
        pass

    def check_schema(self) -> None:
        pass
