"""``helpdesk.templates``: staff-editable message templates, checked, previewed, rendered."""

from __future__ import annotations

from typing import Any

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.templates import MessageTemplate
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import ValidationError
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.templates import Templates
from helpdesk_core.services.unit_of_work import Units
from helpdesk_core.templates import RenderedMessage

__all__ = ["TemplatesSection"]


@checked
class TemplatesSection:
    def __init__(self, *, guard: Guard, units: Units, templates: Templates) -> None:
        self._guard = guard
        self._units = units
        self._templates = templates

    def save(self, template: MessageTemplate, *, actor: Actor | None = None) -> MessageTemplate:
        """Check and store a template (replacing the one with its key, language and incident
        type); TemplateError lists every problem with its line. Returns it as stored."""
        self._guard.check(actor, Action.MANAGE_TEMPLATES)
        return self._templates.save(template, actor=actor)

    def list(self, *, key: str | None = None, include_defaults: bool = False,
             actor: Actor | None = None) -> list[MessageTemplate]:
        """Stored templates; ``include_defaults`` adds the built-in ones not overridden."""
        self._guard.check(actor, Action.MANAGE_TEMPLATES)
        return self._templates.all(key=key, include_defaults=include_defaults)

    def delete(self, key: str, language: str, incident_type: str | None = None, *,
               actor: Actor | None = None) -> bool:
        self._guard.check(actor, Action.MANAGE_TEMPLATES)
        return self._templates.delete(key, language, incident_type)

    def preview(self, key: str, template: MessageTemplate | str, *,
                language: str | None = None, agent: Actor | None = None) -> RenderedMessage:
        """Render a template key, or an unsaved template (checked first, as ``save`` would),
        against ticket ``key``; sends and stores nothing. An unsaved template is rendered in
        its own language: a different ``language`` is refused rather than ignored."""
        self._guard.check(agent, Action.RENDER_TEMPLATE, key)
        ticket = self._ticket(key)
        if isinstance(template, str):
            return self._templates.render(ticket, template, language=language, agent=agent)
        if language is not None and language != template.language:
            raise ValidationError(
                f"the unsaved template is in {template.language!r} and is rendered in it, "
                f"not in {language!r}", field="language")
        self._templates.check(template)
        return self._templates.render_template(ticket, template, agent=agent)

    def render(self, key: str, template: str, *, language: str | None = None,
               agent: Actor | None = None) -> RenderedMessage:
        """The template ``template`` resolved for ticket ``key`` (incident type, language)
        and rendered, ready to be sent by the caller."""
        self._guard.check(agent, Action.RENDER_TEMPLATE, key)
        return self._templates.render(self._ticket(key), template, language=language,
                                      agent=agent)

    def context(self, key: str, *, language: str,
                agent: Actor | None = None) -> dict[str, Any]:
        """The plain data a template sees for ticket ``key`` (every documented placeholder)."""
        self._guard.check(agent, Action.RENDER_TEMPLATE, key)
        return self._templates.context(self._ticket(key), language=language, agent=agent)

    def _ticket(self, key: str) -> Ticket:
        return self._units.read(lambda unit: unit.tickets.load(key))
