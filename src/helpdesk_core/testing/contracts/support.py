"""Helpers shared by the contract modules (not a contract itself)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.ports.storage import Storage

__all__ = ["WAIT", "WORKFLOW", "Background", "all_pages", "query_fields"]

WORKFLOW = Workflow.default()

#: Seconds a test watches a unit of work that should be waiting for another (on a backend
#: lacking ``concurrent_writers`` or ``skip_locked_claims``): ample for one that does not
#: wait to get through, short next to a busy timeout.
WAIT = 0.5

T = TypeVar("T")


class Background(Generic[T]):
    """``work()`` run in a thread of its own, started at once: its result or its error.

    ``started`` is set just before ``work`` is called, so a test knows the work is under way
    before it starts to watch whether it gets through.
    """

    def __init__(self, work: Callable[[], T]) -> None:
        self.started = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()
        if not self.started.wait(30):
            raise AssertionError("the background work did not start")

    def _run(self, work: Callable[[], T]) -> None:
        self.started.set()
        try:
            self.result = work()
        except BaseException as error:  # reported by the test, through ``error``
            self.error = error

    def finishes_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the work to end; whether it has."""
        self._thread.join(seconds)
        return not self._thread.is_alive()


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
        "tags": query.tags, "visible_to": query.visible_to, "sort": query.sort,
        "limit": query.limit,
    }
