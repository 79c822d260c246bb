"""Message templates: saving (checked), listing, deleting, resolving one for a ticket,
building its context and rendering it — a preview never sends anything.
"""

from __future__ import annotations

from typing import Any

from helpdesk_core.domain.contacts import Contact, Order
from helpdesk_core.domain.incident_types import IncidentTypeTree
from helpdesk_core.domain.templates import (
    MessageTemplate,
    language_chain,
    resolve_template,
    template_order,
)
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, EntityKind
from helpdesk_core.errors import NotFound, TemplateError
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.tickets import get_ticket
from helpdesk_core.templates import (
    DEFAULT_TEMPLATES,
    RenderedMessage,
    check_template,
    render_message,
    template_context,
)

__all__ = [
    "build_context",
    "delete_template",
    "list_templates",
    "preview",
    "render_for_ticket",
    "resolve_for_ticket",
    "save_template",
]


def save_template(deps: Deps, template: MessageTemplate, *,
                  actor: Actor | None = None) -> MessageTemplate:
    """Check every part and store the template; raises TemplateError listing each problem
    with its line. The host's globals for the template's language count as known names."""
    problems = check_template(template, names=deps.hooks.template_globals(template.language),
                              limits=deps.template_limits)
    if problems:
        raise TemplateError(problems, key=template.key)
    if template.incident_type is not None:
        with deps.storage.unit_of_work(read_only=True) as uow:
            IncidentTypeTree.of(uow.incident_types.all()).get(template.incident_type)
    by = (actor.id or actor.name or None) if actor else None
    stamped = template.stamped(at=deps.clock.now(), by=by)
    deps.templates.put(stamped)
    return stamped


def list_templates(deps: Deps, *, key: str | None = None,
                   include_defaults: bool = False) -> list[MessageTemplate]:
    """Stored templates; with ``include_defaults`` also the built-in ones not overridden."""
    stored = deps.templates.all(key=key)
    if not include_defaults:
        return stored
    own = {t.identity for t in stored}
    defaults = [t for t in DEFAULT_TEMPLATES
                if (key is None or t.key == key) and t.identity not in own]
    return sorted([*stored, *defaults], key=template_order)


def delete_template(deps: Deps, key: str, language: str,
                    incident_type: str | None = None) -> bool:
    """Remove a stored template (a built-in one then applies again)."""
    return deps.templates.delete(key, language, incident_type)


def _customer(deps: Deps, ticket: Ticket) -> Contact | None:
    return deps.directory.customer(ticket.customer_id) if ticket.customer_id else None


def resolve_for_ticket(deps: Deps, ticket: Ticket, key: str, *, language: str | None = None,
                       customer: Contact | None = None) -> MessageTemplate:
    """The template ``key`` for the ticket's incident type (most specific first) and the
    first language that has one: ``language``, the ticket's, the customer's, the
    deployment's default, English. Stored templates win over the built-in ones."""
    if customer is None:
        customer = _customer(deps, ticket)
    languages = language_chain(language, ticket.language,
                               customer.language if customer else None, deps.default_language)
    candidates = [*(t for t in DEFAULT_TEMPLATES if t.key == key), *deps.templates.all(key=key)]
    found = resolve_template(candidates, key=key, incident_type=ticket.incident_type,
                             languages=languages)
    if found is None:
        raise NotFound(f"no template {key!r} in {', '.join(languages)} for ticket "
                       f"{ticket.number}")
    return found


def _orders(deps: Deps, ticket: Ticket) -> list[Order]:
    orders = []
    for ref in sorted(r for r in ticket.links if r.kind is EntityKind.ORDER):
        order = deps.directory.order_by_number(ref.id)
        orders.append(order if order is not None and order.ref == ref
                      else Order(ref=ref, number=ref.id))
    return orders


def build_context(deps: Deps, ticket: Ticket, *, language: str, agent: Actor | None = None,
                  customer: Contact | None = None) -> dict[str, Any]:
    """Plain data for a rendering: the ticket, its customer and organisation and linked
    orders from the Directory, the agent, the deadlines, the portal link, the host's globals."""
    if customer is None:
        customer = _customer(deps, ticket)
    organisation_id = ticket.organisation_id or (customer.organisation_id if customer else None)
    organisation = deps.directory.organisation(organisation_id) if organisation_id else None
    type_name = None
    if ticket.incident_type:
        with deps.storage.unit_of_work(read_only=True) as uow:
            types = {t.key: t.name for t in uow.incident_types.all()}
        type_name = types.get(ticket.incident_type)
    portal = deps.portal_url.replace("{number}", ticket.number) if deps.portal_url else None
    return template_context(
        ticket=ticket, language=language, now=deps.clock.now(),
        timezone=deps.template_timezone, customer=customer, organisation=organisation,
        orders=_orders(deps, ticket), agent=agent, portal_url=portal,
        incident_type_name=type_name, host_globals=deps.hooks.template_globals(language),
    )


def render_for_ticket(deps: Deps, ticket_key: str, key: str, *, language: str | None = None,
                      agent: Actor | None = None) -> RenderedMessage:
    """Render the template ``key`` resolved for the ticket, in the template's language."""
    ticket = get_ticket(deps, ticket_key)
    customer = _customer(deps, ticket)
    template = resolve_for_ticket(deps, ticket, key, language=language, customer=customer)
    context = build_context(deps, ticket, language=template.language, agent=agent,
                            customer=customer)
    return render_message(template, context, limits=deps.template_limits)


def preview(deps: Deps, ticket_key: str, template: MessageTemplate | str, *,
            language: str | None = None, agent: Actor | None = None) -> RenderedMessage:
    """What the template would produce for the ticket; nothing is stored or sent.

    ``template`` is a key (resolved like :func:`render_for_ticket`) or an unsaved
    template, which is checked first exactly as :func:`save_template` would."""
    if isinstance(template, str):
        return render_for_ticket(deps, ticket_key, template, language=language, agent=agent)
    problems = check_template(template, names=deps.hooks.template_globals(template.language),
                              limits=deps.template_limits)
    if problems:
        raise TemplateError(problems, key=template.key)
    ticket = get_ticket(deps, ticket_key)
    context = build_context(deps, ticket, language=template.language, agent=agent)
    return render_message(template, context, limits=deps.template_limits)
