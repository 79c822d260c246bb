"""The Storage port on SQLAlchemy Core: SQLite and PostgreSQL.

A unit of work is one database transaction on one connection, begun lazily at the first
statement and ended by ``commit``/``rollback`` (the unit stays usable afterwards, the next
statement begins a new transaction). Repositories write through at once, so reads inside the
unit see its own writes, exactly like the in-memory reference.

Errors: every SQLAlchemy/driver error leaves as :class:`StorageError` with the original as
``__cause__``; a stale ticket version is :class:`ConcurrencyError`; an email address that
belongs to another contact is ``ValidationError(field="email")``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import (
    Select,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.ticket import Arrival, Ticket
from helpdesk_core.errors import (
    ConcurrencyError,
    ContactNotFound,
    StorageError,
    TicketNotFound,
    ValidationError,
)
from helpdesk_sqlalchemy import convert, driver, statements
from helpdesk_sqlalchemy.engine import BEGIN_OPTION, create_engine_for, guarded, storage_errors
from helpdesk_sqlalchemy.erasure import SqlAlchemyErasureStore
from helpdesk_sqlalchemy.knowledge import SqlAlchemyKnowledgeBase
from helpdesk_sqlalchemy.mailstore import (
    SqlAlchemyAutomaticSenders,
    SqlAlchemyMailStaging,
    SqlAlchemyMessageIndex,
    SqlAlchemyOutbox,
)
from helpdesk_sqlalchemy.portalstore import SqlAlchemyPortalLinkRepository
from helpdesk_sqlalchemy.queue import QueueReader
from helpdesk_sqlalchemy.slastore import SqlAlchemySlaRepository
from helpdesk_sqlalchemy.tables import (
    articles,
    contact_emails,
    contact_phones,
    contacts,
    incident_types,
    organisations,
    ticket_tags,
    tickets,
)

if TYPE_CHECKING:
    from sqlalchemy import Table

    from helpdesk_core.settings import Settings

__all__ = [
    "SqlAlchemyContactRepository",
    "SqlAlchemyIncidentTypeRepository",
    "SqlAlchemyOrganisationRepository",
    "SqlAlchemySequenceAllocator",
    "SqlAlchemyStorage",
    "SqlAlchemyTicketRepository",
    "SqlAlchemyUnitOfWork",
    "dialect_insert",
]


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT construct, which has ``ON CONFLICT`` support."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise StorageError(f"unsupported database {name!r}")


def _upsert(
    conn: Connection,
    table: Table,
    row: Mapping[str, Any],
    key: str,
    set_: Mapping[str, Any] | None = None,
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE``; by default the new row replaces the old."""
    stmt = dialect_insert(conn, table).values(**row)
    if set_ is None:
        set_ = {c: stmt.excluded[c] for c in row if c != key}
    return stmt.on_conflict_do_update(index_elements=[key], set_=set_)


class SqlAlchemyStorage:
    """Storage on one SQLAlchemy engine (SQLite or PostgreSQL via psycopg 3)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.queue = QueueReader(engine.dialect)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        return cls(create_engine_for(url, options))

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Build from ``settings.database_url`` and ``settings.options``."""
        return cls(create_engine_for(settings.database_url, settings.options))

    def unit_of_work(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self, read_only=read_only)

    def migrate(self) -> None:
        """Create the schema or run the pending alembic revisions when it is behind; one
        query when it is up to date (:func:`helpdesk_sqlalchemy.migrate.ensure_schema`)."""
        from helpdesk_sqlalchemy.migrate import ensure_schema

        ensure_schema(self.engine)

    def check_schema(self) -> None:
        """SchemaError unless the schema is up to date; one query, nothing changed."""
        from helpdesk_sqlalchemy.migrate import check_schema

        check_schema(self.engine)

    def schema_revision(self) -> tuple[str | None, str]:
        """(the revision the database is at — None for none —, the newest revision): what
        ``helpdesk db current`` shows. Connecting to a SQLite file that does not exist
        creates it; check first if that matters."""
        from helpdesk_sqlalchemy.migrate import current_revision, head_revision

        return current_revision(self.engine), head_revision()

    def close(self) -> None:
        """Close pooled connections; the engine reconnects if it is used again."""
        self.engine.dispose()


class SqlAlchemyUnitOfWork:
    """One transaction; see the module docstring."""

    def __init__(self, storage: SqlAlchemyStorage, *, read_only: bool = False) -> None:
        self.storage = storage
        self.read_only = read_only
        self._conn: Connection | None = None
        # Mirrors the in-memory rule: a read-only unit may not commit ticket/contact changes.
        self._wrote_aggregates = False
        self.tickets = SqlAlchemyTicketRepository(self)
        self.contacts = SqlAlchemyContactRepository(self)
        self.organisations = SqlAlchemyOrganisationRepository(self)
        self.incident_types = SqlAlchemyIncidentTypeRepository(self)
        self.sequences = SqlAlchemySequenceAllocator(self)
        self.messages = SqlAlchemyMessageIndex(self.connection)
        self.staged_mail = SqlAlchemyMailStaging(self.connection)
        self.automatic_senders = SqlAlchemyAutomaticSenders(self.connection)
        self.outbox = SqlAlchemyOutbox(self.connection)
        self.sla = SqlAlchemySlaRepository(self.connection)
        self.knowledge = SqlAlchemyKnowledgeBase(self.connection)
        self.portal_links = SqlAlchemyPortalLinkRepository(self.connection)
        self.erasure = SqlAlchemyErasureStore(self.connection)

    def connection(self) -> Connection:
        """The unit's connection inside an open transaction (begun on first use)."""
        conn = self._conn
        if conn is not None and conn.in_transaction():  # every call after the first
            return conn
        with storage_errors("opening a transaction"):
            if self._conn is None or self._conn.closed:
                conn = self.storage.engine.connect()
                mode = "DEFERRED" if self.read_only else "IMMEDIATE"
                self._conn = conn.execution_options(**{BEGIN_OPTION: mode})
            if not self._conn.in_transaction():
                self._conn.begin()
        return self._conn

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        except StorageError:
            if exc is None:
                raise
            # The error that ended the block says more than a failed rollback after it.
        finally:
            self._close()

    def commit(self) -> None:
        if self.read_only and self._wrote_aggregates:
            self.rollback()
            raise StorageError("a read-only unit of work cannot commit changes")
        conn = self._conn
        self._wrote_aggregates = False
        if conn is None or not conn.in_transaction():
            return
        with storage_errors("commit"):
            conn.commit()

    def rollback(self) -> None:
        conn = self._conn
        self._wrote_aggregates = False
        if conn is None or conn.closed or not conn.in_transaction():
            return
        with storage_errors("rollback"):
            conn.rollback()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing returns the connection to the pool (or discards a broken one); a
            # failure here must not hide the outcome of the unit.
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                conn.close()


class _Repository:
    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._uow = uow

    def _conn(self) -> Connection:
        return self._uow.connection()


# Run through SQLAlchemy Core: only when a save found no row of the expected version.
_TICKET_EXISTS = select(tickets.c.id).where(tickets.c.id == bindparam("key"))
_TAG_EVENTS = frozenset({EventKind.TAG_ADDED, EventKind.TAG_REMOVED})


@contextlib.contextmanager
def _all_or_nothing(uow: SqlAlchemyUnitOfWork, conn: Connection, wanted: bool) -> Iterator[None]:
    """When ``wanted``, a savepoint around a save that may fail half-way (an arrival that
    lost a race): on an error nothing of it stays written and the unit remains usable, as
    in the in-memory reference."""
    if not wanted:
        yield
        return
    wrote = uow._wrote_aggregates
    savepoint = conn.begin_nested()
    try:
        yield
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        uow._wrote_aggregates = wrote
        raise
    savepoint.commit()


class SqlAlchemyTicketRepository(_Repository):
    @guarded
    def add(self, ticket: Ticket) -> None:
        conn = self._conn()
        events, new_articles = ticket.pending_events, ticket.pending_articles
        arrivals = ticket.pending_arrivals
        row = convert.ticket_to_row(ticket)
        row["version"] = 1
        with _all_or_nothing(self._uow, conn, bool(arrivals)):
            try:
                driver.execute(conn, statements.INSERT_TICKET, row)
            except sa_exc.IntegrityError as error:
                raise StorageError(f"ticket {ticket.number} already exists") from error
            self._uow._wrote_aggregates = True
            self._insert_tags(conn, ticket.id, ticket.tags)
            self._insert_changes(conn, events, new_articles, first_position=1)
            self._rehome(conn, ticket, arrivals, first_position=len(new_articles) + 1)
        ticket.collect()
        ticket.collect_arrivals()
        ticket.version = 1

    @guarded
    def get(self, ticket_id: str) -> Ticket:
        return self._load_one(statements.TICKET_BY_ID if self._uow.read_only
                              else statements.TICKET_BY_ID_LOCKED, ticket_id)

    @guarded
    def get_by_number(self, number: str) -> Ticket:
        return self._load_one(statements.TICKET_BY_NUMBER if self._uow.read_only
                              else statements.TICKET_BY_NUMBER_LOCKED, number)

    @guarded
    def save(self, ticket: Ticket) -> None:
        if not ticket.has_changes:
            return
        conn = self._conn()
        expected = ticket.version
        row = convert.ticket_to_row(ticket)
        del row["id"], row["version"]
        events, new_articles = ticket.pending_events, ticket.pending_articles
        arrivals = ticket.pending_arrivals
        with _all_or_nothing(self._uow, conn, bool(arrivals)):
            changed = driver.execute(conn, statements.SAVE_TICKET,
                                     {**row, "b_id": ticket.id, "b_expected": expected})
            if changed != 1:
                found = conn.execute(_TICKET_EXISTS, {"key": ticket.id}).first()
                if found is None:
                    raise TicketNotFound(ticket.id)
                raise ConcurrencyError(f"ticket {ticket.number} was changed by someone else")
            self._uow._wrote_aggregates = True
            # Tags change only through add_tag/remove_tag, which record an event each.
            if any(e.kind in _TAG_EVENTS for e in events):
                self._sync_tags(conn, ticket.id, ticket.tags)
            first_position = 1
            if new_articles or arrivals:
                [(last,)] = driver.fetch(conn, statements.LAST_POSITION,
                                         {"ticket_id": ticket.id})
                first_position = (last or 0) + 1
            # The new articles first, then the arrivals (as the in-memory reference does).
            self._insert_changes(conn, events, new_articles, first_position=first_position)
            self._rehome(conn, ticket, arrivals,
                         first_position=first_position + len(new_articles))
        ticket.collect()
        ticket.collect_arrivals()
        ticket.version = expected + 1

    @guarded
    def query(self, query: TicketQuery) -> Page[Ticket]:
        return Page.of(self._uow.storage.queue.page(self._conn(), query), query)

    @guarded
    def history(self, ticket_id: str) -> list[TicketEvent]:
        rows = driver.mappings(self._conn(), statements.HISTORY, {"ticket_id": ticket_id})
        return [convert.event_from_row(r) for r in rows]

    @guarded
    def articles(self, ticket_id: str) -> list[Article]:
        rows = driver.mappings(self._conn(), statements.ARTICLES, {"ticket_id": ticket_id})
        return [convert.article_from_row(r) for r in rows]

    # -- internals --------------------------------------------------------------------------

    def _load_one(self, statement: Select[Any], key: str) -> Ticket:
        conn = self._conn()
        rows = driver.fetch(conn, statement, {"key": key})
        if not rows:
            raise TicketNotFound(key)
        return self._uow.storage.queue.tickets(conn, rows)[0]

    @staticmethod
    def _insert_tags(conn: Connection, ticket_id: str, tags: Iterable[str]) -> None:
        values = [{"ticket_id": ticket_id, "tag": tag} for tag in sorted(tags)]
        if values:
            driver.execute(conn, statements.INSERT_TAG, values)

    def _sync_tags(self, conn: Connection, ticket_id: str, tags: frozenset[str]) -> None:
        stored = {tag for (tag,) in driver.fetch(conn, statements.TAGS_OF_ONE,
                                                 {"ticket_id": ticket_id})}
        removed = stored - tags
        if removed:
            conn.execute(
                delete(ticket_tags).where(
                    ticket_tags.c.ticket_id == ticket_id, ticket_tags.c.tag.in_(sorted(removed))
                )
            )
        self._insert_tags(conn, ticket_id, tags - stored)

    @staticmethod
    def _rehome(conn: Connection, ticket: Ticket, arrivals: Sequence[Arrival], *,
                first_position: int) -> None:
        """Move the arrivals' rows onto ``ticket``, placed from ``first_position`` on in
        the order given; ConcurrencyError if one is no longer under its ``from_ticket``."""
        if not arrivals:
            return
        moved = driver.execute(conn, statements.REHOME_ARTICLE, [
            {"b_id": arrival.article.id, "b_from": arrival.from_ticket, "b_to": ticket.id,
             "b_position": first_position + i} for i, arrival in enumerate(arrivals)])
        if moved != len(arrivals):
            # Which one: the first that is not on the ticket now (the caller rolls back).
            here = {a for (a,) in conn.execute(
                select(articles.c.id).where(articles.c.ticket_id == ticket.id,
                                            articles.c.id.in_([x.article.id
                                                               for x in arrivals])))}
            lost = next((x for x in arrivals if x.article.id not in here), arrivals[0])
            raise ConcurrencyError(f"article {lost.article.id} is no longer on ticket "
                                   f"{lost.from_ticket}")

    @staticmethod
    def _insert_changes(
        conn: Connection,
        events: Sequence[TicketEvent],
        new_articles: Sequence[Article],
        *,
        first_position: int,
    ) -> None:
        if events:
            driver.execute(conn, statements.INSERT_EVENT,
                           [convert.event_to_row(e) for e in events])
        if new_articles:
            driver.execute(
                conn,
                statements.INSERT_ARTICLE,
                [
                    convert.article_to_row(a, position=first_position + i)
                    for i, a in enumerate(new_articles)
                ],
            )


def _is_email_conflict(error: sa_exc.IntegrityError) -> bool:
    text = str(error.orig)
    return "uq_contact_emails_email" in text or "contact_emails.email" in text


_CONTACT = select(contacts).where(contacts.c.id == bindparam("contact_id"))
_CONTACT_EMAILS = (select(contact_emails.c.email)
                   .where(contact_emails.c.contact_id == bindparam("contact_id"))
                   .order_by(contact_emails.c.position))
_CONTACT_PHONES = (select(contact_phones.c.phone)
                   .where(contact_phones.c.contact_id == bindparam("contact_id"))
                   .order_by(contact_phones.c.position))


class SqlAlchemyContactRepository(_Repository):
    @guarded
    def add(self, contact: Contact) -> None:
        conn = self._conn()
        # An existing id or an address of another contact is refused by the primary key and
        # the unique index; the savepoint turns either into the port's error.
        with self._savepoint(conn, contact):
            driver.execute(conn, statements.INSERT_CONTACT, convert.contact_to_row(contact))
            self._insert_details(conn, contact)
        self._uow._wrote_aggregates = True

    @guarded
    def get(self, contact_id: str) -> Contact:
        conn = self._conn()
        params = {"contact_id": contact_id}
        row = conn.execute(_CONTACT, params).mappings().first()
        if row is None:
            raise ContactNotFound(contact_id)
        emails = conn.execute(_CONTACT_EMAILS, params).scalars().all()
        phones = conn.execute(_CONTACT_PHONES, params).scalars().all()
        return convert.contact_from_row(row, emails, phones)

    @guarded
    def update(self, contact: Contact) -> None:
        conn = self._conn()
        row = convert.contact_to_row(contact)
        del row["id"]
        with self._savepoint(conn, contact):
            result = conn.execute(
                update(contacts).where(contacts.c.id == contact.id).values(**row)
            )
            if result.rowcount != 1:
                raise ContactNotFound(contact.id)
            conn.execute(delete(contact_emails).where(contact_emails.c.contact_id == contact.id))
            conn.execute(delete(contact_phones).where(contact_phones.c.contact_id == contact.id))
            self._insert_details(conn, contact)
        self._uow._wrote_aggregates = True

    @guarded
    def find_by_email(self, email: str) -> Contact | None:
        owner = self._owner_of(self._conn(), email)
        return None if owner is None else self.get(owner)

    @guarded
    def id_by_email(self, email: str) -> str | None:
        return self._owner_of(self._conn(), email)

    @guarded
    def find_by_phone(self, phone: str) -> Contact | None:
        # Several contacts may share a number (a company switchboard): the oldest one wins.
        owner = self._conn().execute(
            select(contacts.c.id)
            .join(contact_phones, contact_phones.c.contact_id == contacts.c.id)
            .where(contact_phones.c.phone == phone)
            .order_by(contacts.c.ordinal, contacts.c.id)
            .limit(1)
        ).scalar_one_or_none()
        return None if owner is None else self.get(owner)

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _owner_of(conn: Connection, email: str) -> str | None:
        found = driver.fetch(conn, statements.EMAIL_OWNER, {"email": email})
        return found[0][0] if found else None

    @staticmethod
    def _insert_details(conn: Connection, contact: Contact) -> None:
        if contact.emails:
            driver.execute(
                conn,
                statements.INSERT_CONTACT_EMAIL,
                [
                    {"contact_id": contact.id, "position": i, "email": email}
                    for i, email in enumerate(contact.emails)
                ],
            )
        if contact.phones:
            driver.execute(
                conn,
                statements.INSERT_CONTACT_PHONE,
                [
                    {"contact_id": contact.id, "position": i, "phone": phone}
                    for i, phone in enumerate(contact.phones)
                ],
            )

    @staticmethod
    def _savepoint(conn: Connection, contact: Contact) -> _ContactSavepoint:
        return _ContactSavepoint(conn, contact)


class _ContactSavepoint:
    """A savepoint around a contact write, so that a refused email leaves the unit usable
    (PostgreSQL aborts the whole transaction on a failed statement otherwise)."""

    def __init__(self, conn: Connection, contact: Contact) -> None:
        self._conn = conn
        self._contact = contact

    def __enter__(self) -> None:
        self._savepoint = self._conn.begin_nested()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self._savepoint.commit()
            return
        if self._savepoint.is_active:
            self._savepoint.rollback()
        if isinstance(exc, sa_exc.IntegrityError):
            if _is_email_conflict(exc):
                raise ValidationError(
                    "an address belongs to another contact", field="email"
                ) from exc
            raise StorageError(f"contact {self._contact.id} exists or conflicts: {exc.orig}"
                               ) from exc


class SqlAlchemyOrganisationRepository(_Repository):
    @guarded
    def add(self, organisation: Organisation) -> None:
        # Like the reference store, adding an existing id replaces it.
        conn = self._conn()
        conn.execute(_upsert(conn, organisations, convert.organisation_to_row(organisation), "id"))

    @guarded
    def get(self, organisation_id: str) -> Organisation | None:
        row = self._conn().execute(
            select(organisations).where(organisations.c.id == organisation_id)
        ).mappings().first()
        return None if row is None else convert.organisation_from_row(row)


class SqlAlchemyIncidentTypeRepository(_Repository):
    @guarded
    def put(self, incident_type: IncidentType) -> None:
        conn = self._conn()
        conn.execute(
            _upsert(conn, incident_types, convert.incident_type_to_row(incident_type), "key")
        )

    @guarded
    def all(self) -> list[IncidentType]:
        rows = driver.mappings(self._conn(), statements.ALL_INCIDENT_TYPES, {})
        return [convert.incident_type_from_row(r) for r in rows]


class SqlAlchemySequenceAllocator(_Repository):
    @guarded
    def next_value(self, scope: str) -> int:
        """One atomic upsert: concurrent callers queue on the counter row until commit."""
        conn = self._conn()
        [(value,)] = driver.fetch(conn, statements.next_value(conn.dialect.name),
                                  {"scope": scope})
        return int(value)
