"""In-memory storage: the reference implementation every storage adapter is compared with.

It behaves like a database with optimistic concurrency: a unit of work sees committed data,
stages its writes, and applies them atomically at commit, where a stale ticket version raises
ConcurrencyError and nothing is applied. Loaded objects are copies, so mutating one without
saving it changes nothing — the same as with a real database.

The database is an object of its own (``_State``: the committed rows, the lock commits take,
and the outbox rows open units have claimed). :meth:`InMemoryStorage.reopen` gives another
instance on the same database, as a second process opens the same database server; the
blob and template stores made for a storage keep their data in its database too.

Outbox claims behave like ``SELECT … FOR UPDATE SKIP LOCKED``: the lease is written in the
claiming unit (seen by it at once, by others when it commits, never if it rolls back), and
while the unit is open its rows are locked, so other units' claims pass over them.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import attrs

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.knowledge import KbArticle, KbRevision, KbState, KbVisibility
from helpdesk_core.domain.mailbox import AutomaticSender, MessageRecord, StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxClaim, OutboxMessage, OutboxState
from helpdesk_core.domain.portal import PortalLink
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.templates import MessageTemplate
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Channel, new_id
from helpdesk_core.errors import (
    ConcurrencyError,
    ContactNotFound,
    NotFound,
    StorageError,
    TicketNotFound,
    ValidationError,
)

__all__ = ["InMemoryStorage", "InMemoryUnitOfWork"]


@attrs.define(eq=False)
class _State:
    """One in-memory database: what is committed, and the locks open units hold on it."""

    tickets: dict[str, Ticket] = attrs.field(factory=dict)
    events: dict[str, list[TicketEvent]] = attrs.field(factory=dict)
    articles: dict[str, list[Article]] = attrs.field(factory=dict)
    contacts: dict[str, Contact] = attrs.field(factory=dict)
    # The contacts' indexes, as a database keeps them: address -> its contact's id, E.164
    # number -> the ids of the contacts that have it (oldest first), id -> creation order.
    contact_by_email: dict[str, str] = attrs.field(factory=dict)
    contact_by_phone: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    contact_order: dict[str, int] = attrs.field(factory=dict)
    organisations: dict[str, Organisation] = attrs.field(factory=dict)
    incident_types: dict[str, IncidentType] = attrs.field(factory=dict)
    sequences: dict[str, int] = attrs.field(factory=dict)
    messages: list[MessageRecord] = attrs.field(factory=list)
    staged_mail: dict[tuple[str, str], StagedMail] = attrs.field(factory=dict)
    automatic_senders: dict[str, AutomaticSender] = attrs.field(factory=dict)
    outbox: list[OutboxMessage] = attrs.field(factory=list)
    sla: dict[str, SlaRecord] = attrs.field(factory=dict)
    escalations: dict[tuple[str, str, int, str], EscalationRecord] = attrs.field(factory=dict)
    portal_links: dict[str, PortalLink] = attrs.field(factory=dict)
    blobs: dict[str, bytes] = attrs.field(factory=dict)
    templates: dict[tuple[str, str, str | None], MessageTemplate] = attrs.field(factory=dict)
    kb_revisions: dict[str, list[KbRevision]] = attrs.field(factory=dict)  # id -> revisions
    # Commits, sequence values and claims take it; re-entrant, since a thread may open a
    # unit inside another.
    lock: threading.RLock = attrs.field(factory=threading.RLock, repr=False)
    # Outbox message id -> the outbox of the open unit that claimed it (a row lock). Weak, so
    # that a unit dropped without commit or rollback releases its rows as a lost
    # connection's transaction would.
    claimed: weakref.WeakValueDictionary[str, _Outbox] = attrs.field(
        factory=weakref.WeakValueDictionary, repr=False)


def _copy_ticket(ticket: Ticket) -> Ticket:
    clone = copy.copy(ticket)
    clone.custom_fields = dict(ticket.custom_fields)
    clone.pending_events, clone.pending_articles, clone.pending_arrivals = [], [], []
    return clone


# An article that comes onto a ticket in a unit of work: (the ticket, the article, the ticket
# it is moved from, or None for a new article). In the order they come, which is the order
# of the ticket's articles of one instant.
_Landing = tuple[str, Article, str | None]


def _landed(stored: dict[str, list[Article]], landings: Sequence[_Landing], *,
            strict: bool) -> dict[str, list[Article]]:
    """The article lists (in the order the articles came) of the tickets ``landings``
    changes, as they are once it is applied to ``stored``: a new article is appended to its
    ticket's list, a moved one taken from its old ticket's list, unchanged but for its
    ``ticket_id``, and appended to its new ticket's. A moved article that is not under the
    ticket it is moved from raises ConcurrencyError if ``strict``, else stays where it is."""
    lists: dict[str, list[Article]] = {}

    def of(ticket_id: str) -> list[Article]:
        found = lists.get(ticket_id)
        if found is None:
            found = lists[ticket_id] = list(stored.get(ticket_id, ()))
        return found

    for ticket_id, article, source in landings:
        if source is not None:
            old = of(source)
            index = next((i for i, a in enumerate(old) if a.id == article.id), None)
            if index is None:
                if strict:
                    raise ConcurrencyError(f"article {article.id} is no longer on ticket "
                                           f"{source}")
                continue
            article = attrs.evolve(old.pop(index), ticket_id=ticket_id)
        of(ticket_id).append(article)
    return lists


class InMemoryStorage:
    """A new, empty in-memory database and an instance on it."""

    def __init__(self) -> None:
        self._state = _State()

    def reopen(self) -> InMemoryStorage:
        """Another instance on this instance's database, as a second process (or a restart)
        opens the same database: each sees what the other commits, and both may write at
        once. Closing either leaves the other working."""
        other = InMemoryStorage()
        other._state = self._state
        return other

    def unit_of_work(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self, read_only=read_only)

    def migrate(self) -> None:
        """Nothing to migrate."""

    def check_schema(self) -> None:
        """There is no schema to check."""

    def close(self) -> None:
        """Nothing to release."""


class _Tickets:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, tuple[Ticket, int | None]] = {}  # id -> (copy, expected version)
        self.new_events: list[TicketEvent] = []
        self.landings: list[_Landing] = []

    def _state(self) -> _State:
        return self._uow.storage._state

    def _land(self, ticket: Ticket) -> list[_Landing]:
        """The ticket's new articles, then its arrivals, as landings; ConcurrencyError (and
        nothing collected) if an arrival's article is not where it is moved from."""
        landings: list[_Landing] = [(ticket.id, a, None) for a in ticket.pending_articles]
        landings += [(ticket.id, a.article, a.from_ticket) for a in ticket.pending_arrivals]
        if ticket.pending_arrivals:
            state = self._state()
            with state.lock:
                _landed(state.articles, [*self.landings, *landings], strict=True)
        return landings

    def add(self, ticket: Ticket) -> None:
        landings = self._land(ticket)
        events, _ = ticket.collect()
        ticket.collect_arrivals()
        ticket.version = 1
        self.staged[ticket.id] = (_copy_ticket(ticket), None)
        self.new_events += events
        self.landings += landings

    def _visible(self, ticket_id: str) -> Ticket | None:
        if ticket_id in self.staged:
            return self.staged[ticket_id][0]
        return self._state().tickets.get(ticket_id)

    def get(self, ticket_id: str) -> Ticket:
        found = self._visible(ticket_id)
        if found is None:
            raise TicketNotFound(ticket_id)
        return _copy_ticket(found)

    def get_by_number(self, number: str) -> Ticket:
        for ticket in self._all():
            if ticket.number == number:
                return _copy_ticket(ticket)
        raise TicketNotFound(number)

    def save(self, ticket: Ticket) -> None:
        if not ticket.has_changes:
            return
        if self._visible(ticket.id) is None:
            raise TicketNotFound(ticket.id)
        expected = ticket.version
        previous = self.staged.get(ticket.id)
        if previous is not None and previous[0].version != expected:
            raise ConcurrencyError(f"ticket {ticket.number} was changed by someone else")
        landings = self._land(ticket)
        events, _ = ticket.collect()
        ticket.collect_arrivals()
        base_expected = previous[1] if previous is not None else expected
        ticket.version = expected + 1
        self.staged[ticket.id] = (_copy_ticket(ticket), base_expected)
        self.new_events += events
        self.landings += landings

    def _all(self) -> list[Ticket]:
        merged = dict(self._state().tickets)
        merged.update({tid: t for tid, (t, _) in self.staged.items()})
        return list(merged.values())

    def query(self, query: TicketQuery) -> Page[Ticket]:
        page = query.apply(self._all())
        return Page([_copy_ticket(t) for t in page.items], page.next_cursor)

    def history(self, ticket_id: str) -> list[TicketEvent]:
        stored = self._state().events.get(ticket_id, [])
        staged = [e for e in self.new_events if e.ticket_id == ticket_id]
        return sorted([*stored, *staged], key=lambda e: e.seq)

    def articles(self, ticket_id: str) -> list[Article]:
        stored = self._state().articles
        found = _landed(stored, self.landings, strict=False).get(ticket_id)
        if found is None:
            found = stored.get(ticket_id, [])
        # Stable: articles of one instant stay in the order they came onto the ticket.
        return sorted(found, key=lambda a: a.created_at)

    def check(self, state: _State) -> None:
        numbers = {t.number: t.id for t in state.tickets.values()}
        for ticket_id, (ticket, expected) in self.staged.items():
            current = state.tickets.get(ticket_id)
            if expected is None:
                if current is not None or numbers.get(ticket.number, ticket_id) != ticket_id:
                    raise StorageError(f"ticket {ticket.number} already exists")
            elif current is None or current.version != expected:
                raise ConcurrencyError(f"ticket {ticket.number} was changed by someone else")
        # Another unit may have moved an article this one moves since it was saved.
        _landed(state.articles, self.landings, strict=True)

    def apply(self, state: _State) -> None:
        for ticket_id, (ticket, _) in self.staged.items():
            state.tickets[ticket_id] = ticket
        for event in self.new_events:
            state.events.setdefault(event.ticket_id, []).append(event)
        state.articles.update(_landed(state.articles, self.landings, strict=True))


class _Contacts:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, Contact] = {}

    def _get(self, contact_id: str) -> Contact | None:
        staged = self.staged.get(contact_id)
        return staged if staged is not None else self._uow.storage._state.contacts.get(
            contact_id)

    def add(self, contact: Contact) -> None:
        if self._get(contact.id) is not None:
            raise StorageError(f"contact {contact.id} exists")
        for email in contact.emails:
            if self.find_by_email(email) is not None:
                raise ValidationError(f"{email} belongs to another contact", field="email")
        self.staged[contact.id] = contact

    def update(self, contact: Contact) -> None:
        if self._get(contact.id) is None:
            raise ContactNotFound(contact.id)
        self.staged[contact.id] = contact

    def get(self, contact_id: str) -> Contact:
        found = self._get(contact_id)
        if found is None:
            raise ContactNotFound(contact_id)
        return found

    def find_by_email(self, email: str) -> Contact | None:
        """Through the address index (and this unit's own staged contacts): no scan."""
        state = self._uow.storage._state
        owner = state.contact_by_email.get(email)
        if owner is not None and owner not in self.staged:
            return state.contacts[owner]
        return next((c for c in self.staged.values() if email in c.emails), None)

    def id_by_email(self, email: str) -> str | None:
        found = self.find_by_email(email)
        return None if found is None else found.id

    def find_by_phone(self, phone: str) -> Contact | None:
        """The oldest contact with the number, through the number index (and this unit's
        own staged contacts, which come after the committed ones): no scan."""
        state = self._uow.storage._state
        found = [state.contacts[i] for i in state.contact_by_phone.get(phone, ())
                 if i not in self.staged]
        found += [c for c in self.staged.values() if phone in c.phones]
        if not found:
            return None
        later = {contact_id: n for n, contact_id in enumerate(self.staged)}
        return min(found, key=lambda c: state.contact_order.get(
            c.id, len(state.contact_order) + later.get(c.id, 0)))

    def check(self, state: _State) -> None:
        for contact in self.staged.values():
            for email in contact.emails:
                owner = state.contact_by_email.get(email, contact.id)
                if owner != contact.id:
                    raise ValidationError(f"{email} belongs to another contact", field="email")

    def apply(self, state: _State) -> None:
        for contact in self.staged.values():
            old = state.contacts.get(contact.id)
            if old is None:
                state.contact_order[contact.id] = len(state.contact_order)
            else:  # readers never miss an address or number the contact keeps
                for email in set(old.emails) - set(contact.emails):
                    if state.contact_by_email.get(email) == contact.id:
                        del state.contact_by_email[email]
                for phone in set(old.phones) - set(contact.phones):
                    rest = tuple(i for i in state.contact_by_phone.get(phone, ())
                                 if i != contact.id)
                    if rest:
                        state.contact_by_phone[phone] = rest
                    else:
                        state.contact_by_phone.pop(phone, None)
            state.contacts[contact.id] = contact
            for email in contact.emails:
                state.contact_by_email[email] = contact.id
            for phone in contact.phones:
                ids = {*state.contact_by_phone.get(phone, ()), contact.id}
                state.contact_by_phone[phone] = tuple(sorted(
                    ids, key=state.contact_order.__getitem__))


class _Organisations:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, Organisation] = {}

    def add(self, organisation: Organisation) -> None:
        self.staged[organisation.id] = organisation

    def get(self, organisation_id: str) -> Organisation | None:
        return self.staged.get(organisation_id) or self._uow.storage._state.organisations.get(
            organisation_id
        )

    def check(self, state: _State) -> None:
        """Nothing can conflict."""

    def apply(self, state: _State) -> None:
        state.organisations.update(self.staged)


class _IncidentTypes:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, IncidentType] = {}

    def put(self, incident_type: IncidentType) -> None:
        self.staged[incident_type.key] = incident_type

    def all(self) -> list[IncidentType]:
        merged = {**self._uow.storage._state.incident_types, **self.staged}
        return [merged[k] for k in sorted(merged)]

    def check(self, state: _State) -> None:
        """Nothing can conflict: the last definition wins."""

    def apply(self, state: _State) -> None:
        state.incident_types.update(self.staged)


class _Sequences:
    """Counters are taken under the storage lock at once, like a database sequence row."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def next_value(self, scope: str) -> int:
        state = self._uow.storage._state
        with state.lock:
            value = state.sequences.get(scope, 0) + 1
            state.sequences[scope] = value
        return value


def _same_message(a: MessageRecord, b: MessageRecord) -> bool:
    return (a.message_id, a.fingerprint) == (b.message_id, b.fingerprint)


def _message_key(record: MessageRecord) -> tuple[str, str | None]:
    return record.message_id, record.fingerprint


class _Messages:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: list[MessageRecord] = []
        # Committed records this unit re-pointed (move): their key -> their new ticket.
        self.moved: dict[tuple[str, str | None], str] = {}

    def _all(self) -> list[MessageRecord]:
        committed = self._uow.storage._state.messages
        if self.moved:
            committed = [_moved(r, self.moved) for r in committed]
        return [*committed, *self.staged]

    def add(self, record: MessageRecord) -> None:
        if any(_same_message(r, record) for r in self._all()):
            raise StorageError(f"message {record.message_id} is already stored")
        self.staged.append(record)

    def find(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        wanted = set(message_ids)
        return [r for r in self._all() if r.message_id in wanted]

    def move(self, article_ids: Sequence[str], ticket_id: str) -> None:
        """Re-points the records there are now, like an UPDATE: this unit's at once, the
        committed ones when it commits (records others commit meanwhile stay as they are)."""
        ids = set(article_ids)
        self.staged = [attrs.evolve(r, ticket_id=ticket_id) if r.article_id in ids else r
                       for r in self.staged]
        for record in self._uow.storage._state.messages:
            if record.article_id is not None and record.article_id in ids:
                self.moved[_message_key(record)] = ticket_id

    def check(self, state: _State) -> None:
        for record in self.staged:
            if any(_same_message(r, record) for r in state.messages):
                raise StorageError(f"message {record.message_id} is already stored")

    def apply(self, state: _State) -> None:
        if self.moved:
            state.messages = [_moved(r, self.moved) for r in state.messages]
        state.messages += self.staged


def _moved(record: MessageRecord, moved: dict[tuple[str, str | None], str]) -> MessageRecord:
    ticket_id = moved.get(_message_key(record))
    if ticket_id is None or ticket_id == record.ticket_id:
        return record
    return attrs.evolve(record, ticket_id=ticket_id)


class _StagedMail:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[tuple[str, str], StagedMail] = {}
        self.added: set[tuple[str, str]] = set()
        self.expected: dict[tuple[str, str], tuple[StagedState, int | None]] = {}

    def _all(self) -> dict[tuple[str, str], StagedMail]:
        return {**self._uow.storage._state.staged_mail, **self.staged}

    def get(self, account: str, key: str) -> StagedMail | None:
        return self._all().get((account, key))

    def get_many(self, account: str, keys: Sequence[str]) -> dict[str, StagedMail]:
        rows = self._all()
        return {k: rows[(account, k)] for k in keys if (account, k) in rows}

    def add(self, mail: StagedMail) -> None:
        if (mail.account, mail.key) in self._all():
            raise StorageError(f"mail {mail.account}/{mail.key} is already staged")
        self.staged[(mail.account, mail.key)] = mail
        self.added.add((mail.account, mail.key))

    def update(self, mail: StagedMail, *, expected: StagedState | None = None,
               expected_attempts: int | None = None) -> None:
        current = self._all().get((mail.account, mail.key))
        if current is None:
            raise StorageError(f"mail {mail.account}/{mail.key} is not staged")
        if expected is not None or expected_attempts is not None:
            if not _as_expected(current, expected, expected_attempts):
                raise ConcurrencyError(f"mail {mail.account}/{mail.key} was handled already")
            # Checked again at commit: another unit may change it meanwhile.
            self.expected.setdefault((mail.account, mail.key),
                                     (expected or current.state, expected_attempts))
        self.staged[(mail.account, mail.key)] = mail

    def claim(self, mail: StagedMail) -> None:
        current = self._all().get((mail.account, mail.key))
        if current is None:
            raise StorageError(f"mail {mail.account}/{mail.key} is not staged")
        self.update(current, expected=StagedState.STAGED, expected_attempts=mail.attempts)

    def list(self, *, account: str | None = None, state: StagedState | None = None,
             limit: int = 100, ack_failing: bool = False) -> list[StagedMail]:
        rows = [m for m in self._all().values()
                if (account is None or m.account == account)
                and (state is None or m.state is state)
                and (not ack_failing or m.ack_failing)]
        rows.sort(key=lambda m: (m.staged_at, m.account, m.key))
        return rows[:limit]

    def check(self, state: _State) -> None:
        if self.added & state.staged_mail.keys():
            raise StorageError("mail was staged by someone else")
        for key, (expected_state, attempts) in self.expected.items():
            stored = state.staged_mail.get(key)  # absent: added by this very unit
            if stored is not None and not _as_expected(stored, expected_state, attempts):
                raise ConcurrencyError(f"mail {key[0]}/{key[1]} was handled already")

    def apply(self, state: _State) -> None:
        state.staged_mail.update(self.staged)


class _AutomaticSenders:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, AutomaticSender] = {}
        self.forgotten: set[str] = set()  # deleted by an erasure

    def get(self, address: str) -> AutomaticSender | None:
        if address in self.forgotten:
            return None
        return self.staged.get(address) or \
            self._uow.storage._state.automatic_senders.get(address)

    def put(self, sender: AutomaticSender) -> None:
        self.forgotten.discard(sender.address)
        self.staged[sender.address] = sender

    def forget(self, address: str) -> bool:
        known = self.get(address) is not None
        self.staged.pop(address, None)
        self.forgotten.add(address)
        return known

    def check(self, state: _State) -> None:
        pass  # last writer wins, as the port says

    def apply(self, state: _State) -> None:
        for address in self.forgotten:
            state.automatic_senders.pop(address, None)
        state.automatic_senders.update(self.staged)


def _as_expected(row: StagedMail, state: StagedState | None, attempts: int | None) -> bool:
    return (state is None or row.state is state) and (attempts is None or
                                                       row.attempts == attempts)


class _Outbox:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: list[OutboxMessage] = []
        self.held: set[str] = set()  # the ids of the messages this unit claimed
        # Compare-and-set updates made on committed rows: checked again at commit.
        self.expected: dict[str, OutboxClaim] = {}

    def _all(self) -> list[OutboxMessage]:
        latest = {m.id: m for m in [*self._uow.storage._state.outbox, *self.staged]}
        return sorted(latest.values(), key=lambda m: (m.created_at, m.id))

    def add(self, message: OutboxMessage) -> None:
        if any(m.id == message.id for m in self._all()) or \
                any(m.id == message.id for m in self.staged):
            raise StorageError(f"outbox message {message.id} exists")
        self.staged.append(message)

    def get(self, message_id: str) -> OutboxMessage:
        found = next((m for m in reversed(self._all()) if m.id == message_id), None)
        if found is None:
            raise NotFound(f"no outbox message {message_id!r}")
        return found

    def update(self, message: OutboxMessage, *, expect: OutboxClaim | None = None) -> None:
        state = self._uow.storage._state
        with state.lock:
            current = self.get(message.id)
            if expect is not None:
                if not expect.holds(current):
                    raise ConcurrencyError(f"outbox message {message.id} is no longer "
                                           f"{expect.state.value} under that claim")
                if not any(m.id == message.id for m in self.staged):
                    # Not changed by this unit yet: another unit may commit a change first.
                    self.expected.setdefault(message.id, expect)
        self.staged.append(message)  # the latest version wins (see _all)

    def claim(self, *, now: datetime, lease: timedelta, limit: int,
              channel: Channel | None = None, owner: str | None = None) -> list[OutboxMessage]:
        # FOR UPDATE SKIP LOCKED: the rows another open unit claimed are passed over; the ones
        # taken are locked until this unit ends, and their lease is one of its staged writes.
        state = self._uow.storage._state
        claimed: list[OutboxMessage] = []
        token = new_id() if owner is None else owner
        with state.lock:
            for message in self._all():
                if len(claimed) >= limit:
                    break
                if state.claimed.get(message.id, self) is not self:
                    continue
                if (message.state is OutboxState.PENDING
                        and (channel is None or message.channel is channel)
                        and (message.next_attempt_at is None or message.next_attempt_at <= now)
                        and (message.leased_until is None or message.leased_until <= now)):
                    claimed.append(message.leased(owner=token, until=now + lease))
            for message in claimed:
                state.claimed[message.id] = self
                self.held.add(message.id)
        self.staged += claimed
        return claimed

    def find(self, *, state: OutboxState | None = None, provider_id: str | None = None,
             limit: int = 100) -> list[OutboxMessage]:
        return [m for m in self._all()
                if (state is None or m.state is state)
                and (provider_id is None or m.provider_id == provider_id)][:limit]

    def for_ticket(self, ticket_id: str) -> list[OutboxMessage]:
        return [m for m in self._all() if m.ticket_id == ticket_id]

    def count_since(self, *, recipient: str, kind: str, since: datetime) -> int:
        return sum(1 for m in self._all()
                   if m.kind == kind and recipient in m.recipients and m.created_at >= since)

    def check(self, state: _State) -> None:
        """Ids are fresh; the last version written wins, except where a compare-and-set
        update no longer holds on what is committed now: then the first committer won.

        (A database would hold up another unit's update of a claimed row until the claiming
        unit ends; here that update is not held up, and whichever unit commits last wins.)
        """
        committed = {m.id: m for m in state.outbox if m.id in self.expected}
        for message_id, expect in self.expected.items():
            current = committed.get(message_id)
            if current is None or not expect.holds(current):
                raise ConcurrencyError(f"outbox message {message_id} was changed by another "
                                       "unit of work")

    def apply(self, state: _State) -> None:
        for message in self.staged:
            index = next((i for i, m in enumerate(state.outbox) if m.id == message.id), None)
            if index is None:
                state.outbox.append(message)
            else:
                state.outbox[index] = message

    def release(self, state: _State) -> None:
        """The unit ended: unlock the rows it claimed."""
        for message_id in self.held:
            if state.claimed.get(message_id) is self:
                del state.claimed[message_id]
        self.held.clear()


class _Sla:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, SlaRecord] = {}
        self.fired_now: dict[tuple[str, str, int, str], EscalationRecord] = {}

    def _all(self) -> dict[str, SlaRecord]:
        return {**self._uow.storage._state.sla, **self.staged}

    def put(self, record: SlaRecord) -> None:
        self.staged[record.ticket_id] = record

    def get(self, ticket_id: str) -> SlaRecord | None:
        return self._all().get(ticket_id)

    def due(self, *, now: datetime, limit: int) -> list[SlaRecord]:
        rows = [r for r in self._all().values() if r.next_at is not None and r.next_at <= now]
        rows.sort(key=lambda r: (r.next_at, r.ticket_id))
        return rows[:limit]

    def fire(self, record: EscalationRecord) -> bool:
        key = (record.ticket_id, record.target, record.cycle, record.level)
        if key in self._uow.storage._state.escalations or key in self.fired_now:
            return False
        self.fired_now[key] = record
        return True

    def fired(self, ticket_id: str) -> list[EscalationRecord]:
        rows = [*self._uow.storage._state.escalations.values(), *self.fired_now.values()]
        return sorted((r for r in rows if r.ticket_id == ticket_id),
                      key=lambda r: (r.fired_at, r.target, r.cycle, r.level))

    def check(self, state: _State) -> None:
        if self.fired_now.keys() & state.escalations.keys():
            raise StorageError("an escalation fired in another unit of work")

    def apply(self, state: _State) -> None:
        state.sla.update(self.staged)
        state.escalations.update(self.fired_now)


class _Knowledge:
    """Articles are the newest revision of each; writes are staged revisions, checked at
    commit against the versions stored then."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, list[KbRevision]] = {}  # id -> new revisions, in order
        self.added: set[str] = set()

    def _revisions(self, article_id: str) -> list[KbRevision]:
        stored = self._uow.storage._state.kb_revisions.get(article_id, [])
        return [*stored, *self.staged.get(article_id, [])]

    def _current(self) -> dict[str, KbArticle]:
        ids = {*self._uow.storage._state.kb_revisions, *self.staged}
        return {i: self._revisions(i)[-1].article for i in ids}

    def add(self, revision: KbRevision) -> None:
        article = revision.article
        if article.version != 1:
            raise ValidationError("a new article is version 1", field="version")
        if self._revisions(article.id):
            raise StorageError(f"knowledge-base article {article.id} exists")
        if any(a.key == article.key for a in self._current().values()):
            raise ValidationError(f"another article has the key {article.key!r}", field="key")
        self.staged[article.id] = [revision]
        self.added.add(article.id)

    def save(self, revision: KbRevision) -> None:
        article = revision.article
        known = self._revisions(article.id)
        if not known:
            raise NotFound(f"no knowledge-base article {article.id!r}")
        if known[-1].version != article.version - 1:
            raise ConcurrencyError(f"knowledge-base article {article.key} is at version "
                                   f"{known[-1].version}, not {article.version - 1}")
        if any(a.key == article.key and a.id != article.id
               for a in self._current().values()):
            raise ValidationError(f"another article has the key {article.key!r}", field="key")
        self.staged.setdefault(article.id, []).append(revision)

    def get(self, article_id: str) -> KbArticle:
        known = self._revisions(article_id)
        if not known:
            raise NotFound(f"no knowledge-base article {article_id!r}")
        return known[-1].article

    def get_by_key(self, key: str) -> KbArticle:
        found = next((a for a in self._current().values() if a.key == key), None)
        if found is None:
            raise NotFound(f"no knowledge-base article {key!r}")
        return found

    def revisions(self, article_id: str) -> list[KbRevision]:
        return self._revisions(article_id)

    def list(self, *, category: str | None = None, languages: Sequence[str] | None = None,
             visibility: KbVisibility | None = None,
             states: Sequence[KbState] | None = None) -> list[KbArticle]:
        found = [a for a in self._current().values()
                 if (category is None or a.category == category
                     or (a.category or "").startswith(f"{category}/"))
                 and (languages is None or a.language in languages)
                 and (visibility is None or a.visibility is visibility)
                 and (states is None or a.state in states)]
        return sorted(found, key=lambda a: a.key)

    def check(self, state: _State) -> None:
        for article_id, revisions in self.staged.items():
            stored = state.kb_revisions.get(article_id, [])
            if article_id in self.added and stored:
                raise StorageError(f"knowledge-base article {article_id} exists")
            first = revisions[0].version
            if (stored[-1].version if stored else 0) != first - 1:
                raise ConcurrencyError(f"knowledge-base article {article_id} was changed by "
                                       "someone else")
        keys = {revisions[-1].article.key: article_id
                for article_id, revisions in state.kb_revisions.items()}
        for article_id, revisions in self.staged.items():
            if keys.get(revisions[-1].article.key, article_id) != article_id:
                raise ValidationError(f"another article has the key "
                                      f"{revisions[-1].article.key!r}", field="key")

    def apply(self, state: _State) -> None:
        for article_id, revisions in self.staged.items():
            state.kb_revisions[article_id] = [*state.kb_revisions.get(article_id, []),
                                              *revisions]
class _PortalLinks:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, PortalLink] = {}
        self.new: set[str] = set()

    def _all(self) -> dict[str, PortalLink]:
        return {**self._uow.storage._state.portal_links, **self.staged}

    def add(self, link: PortalLink) -> None:
        if link.id in self._all():
            raise StorageError(f"portal link {link.id} exists")
        self.staged[link.id] = link
        self.new.add(link.id)

    def get(self, link_id: str) -> PortalLink | None:
        return self._all().get(link_id)

    def revoke(self, link_id: str, *, at: datetime) -> bool:
        link = self._all().get(link_id)
        if link is None or link.revoked_at is not None:
            return False
        self.staged[link_id] = link.revoked(at)
        return True

    def revoke_all(self, *, at: datetime, ticket_id: str | None = None,
                   contact_id: str | None = None) -> int:
        if ticket_id is None and contact_id is None:
            return 0
        count = 0
        for link in self._all().values():
            if link.revoked_at is not None:
                continue
            if ticket_id is not None and link.ticket_id != ticket_id:
                continue
            if contact_id is not None and link.contact_id != contact_id:
                continue
            self.staged[link.id] = link.revoked(at)
            count += 1
        return count

    def check(self, state: _State) -> None:
        if self.new & state.portal_links.keys():
            raise StorageError("a portal link with that id was added in another unit of work")

    def apply(self, state: _State) -> None:
        for link_id, link in self.staged.items():
            known = state.portal_links.get(link_id)
            if known is not None and known.revoked_at is not None:
                continue  # revoked first by another unit: its time stays
            state.portal_links[link_id] = link


class _Erasure:
    """Rewrites of stored articles and events, applied after the tickets' own writes."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.articles: dict[str, Article] = {}
        self.events: dict[tuple[str, int], TicketEvent] = {}
        self.blobs: set[str] = set()

    @property
    def staged(self) -> bool:
        return bool(self.articles or self.events or self.blobs)

    def tickets_with_address(self, addresses: Sequence[str]) -> list[str]:
        wanted = set(addresses)
        tickets = self._uow.tickets
        ids = {*self._uow.storage._state.events, *(e.ticket_id for e in tickets.new_events)}
        return [ticket_id for ticket_id in ids
                if any(e.kind in (EventKind.PARTICIPANT_ADDED, EventKind.CC_RECORDED)
                       and e.new in wanted for e in tickets.history(ticket_id))]

    def message_records(self, ticket_ids: Sequence[str]) -> list[MessageRecord]:
        wanted = set(ticket_ids)
        return sorted((r for r in self._uow.messages._all() if r.ticket_id in wanted),
                      key=lambda r: r.at)

    def staged_for_tickets(self, ticket_ids: Sequence[str]) -> list[StagedMail]:
        wanted = set(ticket_ids)
        return sorted((m for m in self._uow.staged_mail._all().values()
                       if m.ticket_id in wanted), key=lambda m: (m.staged_at, m.key))

    def _stored_articles(self) -> dict[str, Article]:
        state = self._uow.storage._state
        return {a.id: a for ticket_id in state.articles
                for a in self._uow.tickets.articles(ticket_id)}

    def rewrite_articles(self, articles: Sequence[Article]) -> None:
        known = self._stored_articles()
        for article in articles:
            if article.id not in known:
                raise NotFound(f"no article {article.id!r}")
            self.articles[article.id] = article

    def rewrite_events(self, events: Sequence[TicketEvent]) -> None:
        for event in events:
            stored = self._uow.storage._state.events.get(event.ticket_id, [])
            if not any(e.seq == event.seq for e in stored):
                raise NotFound(f"no event {event.seq} of ticket {event.ticket_id!r}")
            self.events[(event.ticket_id, event.seq)] = event

    def forget_automatic_sender(self, address: str) -> bool:
        return self._uow.automatic_senders.forget(address)

    def delete_blobs(self, keys: Sequence[str]) -> int:
        state = self._uow.storage._state
        found = {k for k in keys if k in state.blobs or k in self._uow._blobs.staged}
        for key in found:
            self._uow._blobs.staged.pop(key, None)
        self.blobs |= found
        return len(found)

    def check(self, state: _State) -> None:
        """Rewrites replace content only: the last writer wins."""

    def apply(self, state: _State) -> None:
        for ticket_id, stored in state.articles.items():
            if any(a.id in self.articles for a in stored):
                state.articles[ticket_id] = [
                    _rewritten(a, self.articles[a.id]) if a.id in self.articles else a
                    for a in stored]
        for (ticket_id, seq), event in self.events.items():
            state.events[ticket_id] = [
                attrs.evolve(e, actor=event.actor, old=event.old, new=event.new,
                             data=dict(event.data)) if e.seq == seq else e
                for e in state.events.get(ticket_id, [])]
        for key in self.blobs:
            state.blobs.pop(key, None)


def _rewritten(stored: Article, new: Article) -> Article:
    return attrs.evolve(stored, author=new.author, body_text=new.body_text,
                        subject=new.subject, attachments=new.attachments, meta=dict(new.meta))


class _Blobs:
    """Blobs put with the unit by a blob store on its database (see InMemoryBlobStore)."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self.staged: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.staged.setdefault(key, data)

    def check(self, state: _State) -> None:
        """Content addressed: the same key always holds the same bytes."""

    def apply(self, state: _State) -> None:
        for key, data in self.staged.items():
            state.blobs.setdefault(key, data)


class InMemoryUnitOfWork:
    def __init__(self, storage: InMemoryStorage, *, read_only: bool = False) -> None:
        self.storage = storage
        self.read_only = read_only
        self._reset()

    def _reset(self) -> None:
        self.tickets = _Tickets(self)
        self.contacts = _Contacts(self)
        self.organisations = _Organisations(self)
        self.incident_types = _IncidentTypes(self)
        self.sequences = _Sequences(self)
        self.messages = _Messages(self)
        self.staged_mail = _StagedMail(self)
        self.automatic_senders = _AutomaticSenders(self)
        self.outbox = _Outbox(self)
        self.sla = _Sla(self)
        self.knowledge = _Knowledge(self)
        self.portal_links = _PortalLinks(self)
        self.erasure = _Erasure(self)
        self._blobs = _Blobs(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        """Check every repository's staged writes against the committed state, then apply
        them all — or, if one check fails, none (like a database transaction)."""
        if self.read_only and (self.tickets.staged or self.contacts.staged
                               or self.staged_mail.staged or self.outbox.staged
                               or self.automatic_senders.staged
                               or self.knowledge.staged
                               or self.portal_links.staged or self.erasure.staged):
            raise StorageError("a read-only unit of work cannot commit changes")
        # The staged-mail claims first: a fetcher that lost the race for a mail fails with
        # ConcurrencyError, as on a database (where the claim is its first statement), not
        # with the contact or Message-ID the winner wrote.
        staged = (self.staged_mail, self.tickets, self.contacts, self.organisations,
                  self.incident_types, self.messages, self.automatic_senders, self.outbox,
                  self.sla, self.knowledge, self.portal_links, self._blobs, self.erasure)
        state = self.storage._state
        with state.lock:
            for repository in staged:
                repository.check(state)
            for repository in staged:
                repository.apply(state)
            self.outbox.release(state)
        self._reset()

    def rollback(self) -> None:
        state = self.storage._state
        with state.lock:
            self.outbox.release(state)
        self._reset()
