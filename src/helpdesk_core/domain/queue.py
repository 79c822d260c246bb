"""The agent queue: which tickets, in what order, one page at a time.

Pagination is keyset-based: a page ends with an opaque cursor holding the sort key of its last
ticket, and the next page starts strictly after it. Unlike offsets, pages neither skip nor repeat
tickets while others are being created, and the cost does not grow with the page number.

The rules (what matches, what order) are defined here once; the in-memory store applies them to
objects, SQL stores translate them into WHERE/ORDER BY and are tested against this definition.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import attrs

from helpdesk_core.domain.keys import filter_text, unstorable
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Priority, tag_set
from helpdesk_core.errors import ValidationError

__all__ = ["FAR_FUTURE", "Page", "QueueSort", "TicketQuery", "Visibility", "decode_cursor",
           "encode_cursor"]

# Tickets without a due date sort after every real one.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
MAX_LIMIT = 500

T = TypeVar("T")


class QueueSort(enum.Enum):
    """Orders the queue can be sorted by. All keys end with the id, so the order is total."""

    PRIORITY = "priority"  # most urgent first, then oldest first
    DUE = "due"  # earliest due first, tickets without a due date last
    NEWEST = "newest"  # most recently created first
    OLDEST = "oldest"  # least recently created first

    @property
    def descending(self) -> bool:
        return self is QueueSort.NEWEST

    def key(self, ticket: Ticket) -> tuple[Any, ...]:
        if self is QueueSort.PRIORITY:
            return (ticket.priority.rank, ticket.created_at, ticket.id)
        if self is QueueSort.DUE:
            return (ticket.due_at or FAR_FUTURE, ticket.id)
        return (ticket.created_at, ticket.id)


E = TypeVar("E", bound=enum.Enum)


def _members(kind: type[E], values: Iterable[E | str] | None, *,
             field: str) -> frozenset[E] | None:
    """A collection of ``kind`` members or their values (``"open"``), or None."""
    if values is None:
        return None
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValidationError(f"must be a collection of {kind.__name__} (or None)",
                              field=field)
    members = set()
    for value in values:
        if isinstance(value, kind):
            members.add(value)
        elif isinstance(value, str) and value in kind._value2member_map_:
            members.add(kind(value))
        else:
            shown = repr(value)[:60] if isinstance(value, str) else type(value).__name__
            known = ", ".join(m.value for m in kind)
            raise ValidationError(f"{shown} is not one of {known}", field=field)
    return frozenset(members)


def _categories(values: Iterable[StatusCategory | str] | None
                ) -> frozenset[StatusCategory] | None:
    return _members(StatusCategory, values, field="status_categories")


def _priorities(values: Iterable[Priority | str] | None) -> frozenset[Priority] | None:
    return _members(Priority, values, field="priorities")


def _text(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    """A text filter (see :func:`helpdesk_core.domain.keys.filter_text`) or None."""
    if value is not None:
        filter_text(value, field=attribute.name)


def _tags(values: Iterable[str]) -> frozenset[str]:
    try:
        return tag_set(values)
    except ValidationError as error:
        raise ValidationError(error.reason, field="tags") from None


def _team_keys(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValidationError("must be a collection of team keys", field="visible_to")
    keys = frozenset(values)
    for key in keys:
        filter_text(key, field="visible_to")
    return keys


def _visible_assignee(instance: object, attribute: attrs.Attribute[str | None],
                      value: object) -> None:
    if value is not None:
        filter_text(value, field="visible_to")


@attrs.frozen
class Visibility:
    """The tickets one agent may see: those of ``teams``, and those assigned to
    ``assignee`` (the agent's id; None: none by assignment). An agent who sees only their
    teams' tickets (:class:`~helpdesk_core.domain.staff.AgentScope`) gets this filter on
    every queue they read."""

    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_team_keys)
    assignee: str | None = attrs.field(default=None, validator=_visible_assignee)

    def admits(self, ticket: Ticket) -> bool:
        return ((ticket.team is not None and ticket.team in self.teams)
                or (self.assignee is not None and ticket.assignee == self.assignee))


def _visibility(instance: object, attribute: attrs.Attribute[Visibility | None],
                value: object) -> None:
    if value is not None and not isinstance(value, Visibility):
        raise ValidationError("must be a Visibility (or None)", field="visible_to")


def _sort(value: QueueSort | str) -> QueueSort:
    if isinstance(value, QueueSort):
        return value
    if isinstance(value, str) and value in QueueSort._value2member_map_:
        return QueueSort(value)
    known = ", ".join(s.value for s in QueueSort)
    shown = repr(value)[:60] if isinstance(value, str) else type(value).__name__
    raise ValidationError(f"{shown} is not one of {known}", field="sort")


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError("must be true or false", field=attribute.name)


def _limit(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("must be a whole number", field="limit")
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationError(f"must be between 1 and {MAX_LIMIT}", field="limit")


def _cursor(instance: TicketQuery, attribute: attrs.Attribute[str | None],
            value: object) -> None:
    if value is not None:
        decode_cursor(value, instance.sort)  # type: ignore[arg-type]  # refuses a non-str


@attrs.frozen
class TicketQuery:
    """Filters are combined with AND; ``None`` means "don't filter on this".

    Every field is checked when the query is built, so a query that exists can run on every
    storage with the same answer: an unknown status category, priority or sort, text with a
    control character (a NUL byte among them) or longer than
    :data:`~helpdesk_core.domain.keys.MAX_KEY_LENGTH`, a value of the wrong type, a limit out
    of range or a cursor not made by a page is a :class:`ValidationError` naming the field.
    Categories, priorities and the sort may be given as members or by value
    (``sort="newest"``).
    """

    status_categories: frozenset[StatusCategory] | None = attrs.field(
        default=None, converter=_categories)
    team: str | None = attrs.field(default=None, validator=_text)
    assignee: str | None = attrs.field(default=None, validator=_text)
    unassigned: bool = attrs.field(default=False, validator=_flag)
    incident_type: str | None = attrs.field(default=None, validator=_text)  # and its subtree
    customer_id: str | None = attrs.field(default=None, validator=_text)
    organisation_id: str | None = attrs.field(default=None, validator=_text)
    priorities: frozenset[Priority] | None = attrs.field(default=None, converter=_priorities)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    # only what one agent may see: their teams' tickets and their own (an OR of the two)
    visible_to: Visibility | None = attrs.field(default=None, validator=_visibility)
    sort: QueueSort = attrs.field(default=QueueSort.PRIORITY, converter=_sort)
    limit: int = attrs.field(default=50, validator=_limit)
    after: str | None = attrs.field(default=None, validator=_cursor)  # Page.next_cursor

    def __attrs_post_init__(self) -> None:
        if self.unassigned and self.assignee is not None:
            raise ValidationError("unassigned and assignee exclude each other", field="assignee")

    @classmethod
    def active(cls, **kwargs: Any) -> TicketQuery:
        """The usual agent view: tickets on which work is still expected."""
        categories = frozenset(c for c in StatusCategory if c.is_active)
        return cls(status_categories=categories, **kwargs)

    def matches(self, ticket: Ticket) -> bool:
        if self.status_categories is not None and (
            ticket.status_category not in self.status_categories
        ):
            return False
        if self.team is not None and ticket.team != self.team:
            return False
        if self.assignee is not None and ticket.assignee != self.assignee:
            return False
        if self.unassigned and ticket.assignee is not None:
            return False
        if self.incident_type is not None:
            key = ticket.incident_type or ""
            if key != self.incident_type and not key.startswith(self.incident_type + "/"):
                return False
        if self.customer_id is not None and ticket.customer_id != self.customer_id:
            return False
        if self.organisation_id is not None and ticket.organisation_id != self.organisation_id:
            return False
        if self.priorities is not None and ticket.priority not in self.priorities:
            return False
        if self.visible_to is not None and not self.visible_to.admits(ticket):
            return False
        return self.tags <= ticket.tags

    def after_key(self) -> tuple[Any, ...] | None:
        return decode_cursor(self.after, self.sort) if self.after else None

    def apply(self, tickets: Iterable[Ticket]) -> Page[Ticket]:
        """The reference implementation over objects (used by the in-memory store)."""
        start = self.after_key()
        selected = []
        for ticket in tickets:
            if not self.matches(ticket):
                continue
            key = self.sort.key(ticket)
            if start is not None and (key <= start if not self.sort.descending else key >= start):
                continue
            selected.append((key, ticket))
        selected.sort(key=lambda pair: pair[0], reverse=self.sort.descending)
        return Page.of([t for _, t in selected[: self.limit + 1]], self)


@attrs.frozen
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None

    @classmethod
    def of(cls, fetched: Sequence[Ticket], query: TicketQuery) -> Page[Ticket]:
        """Build a page from up to ``limit + 1`` rows: the extra row only proves there is more."""
        items = list(fetched[: query.limit])
        more = len(fetched) > query.limit
        cursor = encode_cursor(query.sort.key(items[-1]), query.sort) if more and items else None
        return Page(items, cursor)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(key: tuple[Any, ...], sort: QueueSort) -> str:
    raw = json.dumps([sort.value, *(_jsonable(v) for v in key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: QueueSort) -> tuple[Any, ...]:
    """Parse a cursor; anything not produced by :func:`encode_cursor` is a ValidationError."""
    bad = ValidationError("not a valid cursor for this sort order", field="after")
    if not isinstance(cursor, str) or len(cursor) > 400:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, list) or not data or data[0] != sort.value:
        raise bad
    values = data[1:]
    try:
        if sort is QueueSort.PRIORITY:
            rank, created, ident = values
            if not isinstance(rank, int) or not 0 <= rank <= 3:
                raise bad
            return (rank, _instant(created), _ident(ident))
        instant, ident = values
        return (_instant(instant), _ident(ident))
    except (ValueError, TypeError, OverflowError):  # overflow: an offset pushes past year 9999
        raise bad from None


def _instant(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive")
    return parsed.astimezone(UTC)


def _ident(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64 or unstorable(value) is not None:
        raise ValueError("id")
    return value
