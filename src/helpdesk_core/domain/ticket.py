"""The Ticket aggregate.

All changes go through methods on :class:`Ticket`; each method validates, changes the state and
records a :class:`TicketEvent`. The repository persists the new events and articles together
with the ticket, guarded by ``version`` (optimistic concurrency).
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from helpdesk_core.domain.article import MAX_BODY, Article, AttachmentMeta, Direction
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.mailbox import MessageRecord
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.outgoing import Draft, HeaderPolicy, build_message, outbound_record
from helpdesk_core.domain.status import StatusCategory, Workflow
from helpdesk_core.domain.values import (
    Actor,
    Channel,
    CustomValue,
    EntityRef,
    Priority,
    clean_line,
    clean_text,
    ensure_utc,
    new_id,
    optional_language,
    validate_custom_fields,
    validate_tag,
)
from helpdesk_core.errors import DomainError, InvalidTransition, MergeConflict, ValidationError

if TYPE_CHECKING:
    from helpdesk_core.domain.merging import MergeRecord

__all__ = ["REOPENED_BY_CUSTOMER", "Arrival", "Sent", "Ticket", "closed_at", "copied",
           "follow_merges", "notified", "participants"]

# A customer's message reopens a ticket in these categories (an automatic reply does not).
REOPENED_BY_CUSTOMER = frozenset({StatusCategory.WAITING_ON_CUSTOMER, StatusCategory.RESOLVED,
                                  StatusCategory.CLOSED})
MAX_MERGE_HOPS = 20

MAX_SUBJECT = 500
MAX_TAGS = 50
MAX_LINKS = 100


def _priority(value: object) -> Priority:
    try:
        return value if isinstance(value, Priority) else Priority(value)
    except ValueError:
        known = ", ".join(p.value for p in Priority)
        raise ValidationError(f"{value!r} is not one of {known}", field="priority") from None


def _opt_line(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    return clean_line(value, field=field, max_length=200)


@attrs.define(eq=False)
class Ticket:
    """A customer's request and everything done about it.

    Create with :meth:`open`; never set attributes directly from outside the domain.
    """

    id: str
    number: str
    subject: str
    status: str
    status_category: StatusCategory
    priority: Priority
    channel: Channel
    created_at: datetime
    updated_at: datetime
    customer_id: str | None = None
    organisation_id: str | None = None
    incident_type: str | None = None
    links: frozenset[EntityRef] = frozenset()
    tags: frozenset[str] = frozenset()
    custom_fields: dict[str, CustomValue] = attrs.field(factory=dict)
    assignee: str | None = None
    team: str | None = None
    language: str | None = None
    due_at: datetime | None = None
    merged_into: str | None = None
    version: int = 0
    event_seq: int = 0
    pending_events: list[TicketEvent] = attrs.field(factory=list, repr=False)
    pending_articles: list[Article] = attrs.field(factory=list, repr=False)
    pending_arrivals: list[Arrival] = attrs.field(factory=list, repr=False)

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        number: str,
        subject: str,
        channel: Channel,
        at: datetime,
        actor: Actor,
        priority: Priority | str = Priority.NORMAL,
        customer_id: str | None = None,
        organisation_id: str | None = None,
        incident_type: str | None = None,
        links: Iterable[EntityRef] = (),
        tags: Iterable[str] = (),
        custom_fields: dict[str, Any] | None = None,
        team: str | None = None,
        assignee: str | None = None,
        language: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Ticket:
        at = ensure_utc(at)
        link_set = frozenset(links)
        tag_set = frozenset(validate_tag(t) for t in tags)
        if len(link_set) > MAX_LINKS or len(tag_set) > MAX_TAGS:
            raise ValidationError("too many links or tags")
        ticket = cls(
            id=new_id(),
            number=number,
            subject=clean_line(subject, field="subject", max_length=MAX_SUBJECT),
            status=StatusCategory.NEW.value,
            status_category=StatusCategory.NEW,
            priority=_priority(priority),
            channel=channel,
            created_at=at,
            updated_at=at,
            customer_id=customer_id,
            organisation_id=organisation_id,
            incident_type=incident_type,
            links=link_set,
            tags=tag_set,
            custom_fields=validate_custom_fields(dict(custom_fields or {})),
            assignee=_opt_line(assignee, "assignee"),
            team=_opt_line(team, "team"),
            language=optional_language(language),
        )
        ticket._record(
            EventKind.CREATED, at, actor,
            data={"number": number, "channel": channel.value, **(data or {})},
        )
        return ticket

    @classmethod
    def restore(
        cls,
        *,
        id: str,
        number: str,
        subject: str,
        status: str,
        status_category: StatusCategory,
        priority: Priority,
        channel: Channel,
        created_at: datetime,
        updated_at: datetime,
        customer_id: str | None,
        organisation_id: str | None,
        incident_type: str | None,
        links: frozenset[EntityRef],
        tags: frozenset[str],
        custom_fields: dict[str, CustomValue],
        assignee: str | None,
        team: str | None,
        language: str | None,
        due_at: datetime | None,
        merged_into: str | None,
        version: int,
        event_seq: int,
    ) -> Ticket:
        """A stored ticket rebuilt by a storage from its persisted fields.

        The keywords are the keys of :meth:`snapshot`, every one required, with typed values
        (enums, aware datetimes, frozensets of ``EntityRef`` and tags, the custom-field dict,
        which the ticket keeps). Nothing is validated again: the ticket passed its checks
        before it was stored. An unknown or missing keyword is a ``TypeError``. The ticket
        has no pending events or articles.
        """
        return cls(
            id, number, subject, status, status_category, priority, channel, created_at,
            updated_at, customer_id, organisation_id, incident_type, links, tags,
            custom_fields, assignee, team, language, due_at, merged_into, version, event_seq,
        )

    @classmethod
    def restorer(cls, names: Sequence[str]) -> Callable[[Sequence[Any]], Ticket]:
        """:meth:`restore` for a storage that reads many tickets with the fields in an order
        of its own: ``names`` says which field each position of the values holds.

        The names are checked here, once — every persisted field exactly once, else a
        ``TypeError`` as :meth:`restore` would raise — and the values are then moved into
        place by position. The reason is speed: CPython builds a dictionary for any call
        with more than 15 keyword arguments, which made every ticket of a queue page cost
        more than a microsecond before anything was done with it.
        """
        wanted = [f.name for f in attrs.fields(cls) if f.name in _PERSISTED]
        if len(names) != len(set(names)) or set(names) != set(wanted):
            missing, unknown = set(wanted) - set(names), set(names) - set(wanted)
            raise TypeError(f"restorer needs every persisted field once; missing "
                            f"{sorted(missing)}, unknown {sorted(unknown)}, or repeated")
        place = operator.itemgetter(*(list(names).index(name) for name in wanted))

        def restore(values: Sequence[Any]) -> Ticket:
            return cls(*place(values))

        return restore

    # -- behaviour ------------------------------------------------------------------------

    def transition(self, to: str, *, workflow: Workflow, at: datetime, actor: Actor) -> None:
        """Move to status ``to``; raises InvalidTransition when the workflow forbids it."""
        at = self._begin(at)
        target = workflow.check(self.status, to)
        old = self.status
        self.status = target.key
        old_category, self.status_category = self.status_category, target.category
        self._record(
            EventKind.STATUS_CHANGED, at, actor, field="status", old=old, new=target.key,
            data={"from_category": old_category.value, "to_category": target.category.value},
        )

    def set_priority(self, priority: Priority | str, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        priority = _priority(priority)
        if priority is self.priority:
            return
        old, self.priority = self.priority, priority
        self._record(EventKind.PRIORITY_CHANGED, at, actor, field="priority",
                     old=old.value, new=priority.value)

    def set_subject(self, subject: str, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        new = clean_line(subject, field="subject", max_length=MAX_SUBJECT)
        if new == self.subject:
            return
        old, self.subject = self.subject, new
        self._record(EventKind.SUBJECT_CHANGED, at, actor, field="subject", old=old, new=new)

    def assign(self, assignee: str | None, *, at: datetime, actor: Actor,
               reason: dict[str, Any] | None = None) -> None:
        """Give the ticket to an agent (None: unassign). ``reason`` explains the choice."""
        at = self._begin(at)
        new = _opt_line(assignee, "assignee")
        if new == self.assignee:
            return
        old, self.assignee = self.assignee, new
        self._record(EventKind.ASSIGNED, at, actor, field="assignee", old=old, new=new,
                     data={"reason": reason} if reason else {})

    def set_team(self, team: str | None, *, at: datetime, actor: Actor,
                 reason: dict[str, Any] | None = None) -> None:
        at = self._begin(at)
        new = _opt_line(team, "team")
        if new == self.team:
            return
        old, self.team = self.team, new
        self._record(EventKind.TEAM_CHANGED, at, actor, field="team", old=old, new=new,
                     data={"reason": reason} if reason else {})

    def set_incident_type(self, key: str | None, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        if key == self.incident_type:
            return
        old, self.incident_type = self.incident_type, key
        self._record(EventKind.INCIDENT_TYPE_CHANGED, at, actor, field="incident_type",
                     old=old, new=key)

    def set_customer(self, customer_id: str | None, *, organisation_id: str | None,
                     at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        if (customer_id, organisation_id) == (self.customer_id, self.organisation_id):
            return
        old = {"customer_id": self.customer_id, "organisation_id": self.organisation_id}
        self.customer_id, self.organisation_id = customer_id, organisation_id
        self._record(EventKind.CUSTOMER_CHANGED, at, actor, field="customer", old=old,
                     new={"customer_id": customer_id, "organisation_id": organisation_id})

    def add_tag(self, tag: str, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        tag = validate_tag(tag)
        if tag in self.tags:
            return
        if len(self.tags) >= MAX_TAGS:
            raise ValidationError(f"at most {MAX_TAGS} tags", field="tags")
        self.tags = self.tags | {tag}
        self._record(EventKind.TAG_ADDED, at, actor, field="tag", new=tag)

    def remove_tag(self, tag: str, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        tag = validate_tag(tag)
        if tag not in self.tags:
            return
        self.tags = self.tags - {tag}
        self._record(EventKind.TAG_REMOVED, at, actor, field="tag", old=tag)

    def set_field(self, name: str, value: CustomValue, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        checked = validate_custom_fields({name: value})[name]
        old = self.custom_fields.get(name)
        if name in self.custom_fields and old == checked and type(old) is type(checked):
            return
        self.custom_fields = {**self.custom_fields, name: checked}
        self._record(EventKind.FIELD_CHANGED, at, actor, field=f"custom_fields.{name}",
                     old=old, new=checked)

    def link(self, ref: EntityRef, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        if ref in self.links:
            return
        if len(self.links) >= MAX_LINKS:
            raise ValidationError(f"at most {MAX_LINKS} links", field="links")
        self.links = self.links | {ref}
        self._record(EventKind.LINK_ADDED, at, actor, field="link", new=str(ref))

    def unlink(self, ref: EntityRef, *, at: datetime, actor: Actor) -> None:
        at = self._begin(at)
        if ref not in self.links:
            return
        self.links = self.links - {ref}
        self._record(EventKind.LINK_REMOVED, at, actor, field="link", old=str(ref))

    def set_due(self, due_at: datetime | None, *, at: datetime, actor: Actor,
                reason: str | None = None) -> None:
        at = self._begin(at)
        new = ensure_utc(due_at, field="due_at") if due_at is not None else None
        if new == self.due_at:
            return
        old, self.due_at = self.due_at, new
        self._record(EventKind.DUE_CHANGED, at, actor, field="due_at",
                     old=old.isoformat() if old else None, new=new.isoformat() if new else None,
                     data={"reason": reason} if reason else {})

    def add_article(
        self,
        *,
        direction: Direction,
        channel: Channel,
        author: Actor,
        body_text: str,
        at: datetime,
        public: bool | None = None,
        subject: str = "",
        attachments: tuple[AttachmentMeta, ...] = (),
        external_id: str | None = None,
        meta: dict[str, str] | None = None,
        article_id: str | None = None,
    ) -> Article:
        """Append a message or note to the communication log.

        ``article_id`` lets a caller derive the id from the message (idempotent ingestion).
        """
        at = self._begin(at)
        article = Article.create(
            article_id=article_id,
            ticket_id=self.id, direction=direction, channel=channel, author=author,
            body_text=body_text, at=at, public=public, subject=subject,
            attachments=attachments, external_id=external_id, meta=meta,
        )
        self.pending_articles.append(article)
        self._record(
            EventKind.ARTICLE_ADDED, at, author,
            data={"article_id": article.id, "direction": direction.value,
                  "channel": channel.value, "public": article.public},
        )
        return article

    def customer_replied(self, *, channel: Channel, author: Actor, body_text: str,
                         at: datetime, workflow: Workflow, reopened_by: Actor | None = None,
                         automatic: bool = False, **article: Any) -> Article:
        """A message from the customer (or a participant) on any channel: a public inbound
        article that reopens a ticket waiting on the customer, resolved or closed — unless it
        is an automatic reply (out of office), which reopens nothing. A workflow without a
        way back to *open* leaves the status as it is."""
        added = self.add_article(direction=Direction.INBOUND, channel=channel, author=author,
                                 body_text=body_text, at=at, **article)
        if not automatic and self.status_category in REOPENED_BY_CUSTOMER:
            # A workflow without that move keeps the status; the article is on the log.
            with contextlib.suppress(InvalidTransition):
                self.transition(StatusCategory.OPEN.value, workflow=workflow, at=at,
                                actor=reopened_by or author)
        return added

    def send(self, draft: Draft, *, author: Actor, at: datetime, policy: HeaderPolicy,
             meta: dict[str, str] | None = None) -> Sent:
        """Write ``draft`` on the communication log as an outbound article and return it
        with its outbox message (and, for mail, the Message-ID record that lets the answer
        thread); the caller writes both in the same transaction."""
        message_id = policy.new_message_id() if draft.is_mail else None
        article = self.add_article(
            direction=Direction.OUTBOUND, channel=draft.channel, author=author,
            body_text=draft.text, at=at, subject=draft.subject if draft.is_mail else "",
            attachments=draft.attachments, external_id=message_id,
            meta={"to": ", ".join(draft.recipients), "cc": ", ".join(draft.cc),
                  "kind": draft.kind, **({"message_id": message_id} if message_id else {}),
                  **(meta or {})})
        # What goes out is what the log shows: the text, subject and HTML cleaned as the
        # article's are (no NUL, no CR to smuggle a header, no bidi override in a subject).
        draft = attrs.evolve(
            draft, text=article.body_text,
            subject=clean_line(draft.subject, field="subject", max_length=500, required=False),
            html=None if draft.html is None else clean_text(
                draft.html, field="html", max_length=MAX_BODY, required=False))
        message = build_message(draft, policy=policy, ticket_id=self.id, at=at,
                                message_id=message_id, article_id=article.id)
        return Sent(article, message, outbound_record(message, at=at))

    def add_participant(self, email: str, *, at: datetime, actor: Actor) -> None:
        """Let ``email`` (already normalised) take part: its replies count as the customer's.

        Participants are kept as history events only; :func:`participants` reads them back.
        """
        at = self._begin(at)
        self._record(EventKind.PARTICIPANT_ADDED, at, actor, field="participant", new=email)

    def record_cc(self, addresses: Iterable[str], *, history: Iterable[TicketEvent],
                  exclude: Iterable[str], at: datetime, actor: Actor, take_part: bool,
                  notify: bool) -> tuple[str, ...]:
        """Addresses (already normalised) in Cc of the customer's mail. Each one new to the
        ticket — not in ``exclude`` (our own addresses, the sender) and not recorded in
        ``history`` before — is recorded: as a participant with ``take_part`` (its mail then
        counts as the customer's), else as a copied address, which takes no part. ``notify``
        marks it for a copy of the agents' replies (:func:`notified`). Returns those
        recorded, in order."""
        at = self._begin(at)
        events = list(history)
        skip = {*exclude, *participants(events), *copied(events)}
        recorded: list[str] = []
        for email in addresses:
            if email in skip:
                continue
            skip.add(email)
            recorded.append(email)
            data = {"source": "cc", "notified": notify}
            if take_part:
                self._record(EventKind.PARTICIPANT_ADDED, at, actor, field="participant",
                             new=email, data=data)
            else:
                self._record(EventKind.CC_RECORDED, at, actor, field="cc", new=email,
                             data={"notified": notify})
        return tuple(recorded)

    def record_delivery(self, *, outbox_id: str, kind: str, channel: str, state: str,
                        at: datetime, actor: Actor, results: dict[str, str] | None = None,
                        error: str | None = None) -> None:
        """What became of an outgoing message: sent, failed, uncertain, delivered ...

        Allowed on merged tickets too: a message queued before the merge still reports.
        """
        at = ensure_utc(at)
        self._record(EventKind.DELIVERY, at, actor, field="delivery", new=state,
                     data={"outbox_id": outbox_id, "kind": kind, "channel": channel,
                           "results": dict(results or {}),
                           **({"error": error[:1000]} if error else {})})

    def record_erasure(self, *, subject: str, custom_fields: dict[str, CustomValue],
                       contact: str, reason: str, at: datetime, actor: Actor) -> None:
        """A contact's personal data was erased from this ticket: the subject and custom
        fields as they are without it, and an event that says who erased whose data and why
        (``contact`` is the erased contact's placeholder name, never their data).

        Allowed on merged and closed tickets too: an erasure reaches every ticket."""
        at = ensure_utc(at)
        self.subject = clean_line(subject, field="subject", max_length=MAX_SUBJECT)
        self.custom_fields = dict(custom_fields)
        updated = self.updated_at  # not a change of the ticket's work: its times stay
        self._record(EventKind.PERSONAL_DATA_ERASED, at, actor, field="personal_data",
                     new=contact, data={"reason": clean_line(reason, field="reason",
                                                             max_length=1000)})
        self.updated_at = updated

    def record_sla_policy(self, policy: str | None, *, reason: str, at: datetime,
                          actor: Actor, old: str | None = None) -> None:
        """The SLA policy chosen for the ticket (None: no rule matched) and why; ``old`` is the
        policy it had before (None: none, or a new ticket)."""
        at = ensure_utc(at)
        self._record(EventKind.SLA_POLICY, at, actor, field="sla_policy", old=old, new=policy,
                     data={"reason": reason})

    def record_escalation(self, *, target: str, level: str, cycle: int,
                          due: datetime | None, at: datetime, actor: Actor,
                          notified: tuple[str, ...] = ()) -> None:
        """An SLA escalation level was reached; ``notified`` names who was told."""
        at = ensure_utc(at)
        self._record(EventKind.ESCALATED, at, actor, field="escalation", new=level,
                     data={"target": target, "cycle": cycle, "notified": list(notified),
                           "due": due.isoformat() if due else None})

    # -- merging, splitting, ticket links (coordinated by domain/merging.py) -------------------

    def merge_into(self, target: Ticket, *, operation: str, articles: Sequence[Article],
                   reason: str | None, at: datetime, actor: Actor) -> None:
        """Become part of ``target``: the ``merged`` status, a pointer to it, no due date.
        The ``merged`` event keeps what undoing needs (status, due date, moved articles)."""
        at = self._begin(at)
        before = {"status": self.status, "status_category": self.status_category.value,
                  "due_at": self.due_at.isoformat() if self.due_at else None}
        if self.due_at is not None:
            self.set_due(None, at=at, actor=actor, reason=f"merged into {target.number}")
        old, old_category = self.status, self.status_category
        self.status, self.status_category = StatusCategory.MERGED.value, StatusCategory.MERGED
        self.merged_into = target.id
        self._record(EventKind.STATUS_CHANGED, at, actor, field="status", old=old,
                     new=self.status, data={"from_category": old_category.value,
                                            "to_category": StatusCategory.MERGED.value})
        self._record(EventKind.MERGED, at, actor, field="merged_into", new=target.id,
                     data={"operation": operation, "other_number": target.number,
                           "reason": reason, "before": before,
                           "articles": [a.id for a in articles]})

    def absorb(self, source: Ticket, *, operation: str, articles: Sequence[Article],
               participants: Sequence[str], first_response_since: datetime | None,
               reason: str | None, at: datetime, actor: Actor) -> None:
        """Take in ``source``: its articles move here; its tags, host links and participants
        are added (the event names those that were new, so an undo removes only them)."""
        at = self._begin(at)
        self._receive(articles, from_ticket=source.id)
        tags = sorted(source.tags - self.tags)[: max(0, MAX_TAGS - len(self.tags))]
        links = sorted(source.links - self.links, key=str)[: max(0, MAX_LINKS - len(self.links))]
        self.tags, self.links = self.tags | set(tags), self.links | set(links)
        self._record(EventKind.MERGE_RECEIVED, at, actor, field="merged_from", new=source.id,
                     data={"operation": operation, "other_number": source.number,
                           "reason": reason, "articles": [a.id for a in articles],
                           "tags_added": tags, "links_added": [str(r) for r in links],
                           "participants_added": list(participants),
                           "first_response_since": first_response_since.isoformat()
                           if first_response_since else None})
        for email in participants:
            self._record(EventKind.PARTICIPANT_ADDED, at, actor, field="participant",
                         new=email, data={"source": "merge", "operation": operation})

    def release(self, source: Ticket, *, operation: str, articles: Sequence[Article],
                tags: Iterable[str], links: Iterable[EntityRef], at: datetime,
                actor: Actor) -> None:
        """Give back what a merge of ``source`` brought: ``articles`` (those still here) go
        back to it; ``tags`` and ``links`` the merge added are removed if still here."""
        at = self._begin(at)
        removed_tags = sorted(set(tags) & self.tags)
        removed_links = sorted(set(links) & self.links, key=str)
        self.tags = self.tags - set(removed_tags)
        self.links = self.links - set(removed_links)
        source._receive(articles, from_ticket=self.id)
        self._record(EventKind.MERGE_RELEASED, at, actor, field="merged_from", old=source.id,
                     data={"operation": operation, "other_number": source.number,
                           "articles": [a.id for a in articles], "tags_removed": removed_tags,
                           "links_removed": [str(r) for r in removed_links]})

    def unmerge(self, record: MergeRecord, *, returned: Sequence[str], at: datetime,
                actor: Actor) -> None:
        """Undo this ticket's merge (``record``, read from its ``merged`` event): the status
        and due date it had come back, the pointer goes."""
        if self.status_category is not StatusCategory.MERGED:
            raise MergeConflict(f"ticket {self.number} is not merged")
        at = ensure_utc(at)
        self.status, self.status_category = record.status, record.status_category
        self.merged_into = None
        self._record(EventKind.STATUS_CHANGED, at, actor, field="status",
                     old=StatusCategory.MERGED.value, new=record.status,
                     data={"from_category": StatusCategory.MERGED.value,
                           "to_category": record.status_category.value})
        # The due date comes back with the undo, not as a change of its own: whoever owned it
        # before the merge (the SLA, or an agent) owns it again.
        self.due_at = record.due_at
        self._record(EventKind.UNMERGED, at, actor, field="merged_into", old=record.target_id,
                     data={"operation": record.operation, "other_number": record.target_number,
                           "articles_returned": list(returned),
                           "due_at": record.due_at.isoformat() if record.due_at else None})

    def split_off(self, into: Ticket, *, articles: Sequence[Article], at: datetime,
                  actor: Actor) -> None:
        """``articles`` leave for the new ticket ``into`` (which receives them)."""
        at = self._begin(at)
        self._record(EventKind.SPLIT_OFF, at, actor, field="split", new=into.id,
                     data={"other_number": into.number, "articles": [a.id for a in articles]})
        self._relate(into, "split_into", at, actor)

    def split_from(self, source: Ticket, *, articles: Sequence[Article], at: datetime,
                   actor: Actor) -> None:
        at = self._begin(at)
        self._receive(articles, from_ticket=source.id)
        self._record(EventKind.SPLIT_FROM, at, actor, field="split", new=source.id,
                     data={"other_number": source.number,
                           "articles": [a.id for a in articles]})
        self._relate(source, "split_from", at, actor)

    def relate(self, other: Ticket, relation: str, *, at: datetime, actor: Actor) -> None:
        """Record a link to ``other`` (``relation`` as seen from this ticket)."""
        at = self._begin(at)
        self._relate(other, relation, at, actor)

    def unrelate(self, other_id: str, other_number: str, relation: str, *, at: datetime,
                 actor: Actor) -> None:
        at = self._begin(at)
        self._record(EventKind.UNRELATED, at, actor, field="relation", old=other_id,
                     data={"relation": relation, "other_number": other_number})

    def _relate(self, other: Ticket, relation: str, at: datetime, actor: Actor) -> None:
        self._record(EventKind.RELATED, at, actor, field="relation", new=other.id,
                     data={"relation": relation, "other_number": other.number})

    def _receive(self, articles: Iterable[Article], *, from_ticket: str) -> None:
        for article in articles:
            self.pending_arrivals.append(
                Arrival(attrs.evolve(article, ticket_id=self.id), from_ticket=from_ticket))

    # -- persistence support --------------------------------------------------------------

    def collect(self) -> tuple[list[TicketEvent], list[Article]]:
        """Hand over and forget the unsaved events and articles (called by repositories)."""
        events, articles = self.pending_events, self.pending_articles
        self.pending_events, self.pending_articles = [], []
        return events, articles

    def collect_arrivals(self) -> list[Arrival]:
        """Hand over and forget the stored articles moved onto this ticket (a merge, its
        undo, a split); the repository re-homes them when it saves the ticket."""
        arrivals, self.pending_arrivals = self.pending_arrivals, []
        return arrivals

    @property
    def has_changes(self) -> bool:
        return bool(self.pending_events)

    def snapshot(self) -> dict[str, Any]:
        """The persistent state as plain data: what every storage must round-trip exactly."""
        return {
            "id": self.id, "number": self.number, "subject": self.subject,
            "status": self.status, "status_category": self.status_category.value,
            "priority": self.priority.value, "channel": self.channel.value,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "customer_id": self.customer_id, "organisation_id": self.organisation_id,
            "incident_type": self.incident_type, "links": sorted(str(r) for r in self.links),
            "tags": sorted(self.tags), "custom_fields": dict(self.custom_fields),
            "assignee": self.assignee, "team": self.team, "language": self.language,
            "due_at": self.due_at, "merged_into": self.merged_into,
            "version": self.version, "event_seq": self.event_seq,
        }

    # -- internals ------------------------------------------------------------------------

    def _begin(self, at: datetime) -> datetime:
        """Checks every change passes before touching any state: a merged ticket is read-only
        and instants must be timezone-aware. Returns ``at`` in UTC."""
        self._ensure_not_merged()
        return ensure_utc(at)

    def _ensure_not_merged(self) -> None:
        if self.status_category is StatusCategory.MERGED:
            raise DomainError(f"ticket {self.number} was merged into another ticket")

    def _record(self, kind: EventKind, at: datetime, actor: Actor, *, field: str | None = None,
                old: Any = None, new: Any = None, data: dict[str, Any] | None = None) -> None:
        if not isinstance(actor, Actor):  # who did it is part of every change
            raise ValidationError("must be an Actor (Actor.agent(...), Actor.customer(...), "
                                  "Actor.system(...))", field="actor")
        at = ensure_utc(at)
        self.event_seq += 1
        # The ticket's clock never runs backwards, even if a caller's clock does.
        self.updated_at = max(self.updated_at, at)
        self.pending_events.append(
            TicketEvent(ticket_id=self.id, seq=self.event_seq, at=at, actor=actor, kind=kind,
                        field=field, old=old, new=new, data=dict(data or {}))
        )


@attrs.frozen
class Arrival:
    """A stored article that moves onto another ticket: ``article`` as it is after the move
    (its ``ticket_id`` the new ticket's), ``from_ticket`` the ticket it is stored under now.
    A storage re-homes it only from that ticket, so a move that lost a race moves nothing."""

    article: Article
    from_ticket: str


@attrs.frozen
class Sent:
    """What :meth:`Ticket.send` produced: the article, the outbox message, the record."""

    article: Article
    message: OutboxMessage
    record: MessageRecord | None


def follow_merges(ticket: Ticket, load: Callable[[str], Ticket]) -> Ticket:
    """The ticket a merged ticket now lives on (itself if it was never merged): every
    channel that finds a ticket by an old number or message follows this one path.
    A chain longer than MAX_MERGE_HOPS (never built by merging) is a MergeConflict."""
    for _hop in range(MAX_MERGE_HOPS):
        if ticket.merged_into is None:
            return ticket
        ticket = load(ticket.merged_into)
    if ticket.merged_into is None:
        return ticket
    raise MergeConflict(f"ticket {ticket.number} is more than {MAX_MERGE_HOPS} merges away "
                        "from a ticket that was not merged")


# The fields a storage keeps: everything but the unsaved events and articles.
_PERSISTED = frozenset(f.name for f in attrs.fields(Ticket)) - {
    "pending_events", "pending_articles", "pending_arrivals"}


def participants(history: Iterable[TicketEvent]) -> frozenset[str]:
    """The addresses added to a ticket as participants (besides its customer's own): by an
    agent (Cc of a reply), or from Cc of the customer's mail where the policy makes them
    participants. Their mail counts as the customer's."""
    return frozenset(e.new for e in history
                     if e.kind is EventKind.PARTICIPANT_ADDED and isinstance(e.new, str))


def copied(history: Iterable[TicketEvent]) -> frozenset[str]:
    """The addresses recorded from Cc that take no part (see :meth:`Ticket.record_cc`)."""
    return frozenset(e.new for e in history
                     if e.kind is EventKind.CC_RECORDED and isinstance(e.new, str))


def notified(history: Iterable[TicketEvent]) -> frozenset[str]:
    """The addresses from Cc that get a copy of the agents' replies."""
    return frozenset(e.new for e in history
                     if e.kind in (EventKind.CC_RECORDED, EventKind.PARTICIPANT_ADDED)
                     and isinstance(e.new, str) and e.data.get("notified") is True)


def closed_at(history: Iterable[TicketEvent]) -> datetime | None:
    """When the ticket last entered the closed category, or None if it is not closed now."""
    when: datetime | None = None
    for event in history:
        if event.kind is EventKind.STATUS_CHANGED:
            closed = event.data.get("to_category") == StatusCategory.CLOSED.value
            when = event.at if closed else None
    return when
