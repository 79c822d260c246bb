"""The message bus: the handlers that react to what aggregates record, wired once.

Every change to a ticket is a :class:`~helpdesk_core.domain.history.TicketEvent` recorded by
a domain method. The unit of work collects the new events of every ticket it loaded or added
and, when it commits, hands them to this bus in two phases:

* **in transaction** — before the storage commits, inside the same transaction: the SLA
  record and due date, the acknowledgement, the resolution message, outbox rows. What such a
  handler changes commits or rolls back with the change that caused it. A handler may record
  new events on the ticket; they are handed round again (to every handler that has not seen
  them) until nothing new is recorded.
* **after commit** — once the storage has committed: the ``helpdesk_ticket_event`` hook and
  whatever else tells the world. These handlers only ever see committed events.

Handlers are registered in :func:`helpdesk_core.bootstrap.bootstrap`, in the order they run.
A channel that opens or changes a ticket (web form, staff, order, mail, SMS, call, and every
capability after them) writes no side rule of its own: it loads, calls the domain, commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.errors import DomainError

if TYPE_CHECKING:
    from helpdesk_core.services.unit_of_work import Unit

__all__ = [
    "AfterCommitHandler",
    "InTransactionHandler",
    "MessageBus",
    "Raised",
]

# Handlers recording events that make handlers record events ... stop after this many passes.
MAX_ROUNDS = 10


@attrs.frozen
class Raised:
    """New events one ticket recorded in a unit of work, in order, that a handler has not seen.

    ``new`` is true while the ticket is being created in this unit (it has no stored history).
    """

    ticket: Ticket
    events: tuple[TicketEvent, ...]
    new: bool

    def of_kind(self, *kinds: EventKind) -> list[TicketEvent]:
        return [e for e in self.events if e.kind in kinds]


class InTransactionHandler(Protocol):
    """Runs inside the unit's transaction, before it commits; may change the ticket and
    write through the unit (rows that refer to a ticket are written after it is saved)."""

    def __call__(self, raised: Raised, unit: Unit) -> None: ...


class AfterCommitHandler(Protocol):
    """Runs after the commit, once per committed event."""

    def __call__(self, event: TicketEvent, ticket: Ticket) -> None: ...


@attrs.frozen
class _Subscription:
    name: str
    handler: InTransactionHandler
    kinds: frozenset[EventKind] | None  # None: every kind


@attrs.define
class MessageBus:
    """Handlers by phase, in registration order. Built once, by ``bootstrap()``."""

    _in_transaction: list[_Subscription] = attrs.field(factory=list, alias="in_transaction")
    _after_commit: list[tuple[str, AfterCommitHandler]] = attrs.field(factory=list,
                                                                      alias="after_commit")

    def in_transaction(self, name: str, handler: InTransactionHandler, *,
                       kinds: Iterable[EventKind] | None = None) -> None:
        """Register ``handler`` for events of ``kinds`` (default: all), run before commit."""
        self._in_transaction.append(
            _Subscription(name, handler, None if kinds is None else frozenset(kinds)))

    def after_commit(self, name: str, handler: AfterCommitHandler) -> None:
        """Register ``handler`` to see every committed event."""
        self._after_commit.append((name, handler))

    @property
    def handler_names(self) -> dict[str, list[str]]:
        """The registered handlers by phase, in the order they run (for docs and tests)."""
        return {"in_transaction": [s.name for s in self._in_transaction],
                "after_commit": [name for name, _ in self._after_commit]}

    def run_in_transaction(self, unit: Unit,
                           tracked: Callable[[], Sequence[tuple[Ticket, bool]]]) -> None:
        """Hand every new event to every in-transaction handler once, as early as possible.

        ``tracked`` lists the unit's tickets (and whether each is new); their
        ``pending_events`` are the events recorded in the unit. A handler sees the events
        recorded before it runs, including those of handlers before it in this pass; events
        it records itself reach it in the next pass, which runs until nothing is new.
        """
        subscriptions = self._in_transaction
        seen: dict[tuple[int, str], int] = {}
        for _pass in range(MAX_ROUNDS):
            progressed = False
            tickets = tracked()
            for index, subscription in enumerate(subscriptions):
                kinds = subscription.kinds
                for ticket, new in tickets:
                    events = ticket.pending_events
                    end, key = len(events), (index, ticket.id)
                    start = seen.get(key, 0)
                    if start >= end:
                        continue
                    seen[key] = end
                    fresh = tuple(events[start:end] if kinds is None
                                  else (e for e in events[start:end] if e.kind in kinds))
                    if fresh:
                        progressed = True
                        subscription.handler(Raised(ticket, fresh, new), unit)
            if not progressed:
                return
        raise DomainError(f"handlers kept recording events after {MAX_ROUNDS} passes")

    def run_after_commit(self, committed: Sequence[tuple[Ticket, Sequence[TicketEvent]]]) -> None:
        for ticket, events in committed:
            for event in events:
                for _name, handler in self._after_commit:
                    handler(event, ticket)
