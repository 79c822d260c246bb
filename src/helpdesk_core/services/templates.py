"""Message templates: saving (checked), listing, deleting, resolving one for a ticket,
building its context and rendering it — a preview never sends anything.

:class:`Templates` serves the ``helpdesk.templates`` facade section and the handlers that
render automatic messages (acknowledgement, resolution message, SLA notices).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from helpdesk_core.domain.contacts import Contact, Order
from helpdesk_core.domain.incident_types import IncidentTypeTree
from helpdesk_core.domain.keys import could_exist
from helpdesk_core.domain.templates import (
    MessageTemplate,
    TemplateProblem,
    language_chain,
    resolve_template,
    template_order,
)
from helpdesk_core.domain.ticket import Ticket, follow_merges
from helpdesk_core.domain.values import Actor, EntityKind
from helpdesk_core.errors import TemplateError, TemplateNotFound, ValidationError
from helpdesk_core.ports import Clock, Directory, TemplateStore
from helpdesk_core.services.unit_of_work import Unit, Units
from helpdesk_core.templates import (
    DEFAULT_TEMPLATES,
    RenderedMessage,
    TemplateLimits,
    check_template,
    render_message,
    template_context,
)

__all__ = ["Templates"]

_UNKNOWN_NAME = re.compile(r"unknown placeholder '([^'.\[\]]+)'")


class Templates:
    def __init__(self, *, units: Units, store: TemplateStore, directory: Directory, clock: Clock,
                 template_globals: Callable[[str], dict[str, Any]],
                 limits: TemplateLimits, timezone: str = "UTC", default_language: str = "en",
                 portal_url: str | None = None) -> None:
        self.units = units
        self.store = store
        self.directory = directory
        self.clock = clock
        self.template_globals = template_globals
        self.limits = limits
        self.timezone = timezone
        self.default_language = default_language
        self.portal_url = portal_url

    # -- the stored templates --------------------------------------------------------------

    def save(self, template: MessageTemplate, *, actor: Actor | None = None) -> MessageTemplate:
        """Check every part and store the template; raises TemplateError listing each problem
        with its line. The host's globals for the template's language count as known names."""
        self.check(template)
        self._check_kind(template)
        if template.incident_type is not None:
            with self.units(read_only=True) as unit:
                IncidentTypeTree.of(unit.incident_types.all()).get(template.incident_type)
        by = (actor.id or actor.name or None) if actor else None
        stamped = template.stamped(at=self.clock.now(), by=by)
        self.store.put(stamped)
        return stamped

    def _check_kind(self, template: MessageTemplate) -> None:
        """A key names one kind of template in every language and incident type, so that a
        reply never resolves to an SMS text or a text block in some language."""
        for other in self.store.all(key=template.key):
            if other.identity != template.identity and other.kind is not template.kind:
                where = f"{other.language}, {other.incident_type or 'every incident type'}"
                raise ValidationError(
                    f"{template.key!r} is a template of kind {other.kind.value} ({where}); "
                    f"one of kind {template.kind.value} needs a key of its own", field="kind")

    def check(self, template: MessageTemplate) -> None:
        problems = check_template(template, names=self.template_globals(template.language),
                                  limits=self.limits)
        if problems:
            raise TemplateError(self._explain_names(template, problems), key=template.key)

    def _explain_names(self, template: MessageTemplate,
                       problems: list[TemplateProblem]) -> list[TemplateProblem]:
        """An unknown placeholder that the plugins provide for other languages says so: the
        name is not misspelt, the plugin does not cover the template's language."""
        unknown = [m.group(1) if (m := _UNKNOWN_NAME.fullmatch(p.message)) else None
                   for p in problems]
        if not any(unknown):
            return problems
        languages = sorted({*(t.language for t in DEFAULT_TEMPLATES), self.default_language,
                            *(t.language for t in self.store.all())} - {template.language})
        provided = {language: self.template_globals(language) for language in languages}
        explained = []
        for problem, name in zip(problems, unknown, strict=True):
            where = [language for language, names in provided.items() if name in names]
            if name and where:
                problem = attrs.evolve(problem, message=(
                    f"{problem.message}: a plugin provides it for {', '.join(where)}, "
                    f"not for {template.language}"))
            explained.append(problem)
        return explained

    def all(self, *, key: str | None = None,
             include_defaults: bool = False) -> list[MessageTemplate]:
        """Stored templates; with ``include_defaults`` also the built-in ones not overridden."""
        stored = self._stored(key)
        if not include_defaults:
            return stored
        own = {t.identity for t in stored}
        defaults = [t for t in DEFAULT_TEMPLATES
                    if (key is None or t.key == key) and t.identity not in own]
        return sorted([*stored, *defaults], key=template_order)

    def delete(self, key: str, language: str, incident_type: str | None = None) -> bool:
        """Remove a stored template (a built-in one then applies again). A key, language or
        incident type that no template can have (a control character, see
        :mod:`helpdesk_core.domain.keys`) deletes nothing, without asking the store."""
        if not all(could_exist(part) for part in (key, language, incident_type or "")):
            return False
        return self.store.delete(key, language, incident_type)

    def _stored(self, key: str | None, unit: Unit | None = None) -> list[MessageTemplate]:
        """The store's templates (with ``key``); none for a key no template can have."""
        if key is not None and not could_exist(key):
            return []
        return self.store.all(key=key, unit=unit.storage_unit if unit else None)

    # -- for a ticket ---------------------------------------------------------------------

    def customer(self, ticket: Ticket) -> Contact | None:
        return self.directory.customer(ticket.customer_id) if ticket.customer_id else None

    def resolve(self, ticket: Ticket, key: str, *, language: str | None = None,
                customer: Contact | None = None, unit: Unit | None = None,
                extra: Iterable[MessageTemplate] = ()) -> MessageTemplate:
        """The template ``key`` for the ticket's incident type (most specific first) and the
        first language that has one: ``language``, the ticket's, the customer's, the
        deployment's default, English. Stored templates win over ``extra`` and those over
        the built-in ones. ``unit``: the caller's open unit (a store in the same database
        reads in its transaction)."""
        if customer is None:
            customer = self.customer(ticket)
        languages = language_chain(language, ticket.language,
                                   customer.language if customer else None,
                                   self.default_language)
        stored = self._stored(key, unit)
        candidates = [*(t for t in DEFAULT_TEMPLATES if t.key == key), *extra, *stored]
        found = resolve_template(candidates, key=key, incident_type=ticket.incident_type,
                                 languages=languages)
        if found is None:
            raise TemplateNotFound(
                key, languages=languages, incident_type=ticket.incident_type,
                available=[(t.incident_type, t.language) for t in candidates if t.key == key],
                ticket=ticket.number)
        return found

    def context(self, ticket: Ticket, *, language: str, agent: Actor | None = None,
                customer: Contact | None = None, unit: Unit | None = None) -> dict[str, Any]:
        """Plain data for a rendering: the ticket, its customer and organisation and linked
        orders from the Directory, the agent, the deadlines, the portal link, the host's
        globals."""
        if customer is None:
            customer = self.customer(ticket)
        organisation_id = ticket.organisation_id or (
            customer.organisation_id if customer else None)
        organisation = self.directory.organisation(organisation_id) if organisation_id else None
        type_name = None
        if ticket.incident_type:
            if unit is not None:
                types = {t.key: t.name for t in unit.incident_types.all()}
            else:
                with self.units(read_only=True) as reader:
                    types = {t.key: t.name for t in reader.incident_types.all()}
            type_name = types.get(ticket.incident_type)
        portal = self.portal_url.replace("{number}", ticket.number) if self.portal_url else None
        return template_context(
            ticket=ticket, language=language, now=self.clock.now(), timezone=self.timezone,
            customer=customer, organisation=organisation, orders=self._orders(ticket),
            agent=agent, portal_url=portal, incident_type_name=type_name,
            host_globals=self.template_globals(language),
            continues_as=self._continues_as(ticket, unit),
        )

    def _continues_as(self, ticket: Ticket, unit: Unit | None) -> str | None:
        """The number of the live ticket a merged one continues as."""
        if ticket.merged_into is None:
            return None
        if unit is not None:
            return follow_merges(ticket, unit.tickets.get).number
        with self.units(read_only=True) as reader:
            return follow_merges(ticket, reader.tickets.get).number

    def render(self, ticket: Ticket, key: str, *, language: str | None = None,
               agent: Actor | None = None, customer: Contact | None = None,
               unit: Unit | None = None,
               extra: Iterable[MessageTemplate] = ()) -> RenderedMessage:
        """Render the template ``key`` resolved for the ticket, in the template's language."""
        if customer is None:
            customer = self.customer(ticket)
        template = self.resolve(ticket, key, language=language, customer=customer, unit=unit,
                                extra=extra)
        return self.render_template(ticket, template, agent=agent, customer=customer,
                                    unit=unit)

    def render_template(self, ticket: Ticket, template: MessageTemplate, *,
                        agent: Actor | None = None, customer: Contact | None = None,
                        unit: Unit | None = None) -> RenderedMessage:
        context = self.context(ticket, language=template.language, agent=agent,
                               customer=customer, unit=unit)
        return render_message(template, context, limits=self.limits)

    def _orders(self, ticket: Ticket) -> list[Order]:
        orders = []
        for ref in sorted(r for r in ticket.links if r.kind is EntityKind.ORDER):
            order = self.directory.order_by_number(ref.id)
            orders.append(order if order is not None and order.ref == ref
                          else Order(ref=ref, number=ref.id))
        return orders
