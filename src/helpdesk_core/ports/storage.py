"""Storage ports: repositories and the unit of work that commits them together.

A storage adapter provides a :class:`Storage`; each use case opens one :class:`UnitOfWork`,
loads aggregates through its repositories, calls domain methods and commits. Repositories take
and return domain objects only — never rows, sessions or lazy proxies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.mailbox import MessageRecord, StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Channel

__all__ = [
    "ContactRepository",
    "IncidentTypeRepository",
    "MailStaging",
    "MessageIndex",
    "OrganisationRepository",
    "OutboxRepository",
    "SequenceAllocator",
    "SlaRepository",
    "Storage",
    "TicketRepository",
    "UnitOfWork",
]


class TicketRepository(Protocol):
    def add(self, ticket: Ticket) -> None:
        """Insert a new ticket with its pending events and articles; sets ``version`` to 1."""

    def get(self, ticket_id: str) -> Ticket:
        """Load by id; raises TicketNotFound."""

    def get_by_number(self, number: str) -> Ticket:
        """Load by human-facing number; raises TicketNotFound."""

    def save(self, ticket: Ticket) -> None:
        """Persist changes if the stored version still equals ``ticket.version``.

        Raises ConcurrencyError (and writes nothing) when someone saved it first; on success
        increments ``ticket.version``. A ticket without pending changes is not written.
        """

    def query(self, query: TicketQuery) -> Page[Ticket]:
        """The agent queue: filtered, sorted, keyset-paginated exactly as TicketQuery.apply."""

    def history(self, ticket_id: str) -> list[TicketEvent]:
        """Every recorded change of the ticket, oldest first (by ``seq``)."""

    def articles(self, ticket_id: str) -> list[Article]:
        """The communication log, in the order the articles were added."""


class ContactRepository(Protocol):
    def add(self, contact: Contact) -> None: ...

    def get(self, contact_id: str) -> Contact:
        """Raises ContactNotFound."""

    def update(self, contact: Contact) -> None: ...

    def find_by_email(self, email: str) -> Contact | None:
        """``email`` is already normalised (see normalize_email)."""

    def id_by_email(self, email: str) -> str | None:
        """The id of the contact ``find_by_email`` finds, without loading it."""

    def find_by_phone(self, phone: str) -> Contact | None:
        """``phone`` is already in E.164."""


class OrganisationRepository(Protocol):
    def add(self, organisation: Organisation) -> None: ...

    def get(self, organisation_id: str) -> Organisation | None: ...


class IncidentTypeRepository(Protocol):
    def put(self, incident_type: IncidentType) -> None:
        """Insert or replace by key."""

    def all(self) -> list[IncidentType]:
        """Every node, ordered by key."""


class SequenceAllocator(Protocol):
    def next_value(self, scope: str) -> int:
        """The next value of the named counter (1, 2, 3 ...), unique even under concurrency.

        Called inside the transaction that uses the value, so a rolled-back ticket may leave a
        gap but two committed tickets never share a number.
        """


class MessageIndex(Protocol):
    """Every Message-ID stored on or sent from a ticket (threading and repeat detection)."""

    def add(self, record: MessageRecord) -> None:
        """Insert. A second record with the same (message_id, fingerprint) raises
        StorageError: the same mail was stored concurrently, and this transaction must not
        store it again."""

    def find(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Records whose Message-ID is one of ``message_ids`` (exact match), oldest first."""


class MailStaging(Protocol):
    """Raw mails made durable before they are parsed, keyed by (account, mailbox key)."""

    def get(self, account: str, key: str) -> StagedMail | None: ...

    def get_many(self, account: str, keys: Sequence[str]) -> dict[str, StagedMail]:
        """The staged rows among ``keys`` of ``account``, by key (unknown keys are absent)."""

    def add(self, mail: StagedMail) -> None:
        """Insert a new row; raises StorageError if (account, key) is already staged."""

    def update(self, mail: StagedMail, *, expected: StagedState | None = None) -> None:
        """Replace the row of (account, key). With ``expected``, only if the stored row is
        still in that state, else ConcurrencyError (another fetcher handled it)."""

    def list(self, *, account: str | None = None, state: StagedState | None = None,
             limit: int = 100) -> list[StagedMail]:
        """Rows oldest staged first, optionally of one account and one state."""


class OutboxRepository(Protocol):
    """Outgoing messages, written in the transaction of the article they belong to."""

    def add(self, message: OutboxMessage) -> None: ...

    def get(self, message_id: str) -> OutboxMessage:
        """By outbox id; raises NotFound."""

    def update(self, message: OutboxMessage) -> None:
        """Replace the stored message (state, attempts, results ...); NotFound if unknown."""

    def claim(self, *, now: datetime, lease: timedelta, limit: int,
              channel: Channel | None = None) -> list[OutboxMessage]:
        """Pending messages that are due (``next_attempt_at`` passed or unset) and not leased,
        oldest first, at most ``limit``, leased to the caller until ``now + lease``.

        Two dispatchers never get the same message: PostgreSQL skips rows another
        transaction has locked (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers.
        """

    def find(self, *, state: OutboxState | None = None, provider_id: str | None = None,
             limit: int = 100) -> list[OutboxMessage]:
        """Messages by state or by the gateway's id (delivery reports), oldest first."""

    def for_ticket(self, ticket_id: str) -> list[OutboxMessage]:
        """The ticket's messages, oldest first."""

    def count_since(self, *, recipient: str, kind: str, since: datetime) -> int:
        """How many messages of ``kind`` went to ``recipient`` from ``since`` on."""


class SlaRepository(Protocol):
    """Each ticket's SLA record (policy, next due instant) and the escalations that fired."""

    def put(self, record: SlaRecord) -> None:
        """Insert or replace the ticket's record."""

    def get(self, ticket_id: str) -> SlaRecord | None: ...

    def due(self, *, now: datetime, limit: int) -> list[SlaRecord]:
        """Records whose ``next_at`` is at or before ``now``, earliest first: read through an
        index, so the cost grows with the number due, not with the number of tickets."""

    def fire(self, record: EscalationRecord) -> bool:
        """Record that an escalation fired; False (and nothing written) if that ticket,
        target, cycle and level fired before — also when another transaction is firing it
        right now (the database's unique key decides)."""

    def fired(self, ticket_id: str) -> list[EscalationRecord]:
        """The ticket's escalations, in the order they fired."""


class UnitOfWork(Protocol):
    # Read-only properties, so implementations may hold narrower types in plain attributes.
    @property
    def tickets(self) -> TicketRepository: ...

    @property
    def contacts(self) -> ContactRepository: ...

    @property
    def organisations(self) -> OrganisationRepository: ...

    @property
    def incident_types(self) -> IncidentTypeRepository: ...

    @property
    def sequences(self) -> SequenceAllocator: ...

    @property
    def messages(self) -> MessageIndex: ...

    @property
    def staged_mail(self) -> MailStaging: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def sla(self) -> SlaRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Storage(Protocol):
    """What a storage adapter's factory returns."""

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. ``read_only`` lets a backend skip write locks."""

    def migrate(self) -> None:
        """Bring the schema to the newest version (idempotent)."""

    def close(self) -> None:
        """Release connections."""
