"""Resolving a ticket: the status move, and the resolution message prepared automatically.

When a ticket enters the *resolved* category, the ``resolution`` template (for its incident
type and language) is rendered and queued to the customer in the same transaction, archived on
the ticket as an outbound article; ``MailPolicy.resolution_message`` turns this off. A customer
without an e-mail address gets nothing, and the move still happens.
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import NotFound
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.replies import compose
from helpdesk_core.services.templates import build_context, resolve_for_ticket
from helpdesk_core.services.unit import change_ticket
from helpdesk_core.templates import render_message

__all__ = ["transition"]

RESOLVER = Actor.system("resolution")


def transition(deps: Deps, key: str, to: str, *, actor: Actor,
               expected_version: int | None = None) -> Ticket:
    """Move to status ``to``; entering *resolved* queues the resolution message."""
    target = deps.workflow.status(to)

    def move(ticket: Ticket) -> StatusCategory:
        before = ticket.status_category
        ticket.transition(to, workflow=deps.workflow, at=deps.clock.now(), actor=actor)
        return before

    def resolution(uow: UnitOfWork, ticket: Ticket) -> Callable[[UnitOfWork], None] | None:
        if target.category is not StatusCategory.RESOLVED or \
                not deps.mail_policy.resolution_message:
            return None
        return _queue_resolution(deps, uow, ticket)

    ticket, _before = change_ticket(deps, key, move, expected_version=expected_version,
                                    within=resolution)
    return ticket


def _queue_resolution(deps: Deps, uow: UnitOfWork,
                      ticket: Ticket) -> Callable[[UnitOfWork], None] | None:
    customer = deps.directory.customer(ticket.customer_id) if ticket.customer_id else None
    if customer is None or not customer.emails:
        return None
    try:
        template = resolve_for_ticket(deps, ticket, "resolution", customer=customer)
    except NotFound:
        return None
    context = build_context(deps, ticket, language=template.language, customer=customer)
    rendered = render_message(template, context, limits=deps.template_limits)
    _article, message, record = compose(
        deps, uow, ticket, uow.tickets.history(ticket.id), author=RESOLVER, text=rendered.text,
        html=rendered.html, subject=rendered.subject or None, at=deps.clock.now(),
        kind="resolution", automatic=True)

    def write(unit: UnitOfWork) -> None:
        unit.outbox.add(message)
        if record is not None:
            unit.messages.add(record)

    return write
