"""The one unit-of-work path: load → call the domain → ``commit()``; the rest follows.

:class:`Unit` wraps the storage adapter's :class:`~helpdesk_core.ports.storage.UnitOfWork`.
It remembers every ticket loaded or added through it (Cosmic Python's ``seen``), and its
``commit()`` does, in this order:

1. the in-transaction handlers of the :class:`~helpdesk_core.services.messagebus.MessageBus`
   see every new event (SLA record and due date, acknowledgement, resolution message ...);
2. every new ticket is added and every changed one saved (events and articles with it,
   guarded by its version);
3. rows that refer to a ticket and were written through the unit — outbox messages,
   Message-ID records, SLA records, portal links — are written now, after the tickets they
   refer to;
4. the storage commits;
5. the after-commit handlers (plugins' ``helpdesk_ticket_event``) see the committed events.

A failure anywhere before 4 rolls everything back, handlers' writes included, and nothing
reaches the after-commit handlers.

The unit is also where a lookup by a key that cannot exist stops
(:func:`helpdesk_core.domain.keys.could_exist`: a control character such as NUL, a lone
surrogate, more than ``MAX_KEY_LENGTH`` characters): it finds nothing — TicketNotFound,
ContactNotFound, NotFound, None, an empty list — as a missing key would, and the storage
adapter is not asked. Every backend answers alike, and none is handed a value it cannot bind
(PostgreSQL refuses a NUL byte). Services never call the storage's ``commit`` themselves
(a test keeps it so); they also never save a ticket: the unit saves what changed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.keys import could_exist
from helpdesk_core.domain.knowledge import KbArticle, KbRevision, KbState, KbVisibility
from helpdesk_core.domain.mailbox import MessageRecord, StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxClaim, OutboxMessage, OutboxState
from helpdesk_core.domain.portal import PortalLink
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.ticket import Ticket, follow_merges
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import (
    ConcurrencyError,
    ContactNotFound,
    NotFound,
    TicketNotFound,
    ValidationError,
)
from helpdesk_core.ports.storage import (
    AutomaticSenders,
    IncidentTypeRepository,
    SequenceAllocator,
    Storage,
    UnitOfWork,
)
from helpdesk_core.services.messagebus import MessageBus

__all__ = ["Unit", "Units"]

T = TypeVar("T")

CHANGE_ATTEMPTS = 10


class Units:
    """Opens units of work on one storage with one bus; what services receive instead of
    the storage itself."""

    def __init__(self, storage: Storage, bus: MessageBus) -> None:
        self.storage = storage
        self.bus = bus

    def __call__(self, *, read_only: bool = False) -> Unit:
        return Unit(self.storage.unit_of_work(read_only=read_only), self.bus)

    def change(self, key: str, change: Callable[[Ticket], T], *,
               expected_version: int | None = None, follow: bool = False) -> tuple[Ticket, T]:
        """Load the ticket ``key`` (id or number), apply ``change``, commit.

        ``expected_version`` is the version the caller's view was built from (an agent's open
        form); if the ticket moved on since, ConcurrencyError is raised before anything
        changes. Without it, a change that lost a race with another save is applied again
        to the fresh ticket (up to CHANGE_ATTEMPTS times): concurrent notes, tags and
        assignments on one ticket all land. ``follow``: a merged ticket's change goes to the
        ticket it was merged into (a message or note addressed to it)."""
        if expected_version is not None and (not isinstance(expected_version, int)
                                             or isinstance(expected_version, bool)):
            raise ValidationError("must be a ticket's version, a whole number",
                                  field="expected_version")
        def work(unit: Unit) -> tuple[Ticket, T]:
            ticket = unit.tickets.live(key) if follow else unit.tickets.load(key)
            if expected_version is not None and ticket.version != expected_version:
                raise ConcurrencyError(f"ticket {ticket.number} is at version "
                                       f"{ticket.version}, not {expected_version}")
            return ticket, change(ticket)

        # A change made against a version the caller saw is theirs to redo.
        return self.retrying(work, attempts=1 if expected_version is not None else None)

    def retrying(self, work: Callable[[Unit], T], *, attempts: int | None = None) -> T:
        """Run ``work`` in a new unit and commit; when the commit loses a race with another
        save (ConcurrencyError), run it again from the start on fresh data, up to
        ``attempts`` times (default CHANGE_ATTEMPTS). ``work`` must only load and call the
        domain, so running it again is safe; it sees the other writer's result (a merge
        that lost finds its ticket merged, and says so)."""
        limit = CHANGE_ATTEMPTS if attempts is None else attempts
        attempt = 1
        while True:
            try:
                with self() as unit:
                    result = work(unit)
                    unit.commit()
                return result
            except ConcurrencyError:
                if attempt >= limit:
                    raise
                # Exponential backoff with full jitter, so racers part (capped at 50 ms).
                time.sleep(random.uniform(0, min(0.05, 0.002 * 2 ** attempt)))
                attempt += 1

    def read(self, work: Callable[[Unit], T]) -> T:
        """Run ``work`` in a read-only unit and return what it returns."""
        with self(read_only=True) as unit:
            return work(unit)


class Unit:
    """A unit of work that collects the events of the tickets it saw and runs the bus."""

    def __init__(self, inner: UnitOfWork, bus: MessageBus) -> None:
        self._inner = inner
        self._bus = bus
        self._seen: dict[str, tuple[Ticket, bool]] = {}  # id → (ticket, new)
        self._history: dict[str, list[TicketEvent]] = {}
        self._later: list[Callable[[], None]] = []
        self._notes: dict[tuple[str, type[Any]], Any] = {}
        self.tickets = _Tickets(self)
        self.outbox = _Outbox(self)
        self.messages = _Messages(self)
        self.sla = _Sla(self)
        self.contacts = _Contacts(self)
        self.organisations = _Organisations(self)
        self.staged_mail = _Staging(self)
        self.knowledge = _Knowledge(self)
        self.portal_links = _PortalLinks(self)

    # -- the storage's other repositories, unchanged --------------------------------------

    @property
    def incident_types(self) -> IncidentTypeRepository:
        return self._inner.incident_types

    @property
    def sequences(self) -> SequenceAllocator:
        return self._inner.sequences

    @property
    def automatic_senders(self) -> AutomaticSenders:
        return self._inner.automatic_senders

    @property
    def storage_unit(self) -> UnitOfWork:
        """The adapter's own unit (a template or blob store that shares its transaction)."""
        return self._inner

    # -- what handlers use ---------------------------------------------------------------

    def history(self, ticket: Ticket) -> list[TicketEvent]:
        """The ticket's stored events, read once per unit (a new ticket has none)."""
        cached = self._history.get(ticket.id)
        if cached is None:
            cached = [] if self.is_new(ticket) else self._inner.tickets.history(ticket.id)
            self._history[ticket.id] = cached
        return cached

    def is_new(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` is being created in this unit."""
        seen = self._seen.get(ticket.id)
        return seen is not None and seen[1]

    def note(self, ticket: Ticket, value: Any) -> None:
        """Leave a value for the handlers of this unit, one per type and ticket (a mail's
        acknowledgement request, a handler's answer); never stored."""
        self._notes[(ticket.id, type(value))] = value

    def noted(self, ticket: Ticket, kind: type[T]) -> T | None:
        value = self._notes.get((ticket.id, kind))
        return value if isinstance(value, kind) else None

    def later(self, write: Callable[[], None]) -> None:
        """Run ``write`` after the tickets were saved (a row that refers to a new ticket)."""
        self._later.append(write)

    # -- the one commit ---------------------------------------------------------------------

    def commit(self) -> None:
        self._bus.run_in_transaction(self, lambda: list(self._seen.values()))
        committed: list[tuple[Ticket, list[TicketEvent]]] = []
        for ticket, new in self._seen.values():
            events = list(ticket.pending_events)
            if new:
                self._inner.tickets.add(ticket)
            elif ticket.has_changes:
                self._inner.tickets.save(ticket)
            if events:
                committed.append((ticket, events))
        later, self._later = self._later, []
        for write in later:
            write()
        self._inner.commit()
        # Saved tickets are ordinary loaded ones now: a second commit only saves changes.
        self._seen = {tid: (t, False) for tid, (t, _new) in self._seen.items()}
        for ticket, _new in self._seen.values():
            self._history.pop(ticket.id, None)
        self._bus.run_after_commit(committed)

    def rollback(self) -> None:
        self._later.clear()
        self._inner.rollback()

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._later.clear()
        self._inner.__exit__(exc_type, exc, tb)

    # -- tracking --------------------------------------------------------------------------

    def _track(self, ticket: Ticket, *, new: bool) -> Ticket:
        known = self._seen.get(ticket.id)
        if known is not None:
            return known[0]  # one object per ticket and unit
        self._seen[ticket.id] = (ticket, new)
        return ticket


class _Tickets:
    """The storage's ticket repository, remembering what passes through it."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit
        self._repo = unit.storage_unit.tickets

    def add(self, ticket: Ticket) -> None:
        """A new ticket: inserted when the unit commits, after the handlers ran."""
        self._unit._track(ticket, new=True)

    def get(self, ticket_id: str) -> Ticket:
        known = self._unit._seen.get(ticket_id)
        if known is not None:
            return known[0]
        if not could_exist(ticket_id):
            raise TicketNotFound(ticket_id)
        return self._unit._track(self._repo.get(ticket_id), new=False)

    def get_by_number(self, number: str) -> Ticket:
        for ticket, _new in self._unit._seen.values():
            if ticket.number == number:
                return ticket
        if not could_exist(number):
            raise TicketNotFound(number)
        return self._unit._track(self._repo.get_by_number(number), new=False)

    def load(self, key: str) -> Ticket:
        """By id or by human-facing number; raises TicketNotFound (for the number)."""
        try:
            return self.get(key)
        except TicketNotFound:
            pass  # not an id: a number, or nothing (raised below, not chained to this)
        return self.get_by_number(key)

    def live(self, key: str) -> Ticket:
        """By id or number, following merges: the ticket a message addressed to ``key``
        belongs on (a merged ticket takes no articles; its target does)."""
        return follow_merges(self.load(key), self.get)

    def query(self, query: TicketQuery) -> Page[Ticket]:
        return self._repo.query(query)

    def history(self, ticket_id: str) -> list[TicketEvent]:
        return self._repo.history(ticket_id) if could_exist(ticket_id) else []

    def articles(self, ticket_id: str) -> list[Article]:
        return self._repo.articles(ticket_id) if could_exist(ticket_id) else []


class _Outbox:
    """Reads at once; ``add`` waits until the tickets are saved (the row refers to one)."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit
        self._repo = unit.storage_unit.outbox

    def add(self, message: OutboxMessage) -> None:
        self._unit.later(lambda: self._repo.add(message))

    def get(self, message_id: str) -> OutboxMessage:
        if not could_exist(message_id):
            raise NotFound(f"no outbox message {message_id!r}")
        return self._repo.get(message_id)

    def update(self, message: OutboxMessage, *, expect: OutboxClaim | None = None) -> None:
        self._repo.update(message, expect=expect)

    def claim(self, *, now: datetime, lease: timedelta, limit: int,
              channel: Channel | None = None, owner: str | None = None) -> list[OutboxMessage]:
        return self._repo.claim(now=now, lease=lease, limit=limit, channel=channel,
                                owner=owner)

    def find(self, *, state: OutboxState | None = None, provider_id: str | None = None,
             limit: int = 100) -> list[OutboxMessage]:
        if provider_id is not None and not could_exist(provider_id):
            return []
        return self._repo.find(state=state, provider_id=provider_id, limit=limit)

    def for_ticket(self, ticket_id: str) -> list[OutboxMessage]:
        return self._repo.for_ticket(ticket_id) if could_exist(ticket_id) else []

    def count_since(self, *, recipient: str, kind: str, since: datetime) -> int:
        if not (could_exist(recipient) and could_exist(kind)):
            return 0
        return self._repo.count_since(recipient=recipient, kind=kind, since=since)


class _Messages:
    """Reads at once; ``add`` waits until the tickets are saved."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit
        self._repo = unit.storage_unit.messages

    def add(self, record: MessageRecord) -> None:
        self._unit.later(lambda: self._repo.add(record))

    def find(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        possible = [m for m in message_ids if could_exist(m)]
        return self._repo.find(possible) if possible else []

    def move(self, article_ids: Sequence[str], ticket_id: str) -> None:
        """After the tickets are saved (the records' new ticket may be new itself)."""
        ids = list(article_ids)
        if ids:
            self._unit.later(lambda: self._repo.move(ids, ticket_id))


class _Sla:
    """Reads and ``fire`` at once (its answer decides); ``put`` waits for the tickets."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit
        self._repo = unit.storage_unit.sla

    def put(self, record: SlaRecord) -> None:
        self._unit.later(lambda: self._repo.put(record))

    def get(self, ticket_id: str) -> SlaRecord | None:
        return self._repo.get(ticket_id) if could_exist(ticket_id) else None

    def due(self, *, now: datetime, limit: int) -> list[SlaRecord]:
        return self._repo.due(now=now, limit=limit)

    def fire(self, record: EscalationRecord) -> bool:
        return self._repo.fire(record)

    def fired(self, ticket_id: str) -> list[EscalationRecord]:
        return self._repo.fired(ticket_id) if could_exist(ticket_id) else []


class _PortalLinks:
    """The storage's portal links; an id that cannot exist finds no link. ``add`` waits for
    the tickets (the record names one)."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit
        self._repo = unit.storage_unit.portal_links

    def add(self, link: PortalLink) -> None:
        self._unit.later(lambda: self._repo.add(link))

    def get(self, link_id: str) -> PortalLink | None:
        return self._repo.get(link_id) if could_exist(link_id) else None

    def revoke(self, link_id: str, *, at: datetime) -> bool:
        return self._repo.revoke(link_id, at=at) if could_exist(link_id) else False

    def revoke_all(self, *, at: datetime, ticket_id: str | None = None,
                   contact_id: str | None = None) -> int:
        if any(key is not None and not could_exist(key) for key in (ticket_id, contact_id)):
            return 0
        return self._repo.revoke_all(at=at, ticket_id=ticket_id, contact_id=contact_id)


class _Contacts:
    """The storage's contacts; a lookup by a key that cannot exist finds nobody."""

    def __init__(self, unit: Unit) -> None:
        self._repo = unit.storage_unit.contacts

    def add(self, contact: Contact) -> None:
        self._repo.add(contact)

    def update(self, contact: Contact) -> None:
        self._repo.update(contact)

    def get(self, contact_id: str) -> Contact:
        if not could_exist(contact_id):
            raise ContactNotFound(contact_id)
        return self._repo.get(contact_id)

    def find_by_email(self, email: str) -> Contact | None:
        return self._repo.find_by_email(email) if could_exist(email) else None

    def id_by_email(self, email: str) -> str | None:
        return self._repo.id_by_email(email) if could_exist(email) else None

    def find_by_phone(self, phone: str) -> Contact | None:
        return self._repo.find_by_phone(phone) if could_exist(phone) else None


class _Organisations:
    def __init__(self, unit: Unit) -> None:
        self._repo = unit.storage_unit.organisations

    def add(self, organisation: Organisation) -> None:
        self._repo.add(organisation)

    def get(self, organisation_id: str) -> Organisation | None:
        return self._repo.get(organisation_id) if could_exist(organisation_id) else None


class _Staging:
    """The storage's staged mail; an account or key that cannot exist has no mail."""

    def __init__(self, unit: Unit) -> None:
        self._repo = unit.storage_unit.staged_mail

    def get(self, account: str, key: str) -> StagedMail | None:
        if not (could_exist(account) and could_exist(key)):
            return None
        return self._repo.get(account, key)

    def get_many(self, account: str, keys: Sequence[str]) -> dict[str, StagedMail]:
        possible = [k for k in keys if could_exist(k)]
        if not (possible and could_exist(account)):
            return {}
        return self._repo.get_many(account, possible)

    def add(self, mail: StagedMail) -> None:
        self._repo.add(mail)

    def update(self, mail: StagedMail, *, expected: StagedState | None = None,
               expected_attempts: int | None = None) -> None:
        self._repo.update(mail, expected=expected, expected_attempts=expected_attempts)

    def claim(self, mail: StagedMail) -> None:
        self._repo.claim(mail)

    def list(self, *, account: str | None = None, state: StagedState | None = None,
             limit: int = 100, ack_failing: bool = False) -> list[StagedMail]:
        if account is not None and not could_exist(account):
            return []
        return self._repo.list(account=account, state=state, limit=limit,
                               ack_failing=ack_failing)


class _Knowledge:
    """The storage's knowledge base; a key that cannot exist finds no article."""

    def __init__(self, unit: Unit) -> None:
        self._repo = unit.storage_unit.knowledge

    def add(self, revision: KbRevision) -> None:
        self._repo.add(revision)

    def save(self, revision: KbRevision) -> None:
        self._repo.save(revision)

    def get(self, article_id: str) -> KbArticle:
        if not could_exist(article_id):
            raise NotFound(f"no knowledge-base article {article_id!r}")
        return self._repo.get(article_id)

    def get_by_key(self, key: str) -> KbArticle:
        if not could_exist(key):
            raise NotFound(f"no knowledge-base article {key!r}")
        return self._repo.get_by_key(key)

    def load(self, key: str) -> KbArticle:
        """By id or by key; NotFound (for the key)."""
        try:
            return self.get(key)
        except NotFound:
            pass
        return self.get_by_key(key)

    def revisions(self, article_id: str) -> list[KbRevision]:
        return self._repo.revisions(article_id) if could_exist(article_id) else []

    def list(self, *, category: str | None = None, languages: Sequence[str] | None = None,
             visibility: KbVisibility | None = None,
             states: Sequence[KbState] | None = None) -> list[KbArticle]:
        if category is not None and not could_exist(category):
            return []
        possible = None if languages is None else [x for x in languages if could_exist(x)]
        return self._repo.list(category=category, languages=possible, visibility=visibility,
                               states=states)
