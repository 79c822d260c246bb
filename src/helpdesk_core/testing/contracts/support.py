"""Helpers shared by the contract modules (not a contract itself)."""

from __future__ import annotations

from typing import Any

from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.ports.storage import Storage

__all__ = ["WORKFLOW", "all_pages", "query_fields"]

WORKFLOW = Workflow.default()


def all_pages(storage: Storage, query: TicketQuery) -> list[Ticket]:
    """Every ticket the query finds, read page by page through the cursors."""
    items: list[Ticket] = []
    cursor = None
    for _ in range(10_000):
        with storage.unit_of_work(read_only=True) as uow:
            page = uow.tickets.query(
                TicketQuery(**{**query_fields(query), "after": cursor})
            )
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def query_fields(query: TicketQuery) -> dict[str, Any]:
    """The query's fields except the cursor, to build a changed copy."""
    return {
        "status_categories": query.status_categories, "team": query.team,
        "assignee": query.assignee, "unassigned": query.unassigned,
        "incident_type": query.incident_type, "customer_id": query.customer_id,
        "organisation_id": query.organisation_id, "priorities": query.priorities,
        "tags": query.tags, "sort": query.sort, "limit": query.limit,
    }
