"""Explicit conversions between rows (plain mappings) and domain objects.

Each ``*_to_row`` returns the column values for an INSERT or UPDATE; each ``*_from_row`` takes
a row mapping as returned by ``Result.mappings()``. Loading must give back exactly what was
saved: for tickets that is everything in ``Ticket.snapshot()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.contacts import Contact, Organisation
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.queue import FAR_FUTURE
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, EntityRef, Priority
from helpdesk_sqlalchemy.tables import tickets

__all__ = [
    "TICKET_COLUMNS",
    "article_from_row",
    "article_to_row",
    "contact_from_row",
    "contact_to_row",
    "event_from_row",
    "event_to_row",
    "incident_type_from_row",
    "incident_type_to_row",
    "organisation_from_row",
    "organisation_to_row",
    "ticket_from_values",
    "ticket_to_row",
]

Row = Mapping[Any, Any]  # RowMapping keys may also be Column objects

# Enum lookups by value through dicts: Enum.__call__ is slow, and a queue page converts
# three of them per row.
_CATEGORIES = {c.value: c for c in StatusCategory}
_PRIORITIES = {p.value: p for p in Priority}
_CHANNELS = {c.value: c for c in Channel}


# -- tickets ------------------------------------------------------------------------------


def ticket_to_row(ticket: Ticket) -> dict[str, Any]:
    """Column values of the ``tickets`` row; tags live in ``ticket_tags``."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "status_category": ticket.status_category.value,
        "priority": ticket.priority.value,
        "priority_rank": ticket.priority.rank,
        "channel": ticket.channel.value,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "customer_id": ticket.customer_id,
        "organisation_id": ticket.organisation_id,
        "incident_type": ticket.incident_type,
        "assignee": ticket.assignee,
        "team": ticket.team,
        "language": ticket.language,
        "due_at": ticket.due_at,
        "due_sort": ticket.due_at or FAR_FUTURE,
        "merged_into": ticket.merged_into,
        "custom_fields": dict(ticket.custom_fields),
        "links": sorted(str(ref) for ref in ticket.links),
        "version": ticket.version,
        "event_seq": ticket.event_seq,
    }


# The columns of a ticket in the order ``ticket_from_values`` unpacks them: the keys of
# ``Ticket.snapshot()`` in their order, without the tags (they live in their own table).
TICKET_COLUMNS = (
    "id", "number", "subject", "status", "status_category", "priority", "channel",
    "created_at", "updated_at", "customer_id", "organisation_id", "incident_type", "links",
    "custom_fields", "assignee", "team", "language", "due_at", "merged_into", "version",
    "event_seq",
)
_NO_TAGS: frozenset[str] = frozenset()
_NO_LINKS: frozenset[EntityRef] = frozenset()


def ticket_from_values(dialect: Dialect) -> Callable[[Sequence[Any], Iterable[str]], Ticket]:
    """A reader of driver rows (``TICKET_COLUMNS``, as the DB-API returns them) for one
    dialect: the column types' own result processors, applied without SQLAlchemy's
    per-row machinery, then ``Ticket.restorer`` with every field named once.

    Loading must give back what ``ticket_to_row`` stored (the round-trip tests check it).
    """
    def processor(column: str) -> Callable[[Any], Any]:
        found = tickets.c[column].type.dialect_impl(dialect).result_processor(dialect, None)
        return found if found is not None else _same

    stamp, json_doc = processor("created_at"), processor("custom_fields")
    categories, priorities, channels = _CATEGORIES, _PRIORITIES, _CHANNELS
    parse_ref = EntityRef.parse

    # The ticket's fields in the order read() hands them over; Ticket.restorer checks the
    # names (every persisted field once) and puts each value in its place.
    build = Ticket.restorer((
        "id", "number", "subject", "status", "status_category", "priority", "channel",
        "created_at", "updated_at", "customer_id", "organisation_id", "incident_type", "links",
        "custom_fields", "assignee", "team", "language", "due_at", "merged_into", "version",
        "event_seq", "tags"))

    def read(values: Sequence[Any], tags: Iterable[str]) -> Ticket:
        (id_, number, subject, status, category, priority, channel, created, updated,
         customer, organisation, incident_type, links, custom_fields, assignee, team,
         language, due, merged_into, version, event_seq) = values
        links = json_doc(links)
        return build((
            id_, number, subject, status, categories[category], priorities[priority],
            channels[channel], stamp(created), stamp(updated), customer, organisation,
            incident_type, frozenset(map(parse_ref, links)) if links else _NO_LINKS,
            json_doc(custom_fields) or {}, assignee, team, language,
            None if due is None else stamp(due), merged_into, version, event_seq,
            frozenset(tags) if tags else _NO_TAGS))

    return read


def _same(value: Any) -> Any:
    return value


# -- history --------------------------------------------------------------------------------


def event_to_row(event: TicketEvent) -> dict[str, Any]:
    return {
        "ticket_id": event.ticket_id,
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor.to_dict(),
        "kind": event.kind.value,
        "field": event.field,
        "old": event.old,
        "new": event.new,
        "data": dict(event.data),
    }


def event_from_row(row: Row) -> TicketEvent:
    return TicketEvent(
        ticket_id=row["ticket_id"],
        seq=row["seq"],
        at=row["at"],
        actor=Actor.from_dict(row["actor"]),
        kind=EventKind(row["kind"]),
        field=row["field"],
        old=row["old"],
        new=row["new"],
        data=dict(row["data"]),
    )


# -- articles -------------------------------------------------------------------------------


def article_to_row(article: Article, *, position: int) -> dict[str, Any]:
    return {
        "id": article.id,
        "ticket_id": article.ticket_id,
        "position": position,
        "direction": article.direction.value,
        "channel": article.channel.value,
        "author": article.author.to_dict(),
        "public": article.public,
        "body_text": article.body_text,
        "created_at": article.created_at,
        "subject": article.subject,
        "attachments": [a.to_dict() for a in article.attachments],
        "external_id": article.external_id,
        "meta": dict(article.meta),
    }


def article_from_row(row: Row) -> Article:
    return Article(
        id=row["id"],
        ticket_id=row["ticket_id"],
        direction=Direction(row["direction"]),
        channel=Channel(row["channel"]),
        author=Actor.from_dict(row["author"]),
        public=bool(row["public"]),
        body_text=row["body_text"],
        created_at=row["created_at"],
        subject=row["subject"],
        attachments=tuple(AttachmentMeta.from_dict(a) for a in row["attachments"]),
        external_id=row["external_id"],
        meta=dict(row["meta"]),
    )


# -- contacts and organisations -------------------------------------------------------------


def contact_to_row(contact: Contact) -> dict[str, Any]:
    """The ``contacts`` row without ``ordinal``; emails and phones have tables of their own."""
    return {
        "id": contact.id,
        "name": contact.name,
        "organisation_id": contact.organisation_id,
        "language": contact.language,
        "account_owner": contact.account_owner,
    }


def contact_from_row(row: Row, emails: Sequence[str], phones: Sequence[str]) -> Contact:
    """``emails`` and ``phones`` in their stored order (the first email is the primary one)."""
    return Contact(
        id=row["id"],
        name=row["name"],
        emails=tuple(emails),
        phones=tuple(phones),
        organisation_id=row["organisation_id"],
        language=row["language"],
        account_owner=row["account_owner"],
    )


def organisation_to_row(organisation: Organisation) -> dict[str, Any]:
    return {
        "id": organisation.id,
        "name": organisation.name,
        "account_owner": organisation.account_owner,
    }


def organisation_from_row(row: Row) -> Organisation:
    return Organisation(id=row["id"], name=row["name"], account_owner=row["account_owner"])


def incident_type_to_row(incident_type: IncidentType) -> dict[str, Any]:
    return {
        "key": incident_type.key,
        "name": incident_type.name,
        "responsible": incident_type.responsible,
        "team": incident_type.team,
    }


def incident_type_from_row(row: Row) -> IncidentType:
    return IncidentType(
        key=row["key"], name=row["name"], responsible=row["responsible"], team=row["team"]
    )
