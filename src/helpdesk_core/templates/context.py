"""The data a template sees, built from domain values: plain dicts, lists, text, numbers and
datetimes — never a domain object, a row or anything with behaviour.

Every key here is documented in :mod:`.schema`; ``tests/templates`` checks that a built
context has exactly the documented shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from helpdesk_core.domain.contacts import Contact, Order, Organisation
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor

__all__ = ["template_context"]


def _order(order: Order) -> dict[str, Any]:
    return {"number": order.number, "placed_at": order.placed_at, "summary": order.summary}


def template_context(
    *,
    ticket: Ticket,
    language: str,
    now: datetime,
    timezone: str = "UTC",
    customer: Contact | None = None,
    organisation: Organisation | None = None,
    orders: Sequence[Order] = (),
    agent: Actor | None = None,
    portal_url: str | None = None,
    incident_type_name: str | None = None,
    host_globals: Mapping[str, Any] | None = None,
    continues_as: str | None = None,
) -> dict[str, Any]:
    """The context for one rendering. Host globals come first, so a plugin can never
    replace a documented placeholder."""
    context: dict[str, Any] = dict(host_globals or {})
    context.update({
        "language": language,
        "timezone": timezone,
        "now": now,
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "status_category": ticket.status_category.value,
            "priority": ticket.priority.value,
            "channel": ticket.channel.value,
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
            "incident_type": ticket.incident_type,
            "incident_type_name": incident_type_name,
            "language": ticket.language,
            "assignee": ticket.assignee,
            "team": ticket.team,
            "due_at": ticket.due_at,
            "tags": sorted(ticket.tags),
            "custom_fields": dict(ticket.custom_fields),
            "portal_url": portal_url,
            "continues_as": continues_as,
        },
        "customer": {
            "name": customer.name if customer else "",
            "email": (customer.email or "") if customer else "",
            "phone": customer.phones[0] if customer and customer.phones else "",
            "language": customer.language if customer else None,
        },
        "organisation": {"name": organisation.name} if organisation else None,
        "order": _order(orders[0]) if orders else None,
        "orders": [_order(o) for o in orders],
        "links": [{"kind": r.kind.value, "system": r.system, "id": r.id}
                  for r in sorted(ticket.links)],
        "agent": {"id": agent.id or "", "name": agent.name} if agent else None,
        "sla": {"due_at": ticket.due_at,
                "overdue": ticket.due_at is not None and ticket.due_at < now},
    })
    return context
