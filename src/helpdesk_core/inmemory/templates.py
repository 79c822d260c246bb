"""Templates in a dict: the reference TemplateStore."""

from __future__ import annotations

import threading

from helpdesk_core.domain.templates import MessageTemplate, template_order

__all__ = ["InMemoryTemplateStore", "template_order"]


class InMemoryTemplateStore:
    def __init__(self) -> None:
        self._templates: dict[tuple[str, str, str | None], MessageTemplate] = {}
        self._lock = threading.Lock()

    def put(self, template: MessageTemplate) -> None:
        with self._lock:
            self._templates[template.identity] = template

    def get(self, key: str, language: str,
            incident_type: str | None = None) -> MessageTemplate | None:
        return self._templates.get((key, language, incident_type))

    def delete(self, key: str, language: str, incident_type: str | None = None) -> bool:
        with self._lock:
            return self._templates.pop((key, language, incident_type), None) is not None

    def all(self, *, key: str | None = None, unit: object = None) -> list[MessageTemplate]:
        found = [t for t in self._templates.values() if key is None or t.key == key]
        return sorted(found, key=template_order)

    def migrate(self) -> None:
        pass
