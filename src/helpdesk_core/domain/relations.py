"""Links between tickets: a problem and its incidents, related tickets, duplicates, splits.

A link is recorded on both tickets (a ``related`` event on each, the relation as seen from
that side), so each shows it without asking the other; :func:`ticket_links` reads a ticket's
links back from its history, as participants are read. Parent/child links form a forest: a
ticket has at most one parent, and a link that would make a ticket its own ancestor is
refused (:func:`check_parent`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime

import attrs

from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import MergeConflict, ValidationError

__all__ = ["MAX_DEPTH", "Relation", "TicketLink", "check_parent", "link", "parent_of",
           "ticket_links", "unlink"]

MAX_DEPTH = 50  # how far up a parent chain is followed before it counts as a cycle


class Relation(enum.Enum):
    """How the other ticket relates to this one, as this ticket shows it."""

    PARENT = "parent"  # the other ticket is this one's parent (its problem)
    CHILD = "child"  # the other ticket is an incident of this one
    RELATED = "related"
    DUPLICATE_OF = "duplicate_of"  # this ticket duplicates the other
    DUPLICATED_BY = "duplicated_by"
    SPLIT_INTO = "split_into"  # articles of this ticket were split off into the other
    SPLIT_FROM = "split_from"

    @property
    def inverse(self) -> Relation:
        return _INVERSE[self]

    @classmethod
    def parse(cls, value: object) -> Relation:
        try:
            return value if isinstance(value, Relation) else cls(value)
        except ValueError:
            known = ", ".join(r.value for r in _CHOSEN)
            raise ValidationError(f"{value!r} is not one of {known}", field="relation") from None


_R = Relation
_INVERSE = {_R.PARENT: _R.CHILD, _R.CHILD: _R.PARENT, _R.RELATED: _R.RELATED,
            _R.DUPLICATE_OF: _R.DUPLICATED_BY, _R.DUPLICATED_BY: _R.DUPLICATE_OF,
            _R.SPLIT_INTO: _R.SPLIT_FROM, _R.SPLIT_FROM: _R.SPLIT_INTO}
# What an agent links by hand; split links are made by splitting.
_CHOSEN = (_R.PARENT, _R.CHILD, _R.RELATED, _R.DUPLICATE_OF, _R.DUPLICATED_BY)


@attrs.frozen
class TicketLink:
    """A link shown on a ticket: ``relation`` of the ticket ``ticket_id`` (``number``)."""

    relation: Relation
    ticket_id: str
    number: str


def ticket_links(history: Iterable[TicketEvent]) -> tuple[TicketLink, ...]:
    """The ticket's current links to other tickets, in the order they were made."""
    links: dict[tuple[Relation, str], TicketLink] = {}
    for event in history:
        if event.kind not in (EventKind.RELATED, EventKind.UNRELATED):
            continue
        try:
            relation = Relation(event.data.get("relation"))
        except ValueError:
            continue
        other = event.new if event.kind is EventKind.RELATED else event.old
        key = (relation, str(other))
        if event.kind is EventKind.RELATED:
            links.setdefault(key, TicketLink(relation, str(other),
                                             str(event.data.get("other_number", ""))))
        else:
            links.pop(key, None)
    return tuple(links.values())


def parent_of(history: Iterable[TicketEvent]) -> str | None:
    """The id of the ticket's parent, or None."""
    return next((x.ticket_id for x in ticket_links(history) if x.relation is Relation.PARENT),
                None)


def check_parent(child: Ticket, parent: Ticket, *, child_history: Iterable[TicketEvent],
                 parent_chain: Callable[[str], str | None]) -> None:
    """Refuse making ``parent`` the parent of ``child``: a second parent, or a cycle.
    ``parent_chain(id)`` answers the parent id of any ticket."""
    current = parent_of(child_history)
    if current is not None and current != parent.id:
        raise MergeConflict(f"ticket {child.number} already has a parent; unlink it first")
    ancestor: str | None = parent.id
    for _hop in range(MAX_DEPTH):
        if ancestor is None:
            return
        if ancestor == child.id:
            raise MergeConflict(f"ticket {child.number} would become its own ancestor")
        ancestor = parent_chain(ancestor)
    raise MergeConflict(f"the parent chain above {parent.number} is deeper than {MAX_DEPTH}")


def link(ticket: Ticket, other: Ticket, relation: Relation, *, history: Iterable[TicketEvent],
         at: datetime, actor: Actor) -> bool:
    """Record ``relation`` on ``ticket`` and its inverse on ``other``; False when the link
    is there already. A ticket cannot be linked to itself."""
    if ticket.id == other.id:
        raise MergeConflict(f"ticket {ticket.number} cannot be linked to itself")
    if any(x.ticket_id == other.id and x.relation is relation for x in ticket_links(history)):
        return False
    ticket.relate(other, relation.value, at=at, actor=actor)
    other.relate(ticket, relation.inverse.value, at=at, actor=actor)
    return True


def unlink(ticket: Ticket, other: Ticket, *, history: Iterable[TicketEvent], at: datetime,
           actor: Actor) -> tuple[Relation, ...]:
    """Remove every link between the two tickets, on both sides; returns the relations
    removed (as ``ticket`` saw them)."""
    removed = tuple(x.relation for x in ticket_links(history) if x.ticket_id == other.id)
    for relation in removed:
        ticket.unrelate(other.id, other.number, relation.value, at=at, actor=actor)
        other.unrelate(ticket.id, ticket.number, relation.inverse.value, at=at, actor=actor)
    return removed
