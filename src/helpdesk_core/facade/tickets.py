"""``helpdesk.tickets``: opening, reading and working on tickets, and answering customers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from helpdesk_core.domain.access import Action, article_action, transition_action
from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.duplicates import DuplicateSuggestion
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.intake import StaffVia
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.relations import Relation, TicketLink
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, ActorKind, Channel, CustomValue, EntityRef, Priority
from helpdesk_core.facade.arguments import check_details, checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.intake import Intake
from helpdesk_core.services.merging import Merged, Merging, Split
from helpdesk_core.services.replies import Replies
from helpdesk_core.services.tickets import Tickets

__all__ = ["TicketsSection"]


@checked
class TicketsSection:
    def __init__(self, *, guard: Guard, tickets: Tickets, intake: Intake, replies: Replies,
                 workflow: Workflow, merging: Merging) -> None:
        self._guard = guard
        self._merging = merging
        self._tickets = tickets
        self._intake = intake
        self._replies = replies
        self._workflow = workflow

    # -- opening ---------------------------------------------------------------------------

    def open_from_web_form(self, fields: Mapping[str, object], *,
                           actor: Actor | None = None) -> Ticket:
        """A customer's own form. Fields: email, name, message, optional subject,
        order_number, language. The order, if named, must be the customer's. ``actor``: who
        submits it, when the host knows (a signed-in customer); the form's e-mail names the
        ticket's customer either way."""
        self._guard.check(actor, Action.OPEN_OWN_TICKET)
        return self._intake.open_from_web_form(fields)

    def open_by_staff(self, *, agent: Actor, via: StaffVia | str, subject: str, message: str,
                      **details: Any) -> Ticket:
        """A request typed in by staff (phone, store, returns); see
        :meth:`helpdesk_core.services.intake.Intake.open_by_staff` for ``details``."""
        check_details(details, Intake.open_by_staff)
        self._guard.check(agent, Action.OPEN_FOR_CUSTOMER)
        self._guard.check_team(agent, Action.OPEN_FOR_CUSTOMER, details.get("team"))
        return self._intake.open_by_staff(agent=agent, via=via, subject=subject,
                                          message=message, **details)

    def open_from_order(self, *, agent: Actor, order_number: str, subject: str, message: str,
                        **details: Any) -> Ticket:
        check_details(details, Intake.open_from_order)
        self._guard.check(agent, Action.OPEN_FOR_CUSTOMER)
        self._guard.check_team(agent, Action.OPEN_FOR_CUSTOMER, details.get("team"))
        return self._intake.open_from_order(agent=agent, order_number=order_number,
                                            subject=subject, message=message, **details)

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str, *, actor: Actor | None = None) -> Ticket:
        """By id or number; raises TicketNotFound. Without ``actor``: the host itself."""
        self._guard.check(actor, Action.READ_TICKET, key)
        return self._tickets.get(key)

    def history(self, key: str, *, actor: Actor | None = None) -> list[TicketEvent]:
        self._guard.check(actor, Action.READ_INTERNAL, key)
        return self._tickets.history(key)

    def articles(self, key: str, *, public_only: bool = False,
                 actor: Actor | None = None) -> list[Article]:
        """The communication log; a customer only ever sees the public articles."""
        customer = actor is not None and actor.kind is ActorKind.CUSTOMER
        self._guard.check(actor, Action.READ_PUBLIC_ARTICLES if public_only or customer
                          else Action.READ_INTERNAL, key)
        return self._tickets.articles(key, public_only=public_only or customer)

    def queue(self, query: TicketQuery | None = None, *,
              actor: Actor | None = None) -> Page[Ticket]:
        """Defaults to the active queue sorted by priority. An agent who sees only their
        teams' tickets gets only those (and their own), whatever the query asks."""
        self._guard.check(actor, Action.VIEW_QUEUE)
        query = query or TicketQuery.active()
        visible = self._guard.visibility(actor)
        if visible is not None:
            query = attrs.evolve(query, visible_to=visible)
        return self._tickets.queue(query)

    # -- changing --------------------------------------------------------------------------

    def transition(self, key: str, to: str, *, actor: Actor,
                   expected_version: int | None = None) -> Ticket:
        """Move to status ``to``; entering *resolved* queues the resolution message."""
        self._guard.check(actor, lambda t: transition_action(self._workflow, t.status, to), key)
        return self._tickets.transition(key, to, actor=actor, expected_version=expected_version)

    def set_priority(self, key: str, priority: Priority | str, *, actor: Actor,
                     expected_version: int | None = None) -> Ticket:
        self._guard.check(actor, Action.SET_PRIORITY, key)
        return self._tickets.set_priority(key, priority, actor=actor,
                                          expected_version=expected_version)

    def set_due(self, key: str, due_at: datetime | None, *, actor: Actor,
                reason: str | None = None) -> Ticket:
        """Set or clear the due date the queue sorts by; an SLA does not overwrite it."""
        self._guard.check(actor, Action.SET_DUE, key)
        return self._tickets.set_due(key, due_at, actor=actor, reason=reason)

    def tag(self, key: str, *tags: str, actor: Actor) -> Ticket:
        self._guard.check(actor, Action.TAG, key)
        return self._tickets.tag(key, *tags, actor=actor)

    def untag(self, key: str, *tags: str, actor: Actor) -> Ticket:
        self._guard.check(actor, Action.TAG, key)
        return self._tickets.untag(key, *tags, actor=actor)

    def set_field(self, key: str, name: str, value: CustomValue, *, actor: Actor) -> Ticket:
        self._guard.check(actor, Action.SET_FIELD, key)
        return self._tickets.set_field(key, name, value, actor=actor)

    def link(self, key: str, to: EntityRef | str, relation: Relation | str = Relation.RELATED,
             *, actor: Actor) -> Ticket:
        """Link a host record (``to`` an EntityRef) or another ticket (``to`` its number or
        id; ``relation`` as seen from ``key``: ``parent`` makes ``to`` its parent, ``child``
        its child, ``related``, ``duplicate_of``, ``duplicated_by``). A ticket link shows on
        both tickets; a second parent or a parent cycle is a MergeConflict."""
        self._guard.check(actor, Action.LINK, key)
        if isinstance(to, EntityRef):
            return self._tickets.link(key, to, actor=actor)
        self._guard.check(actor, Action.LINK, to)
        return self._merging.link(key, to, relation, actor=actor)

    def unlink(self, key: str, to: EntityRef | str, *, actor: Actor) -> Ticket:
        """Remove a host record's link, or every link between two tickets (on both)."""
        self._guard.check(actor, Action.LINK, key)
        if isinstance(to, EntityRef):
            return self._tickets.unlink(key, to, actor=actor)
        self._guard.check(actor, Action.LINK, to)
        return self._merging.unlink(key, to, actor=actor)

    def links(self, key: str, *, actor: Actor | None = None) -> tuple[TicketLink, ...]:
        """The ticket's links to other tickets (parent, children, related, duplicates,
        splits), in the order they were made."""
        self._guard.check(actor, Action.READ_INTERNAL, key)
        return self._merging.links(key)

    # -- merging and splitting --------------------------------------------------------------

    def merge(self, target: str, sources: Sequence[str], *, actor: Actor,
              reason: str | None = None, other_customers: bool = False,
              notify: bool | None = None) -> Merged:
        """Merge the tickets ``sources`` into ``target``: their articles (with attachments)
        move to it, they take the *merged* status and route to it forever. Refused with
        MergeConflict: a ticket into itself, one already merged, a merged target, tickets of
        different customers (unless ``other_customers`` or the policy allows it), more than
        ``MergePolicy.max_sources``. ``notify``: send the sources' customers the merge
        notice (default: ``MergePolicy.notify_customers``). Undo with :meth:`unmerge`."""
        self._guard.check(actor, Action.MERGE, target)
        if isinstance(sources, Sequence) and not isinstance(sources, str):
            self._guard.check_all(actor, Action.MERGE, [s for s in sources if isinstance(s, str)])
        return self._merging.merge(target, sources, actor=actor, reason=reason,
                                   other_customers=other_customers, notify=notify)

    def unmerge(self, key: str, *, actor: Actor, take: Sequence[str] = ()) -> Ticket:
        """Undo the merge of ticket ``key``: its status, due date, articles and clocks come
        back; the tags and links the merge added to the target are removed; articles that
        arrived on the target since stay there, except those named in ``take`` (ids)."""
        self._guard.check(actor, Action.MERGE, key)
        if self._guard.visibility(actor) is not None:  # the target it was merged into too
            target = self._guard.units.read(lambda unit: unit.tickets.load(key).merged_into)
            if target is not None:
                self._guard.check(actor, Action.MERGE, target)
        return self._merging.unmerge(key, actor=actor, take=take)

    def split(self, key: str, articles: Sequence[str], *, actor: Actor,
              subject: str | None = None, customer_id: str | None = None) -> Split:
        """Move the articles ``articles`` (ids) into a new ticket, linked both ways; replies
        to the moved mails thread to the new ticket."""
        self._guard.check(actor, Action.MERGE, key)
        return self._merging.split(key, articles, actor=actor, subject=subject,
                                   customer_id=customer_id)

    def duplicates(self, key: str, *, window: timedelta = timedelta(days=14), limit: int = 5,
                   actor: Actor | None = None) -> list[DuplicateSuggestion]:
        """Open tickets the ticket may duplicate, each with a score and its reasons —
        suggestions for an agent; nothing is merged."""
        self._guard.check(actor, Action.READ_INTERNAL, key)
        return self._merging.duplicates(key, window=window, limit=limit,
                                        visible_to=self._guard.visibility(actor))

    def add_note(self, key: str, text: str, *, agent: Actor,
                 attachments: Iterable[AttachmentMeta] = ()) -> Article:
        """An internal note: never shown to the customer."""
        self._guard.check(agent, Action.ADD_NOTE, key)
        return self._tickets.add_article(key, direction=Direction.INTERNAL,
                                         channel=Channel.STAFF, author=agent, body_text=text,
                                         public=False, attachments=tuple(attachments))

    def add_article(self, key: str, *, direction: Direction, channel: Channel, author: Actor,
                    body_text: str, **details: Any) -> Article:
        """A message or note written by ``author`` (who is also the actor checked)."""
        check_details(details, Tickets.add_article)
        self._guard.check(author, article_action(direction, public=details.get("public")), key)
        return self._tickets.add_article(key, direction=direction, channel=channel,
                                         author=author, body_text=body_text, **details)

    def add_attachment(self, *, data: bytes, filename: str,
                       content_type: str = "application/octet-stream",
                       actor: Actor | None = None) -> AttachmentMeta:
        self._guard.check(actor, Action.ATTACH)
        return self._tickets.add_attachment(data=data, filename=filename,
                                            content_type=content_type)

    def start_followup(self, key: str, action: str, *, actor: Actor,
                       data: Mapping[str, object] | None = None) -> EntityRef:
        """Exchange, RMA, repair, refund … through the host's action; linked back."""
        self._guard.check(actor, Action.START_FOLLOWUP, key)
        return self._tickets.start_followup(key, action, actor=actor, data=data)

    def reply(self, key: str, text: str, *, agent: Actor, channel: Channel = Channel.EMAIL,
              html: str | None = None, attachments: Sequence[AttachmentMeta] = (),
              to: Sequence[str] | None = None, cc: Sequence[str] = (),
              subject: str | None = None,
              mail_channel: str | None = None) -> tuple[Article, OutboxMessage]:
        """Answer the customer: the article and its outbox message commit together; nothing
        is sent until ``helpdesk.outbox.dispatch`` runs."""
        self._guard.check(agent, Action.SEND_REPLY, key)
        return self._replies.reply(key, agent=agent, text=text, channel=channel, html=html,
                                   attachments=attachments, to=to, cc=cc, subject=subject,
                                   mail_channel=mail_channel)
