"""The acknowledgement a new mail ticket gets: the ``acknowledgement`` template, resolved for
the ticket's incident type and language and rendered in the template sandbox.

The built-in templates (cs, de, sk, en) come first, then ``MailPolicy.ack_templates``, then
the templates saved in the template store; the later wins for the same language and incident
type. :func:`acknowledgement_for` sees all three; :func:`render_acknowledgement` works without
the helpdesk's dependencies and sees the first two, plus any ``stored`` templates passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from helpdesk_core.domain.contacts import Contact, Order
from helpdesk_core.domain.templates import (
    MessageTemplate,
    TemplateKind,
    language_chain,
    resolve_template,
)
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import EntityKind
from helpdesk_core.errors import ConfigurationError, TemplateError
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.templates import build_context
from helpdesk_core.templates import (
    DEFAULT_TEMPLATES,
    TemplateLimits,
    render_message,
    template_context,
)

__all__ = ["DEFAULT_ACK_TEMPLATES", "acknowledgement_for", "render_acknowledgement"]

_KEY = TemplateKind.ACKNOWLEDGEMENT.value
_BUILT_IN = tuple(t for t in DEFAULT_TEMPLATES if t.key == _KEY)

# language → (subject, text): the built-in acknowledgement, in MailPolicy.ack_templates' form.
DEFAULT_ACK_TEMPLATES: Mapping[str, tuple[str, str]] = {
    t.language: (t.subject, t.body_text) for t in _BUILT_IN
}


def _policy_templates(templates: Mapping[str, tuple[str, str]]) -> list[MessageTemplate]:
    return [MessageTemplate(key=_KEY, kind=TemplateKind.ACKNOWLEDGEMENT, language=language,
                            name="Acknowledgement (mail policy)", subject=subject,
                            body_text=text)
            for language, (subject, text) in templates.items()]


def _choose(ticket: Ticket, languages: Iterable[str],
            policy: Mapping[str, tuple[str, str]] | None,
            stored: Iterable[MessageTemplate]) -> MessageTemplate:
    candidates = [*_BUILT_IN, *_policy_templates(policy or {}), *stored]
    found = resolve_template(candidates, key=_KEY, incident_type=ticket.incident_type,
                             languages=languages)
    assert found is not None  # English is always in the chain and built in
    return found


def render_acknowledgement(
    ticket: Ticket,
    *,
    customer_name: str,
    language: str | None,
    templates: Mapping[str, tuple[str, str]] | None = None,
    stored: Iterable[MessageTemplate] = (),
    default_language: str | None = None,
    limits: TemplateLimits | None = None,
) -> tuple[str, str]:
    """Subject and text in the ticket's language (else the default, else English)."""
    template = _choose(ticket, language_chain(language, default_language), templates, stored)
    orders = [Order(ref=ref, number=ref.id)
              for ref in sorted(ticket.links) if ref.kind is EntityKind.ORDER]
    context = template_context(ticket=ticket, language=template.language,
                               now=ticket.updated_at, orders=orders)
    context["customer"]["name"] = customer_name
    try:
        rendered = render_message(template, context, limits=limits)
    except TemplateError as exc:
        raise ConfigurationError(f"acknowledgement template ({template.language}): "
                                 f"{exc}") from exc
    return rendered.subject, rendered.text


def acknowledgement_for(deps: Deps, ticket: Ticket, customer: Contact | None, *,
                        unit: object = None) -> tuple[str, str]:
    """Subject and text with the full template context, stored templates included (read in
    ``unit``, the caller's open unit of work, where the template store can)."""
    languages = language_chain(ticket.language, customer.language if customer else None,
                               deps.default_language)
    template = _choose(ticket, languages, deps.mail_policy.ack_templates,
                       deps.templates.all(key=_KEY, unit=unit))
    context = build_context(deps, ticket, language=template.language, customer=customer)
    try:
        rendered = render_message(template, context, limits=deps.template_limits)
    except TemplateError as exc:
        raise ConfigurationError(f"acknowledgement template ({template.language}): "
                                 f"{exc}") from exc
    return rendered.subject, rendered.text
