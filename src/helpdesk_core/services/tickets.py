"""Working on a ticket: reading it, changing it, writing notes, linking follow-ups, the queue.

Each command loads the ticket through a unit of work, calls one domain method and commits;
the message bus does the rest (SLA, resolution message, hooks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import attrs

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.extensions import FollowUpAction, FollowUpRequest
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, CustomValue, EntityRef, Priority
from helpdesk_core.errors import ValidationError
from helpdesk_core.ports import BlobStore, Clock
from helpdesk_core.services.unit_of_work import Units

__all__ = ["Tickets"]


class Tickets:
    def __init__(self, *, units: Units, clock: Clock, workflow: Workflow,
                 blob_store: BlobStore,
                 followup_actions: Callable[[], dict[str, FollowUpAction]]) -> None:
        self.units = units
        self.clock = clock
        self.workflow = workflow
        self.blob_store = blob_store
        self.followup_actions = followup_actions

    # -- reading --------------------------------------------------------------------------

    def get(self, key: str) -> Ticket:
        with self.units(read_only=True) as unit:
            return unit.tickets.load(key)

    def history(self, key: str) -> list[TicketEvent]:
        with self.units(read_only=True) as unit:
            return unit.tickets.history(unit.tickets.load(key).id)

    def articles(self, key: str, *, public_only: bool = False) -> list[Article]:
        with self.units(read_only=True) as unit:
            found = unit.tickets.articles(unit.tickets.load(key).id)
        return [a for a in found if a.public] if public_only else found

    def queue(self, query: TicketQuery) -> Page[Ticket]:
        with self.units(read_only=True) as unit:
            return unit.tickets.query(query)

    # -- changing -------------------------------------------------------------------------

    def transition(self, key: str, to: str, *, actor: Actor,
                   expected_version: int | None = None) -> Ticket:
        """Move to status ``to`` (entering *resolved* queues the resolution message: a
        handler does it)."""
        return self.units.change(
            key, lambda t: t.transition(to, workflow=self.workflow, at=self.clock.now(),
                                        actor=actor),
            expected_version=expected_version)[0]

    def set_priority(self, key: str, priority: Priority | str, *, actor: Actor,
                     expected_version: int | None = None) -> Ticket:
        return self.units.change(
            key, lambda t: t.set_priority(priority, at=self.clock.now(), actor=actor),
            expected_version=expected_version)[0]

    def set_due(self, key: str, due_at: datetime | None, *, actor: Actor,
                reason: str | None = None) -> Ticket:
        return self.units.change(
            key, lambda t: t.set_due(due_at, at=self.clock.now(), actor=actor, reason=reason))[0]

    def tag(self, key: str, *tags: str, actor: Actor) -> Ticket:
        def change(t: Ticket) -> None:
            for value in tags:
                t.add_tag(value, at=self.clock.now(), actor=actor)

        return self.units.change(key, change)[0]

    def untag(self, key: str, *tags: str, actor: Actor) -> Ticket:
        def change(t: Ticket) -> None:
            for value in tags:
                t.remove_tag(value, at=self.clock.now(), actor=actor)

        return self.units.change(key, change)[0]

    def set_field(self, key: str, name: str, value: CustomValue, *, actor: Actor) -> Ticket:
        return self.units.change(
            key, lambda t: t.set_field(name, value, at=self.clock.now(), actor=actor))[0]

    def link(self, key: str, ref: EntityRef, *, actor: Actor) -> Ticket:
        return self.units.change(key, lambda t: t.link(ref, at=self.clock.now(),
                                                       actor=actor))[0]

    def unlink(self, key: str, ref: EntityRef, *, actor: Actor) -> Ticket:
        return self.units.change(key, lambda t: t.unlink(ref, at=self.clock.now(),
                                                         actor=actor))[0]

    def add_article(self, key: str, *, direction: Direction, channel: Channel, author: Actor,
                    body_text: str, public: bool | None = None, subject: str = "",
                    attachments: tuple[AttachmentMeta, ...] = (),
                    meta: Mapping[str, str] | None = None) -> Article:
        """Record a message or an internal note on the ticket (sending is ``reply``'s); on a
        merged ticket it lands on the ticket it was merged into."""
        return self.units.change(
            key, lambda t: t.add_article(direction=direction, channel=channel, author=author,
                                         body_text=body_text, at=self.clock.now(),
                                         public=public, subject=subject,
                                         attachments=attachments, meta=dict(meta or {})),
            follow=True)[1]

    def add_attachment(self, *, data: bytes, filename: str,
                       content_type: str = "application/octet-stream") -> AttachmentMeta:
        """Store the bytes in the blob store and describe them for an article; a name or
        type the description refuses stores nothing."""
        meta = AttachmentMeta(blob_key="-", filename=filename, content_type=content_type,
                              size=len(data))
        return attrs.evolve(meta, blob_key=self.blob_store.put(data))

    def start_followup(self, key: str, action_key: str, *, actor: Actor,
                       data: Mapping[str, object] | None = None) -> EntityRef:
        """Start a follow-up process (exchange, RMA, repair, refund) through the host's
        action; the host record it creates is linked back to the ticket."""
        actions = self.followup_actions()
        if action_key not in actions:
            known = ", ".join(sorted(actions)) or "none"
            raise ValidationError(f"unknown follow-up action {action_key!r} (known: {known})",
                                  field="action")
        ticket = self.get(key)
        request = FollowUpRequest(
            action=action_key, ticket_id=ticket.id, ticket_number=ticket.number,
            customer_id=ticket.customer_id, links=tuple(sorted(ticket.links)),
            data=dict(data or {}))
        ref = actions[action_key].start(request)
        if not isinstance(ref, EntityRef):
            raise ValidationError("a follow-up action must return an EntityRef", field="action")
        self.link(ticket.id, ref, actor=actor)
        return ref
