"""Working on a ticket: reading it, changing it, writing to the customer, the queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.extensions import FollowUpRequest
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, CustomValue, EntityRef, Priority
from helpdesk_core.errors import ValidationError
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.unit import change_ticket, load_ticket

__all__ = [
    "add_article",
    "add_attachment",
    "articles",
    "assign",
    "get_ticket",
    "history",
    "link",
    "queue",
    "set_due",
    "set_field",
    "set_priority",
    "start_followup",
    "tag",
    "transition",
    "untag",
]


def get_ticket(deps: Deps, key: str) -> Ticket:
    with deps.storage.unit_of_work(read_only=True) as uow:
        return load_ticket(uow, key)


def history(deps: Deps, key: str) -> list[TicketEvent]:
    with deps.storage.unit_of_work(read_only=True) as uow:
        return uow.tickets.history(load_ticket(uow, key).id)


def articles(deps: Deps, key: str, *, public_only: bool = False) -> list[Article]:
    with deps.storage.unit_of_work(read_only=True) as uow:
        found = uow.tickets.articles(load_ticket(uow, key).id)
    return [a for a in found if a.public] if public_only else found


def queue(deps: Deps, query: TicketQuery) -> Page[Ticket]:
    with deps.storage.unit_of_work(read_only=True) as uow:
        return uow.tickets.query(query)


def transition(deps: Deps, key: str, to: str, *, actor: Actor,
               expected_version: int | None = None) -> Ticket:
    ticket, _ = change_ticket(
        deps, key,
        lambda t: t.transition(to, workflow=deps.workflow, at=deps.clock.now(), actor=actor),
        expected_version=expected_version,
    )
    return ticket


def set_priority(deps: Deps, key: str, priority: Priority, *, actor: Actor,
                 expected_version: int | None = None) -> Ticket:
    ticket, _ = change_ticket(
        deps, key, lambda t: t.set_priority(priority, at=deps.clock.now(), actor=actor),
        expected_version=expected_version,
    )
    return ticket


def assign(deps: Deps, key: str, assignee: str | None, *, actor: Actor,
           team: str | None = None, expected_version: int | None = None) -> Ticket:
    """Manual (re)assignment; recorded with the agent who did it."""

    def change(t: Ticket) -> None:
        now = deps.clock.now()
        if team is not None:
            t.set_team(team, at=now, actor=actor)
        t.assign(assignee, at=now, actor=actor, reason={"winner": "manual"})

    ticket, _ = change_ticket(deps, key, change, expected_version=expected_version)
    return ticket


def set_due(deps: Deps, key: str, due_at: datetime | None, *, actor: Actor,
            reason: str | None = None) -> Ticket:
    return change_ticket(
        deps, key,
        lambda t: t.set_due(due_at, at=deps.clock.now(), actor=actor, reason=reason),
    )[0]


def tag(deps: Deps, key: str, *tags: str, actor: Actor) -> Ticket:
    def change(t: Ticket) -> None:
        for value in tags:
            t.add_tag(value, at=deps.clock.now(), actor=actor)

    return change_ticket(deps, key, change)[0]


def untag(deps: Deps, key: str, *tags: str, actor: Actor) -> Ticket:
    def change(t: Ticket) -> None:
        for value in tags:
            t.remove_tag(value, at=deps.clock.now(), actor=actor)

    return change_ticket(deps, key, change)[0]


def set_field(deps: Deps, key: str, name: str, value: CustomValue, *, actor: Actor) -> Ticket:
    return change_ticket(
        deps, key, lambda t: t.set_field(name, value, at=deps.clock.now(), actor=actor)
    )[0]


def link(deps: Deps, key: str, ref: EntityRef, *, actor: Actor) -> Ticket:
    return change_ticket(deps, key, lambda t: t.link(ref, at=deps.clock.now(), actor=actor))[0]


def add_article(
    deps: Deps,
    key: str,
    *,
    direction: Direction,
    channel: Channel,
    author: Actor,
    body_text: str,
    public: bool | None = None,
    subject: str = "",
    attachments: tuple[AttachmentMeta, ...] = (),
    meta: Mapping[str, str] | None = None,
) -> Article:
    """Record a message or an internal note on the ticket (sending comes with the outbox)."""
    _, article = change_ticket(
        deps, key,
        lambda t: t.add_article(direction=direction, channel=channel, author=author,
                                body_text=body_text, at=deps.clock.now(), public=public,
                                subject=subject, attachments=attachments, meta=dict(meta or {})),
    )
    return article


def add_attachment(deps: Deps, *, data: bytes, filename: str,
                   content_type: str = "application/octet-stream") -> AttachmentMeta:
    """Store the bytes in the blob store and describe them for an article."""
    key = deps.blob_store.put(data)
    return AttachmentMeta(blob_key=key, filename=filename, content_type=content_type,
                          size=len(data))


def start_followup(deps: Deps, key: str, action_key: str, *, actor: Actor,
                   data: Mapping[str, object] | None = None) -> EntityRef:
    """Start a follow-up process (exchange, RMA, repair, refund) through the host's action;
    the host record it creates is linked back to the ticket."""
    actions = deps.hooks.followup_actions()
    if action_key not in actions:
        known = ", ".join(sorted(actions)) or "none"
        raise ValidationError(f"unknown follow-up action {action_key!r} (known: {known})",
                              field="action")
    ticket = get_ticket(deps, key)
    request = FollowUpRequest(
        action=action_key, ticket_id=ticket.id, ticket_number=ticket.number,
        customer_id=ticket.customer_id, links=tuple(sorted(ticket.links)), data=dict(data or {}),
    )
    ref = actions[action_key].start(request)
    if not isinstance(ref, EntityRef):
        raise ValidationError("a follow-up action must return an EntityRef", field="action")
    link(deps, ticket.id, ref, actor=actor)
    return ref
