"""Storage ports: the unit of work that commits a context's repositories together.

A storage adapter provides a :class:`Storage`; each use case opens one :class:`UnitOfWork`,
loads aggregates through its repositories, calls domain methods and commits. Repositories take
and return domain objects only — never rows, sessions or lazy proxies. Each repository
protocol lives in the module of its context (``ports/tickets.py``, ``ports/contacts.py``,
``ports/configuration.py``, ``ports/mailstore.py``, ``ports/outbox.py``, ``ports/sla.py``,
``ports/knowledge.py``, ``ports/portal.py``, ``ports/privacy.py``) and has a contract
module of its own in :mod:`helpdesk_core.testing.contracts`; they are imported here too,
where a unit of work names them.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from helpdesk_core.ports.configuration import IncidentTypeRepository, SequenceAllocator
from helpdesk_core.ports.contacts import ContactRepository, OrganisationRepository
from helpdesk_core.ports.knowledge import KnowledgeBase
from helpdesk_core.ports.mailstore import AutomaticSenders, MailStaging, MessageIndex
from helpdesk_core.ports.outbox import OutboxRepository
from helpdesk_core.ports.portal import PortalLinkRepository
from helpdesk_core.ports.privacy import ErasureStore
from helpdesk_core.ports.sla import SlaRepository
from helpdesk_core.ports.tickets import TicketRepository

__all__ = [
    "AutomaticSenders",
    "ContactRepository",
    "ErasureStore",
    "IncidentTypeRepository",
    "KnowledgeBase",
    "MailStaging",
    "MessageIndex",
    "OrganisationRepository",
    "OutboxRepository",
    "PortalLinkRepository",
    "SequenceAllocator",
    "SlaRepository",
    "Storage",
    "TicketRepository",
    "UnitOfWork",
]


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
    def automatic_senders(self) -> AutomaticSenders: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def sla(self) -> SlaRepository: ...

    @property
    def knowledge(self) -> KnowledgeBase: ...

    @property
    def portal_links(self) -> PortalLinkRepository: ...

    @property
    def erasure(self) -> ErasureStore: ...

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
        """Create the schema, or bring it to the newest version when it is behind
        (idempotent). ``bootstrap()`` calls it on every start when ``Settings.migrate`` is
        true, so on an up-to-date database it should cost no more than reading the schema's
        version. A schema newer than the adapter raises ``SchemaError``."""

    def check_schema(self) -> None:
        """Raise ``SchemaError`` when the schema is missing, behind or newer than the
        adapter, saying how to create or upgrade it; change nothing. ``bootstrap()`` calls it
        when ``Settings.migrate`` is false. A store without a schema does nothing."""

    def close(self) -> None:
        """Release connections."""
