"""Merging tickets, undoing a merge, and splitting articles off into a new ticket.

A merge touches several aggregates at once, so its rules live here, in functions that take
every ticket involved and call their methods; the service only loads, calls and commits.

* :func:`merge` checks everything first (:func:`check_merge`), then each source
  (:meth:`Ticket.merge_into`) takes the ``merged`` status and points at the target, and the
  target (:meth:`Ticket.absorb`) receives its articles, tags, host links and participants.
  The source's ``merged`` event holds what undoing needs: the status and due date it had and
  the articles that moved. Nothing else about the source changes, so undoing has little to
  put back.
* :func:`unmerge` reads that record (:func:`last_merge`) and gives back the articles that
  moved — from the ticket they live on now, the end of the merge chain — and the tags and
  links the merge added to the target, if the target still has them. Articles that arrived
  on the target after the merge stay where they are.
* :func:`split` moves chosen articles into a new ticket and links the two both ways.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket, participants
from helpdesk_core.domain.values import Actor, ActorKind, EntityRef, clean_line, new_id
from helpdesk_core.errors import MergeConflict, ValidationError

__all__ = [
    "MergePolicy",
    "MergeRecord",
    "MergeSla",
    "MergeSource",
    "check_merge",
    "first_response_owed_since",
    "last_merge",
    "merge",
    "split",
    "unmerge",
]

MAX_REASON = 500


class MergeSla(enum.Enum):
    """What the target's SLA clocks do when tickets are merged into it."""

    TARGET = "target"  # the target keeps its own clocks
    EARLIEST = "earliest"  # its first response is owed since the earliest unanswered source


def _sla(value: object) -> MergeSla:
    try:
        return value if isinstance(value, MergeSla) else MergeSla(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not one of target, earliest",
                              field="sla") from None


def _positive(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
        raise ValidationError("must be a whole number from 1 to 1000", field=attribute.name)


@attrs.frozen
class MergePolicy:
    """How merging behaves.

    ``max_sources``: how many tickets one merge may take in. ``allow_other_customers``: merge
    tickets of different customers without being asked (else only when the caller says so).
    ``sla``: whether the target keeps its own clocks or takes the earliest first-response
    obligation of the sources. ``notify_customers``: tell the sources' customers by mail
    where their request continues (the ``merge_notice`` template), unless a merge says
    otherwise. ``children_follow_parent``: resolving a parent ticket resolves its open
    children.
    """

    max_sources: int = attrs.field(default=20, validator=_positive)
    allow_other_customers: bool = False
    sla: MergeSla = attrs.field(default=MergeSla.TARGET, converter=_sla)
    notify_customers: bool = False
    children_follow_parent: bool = False


@attrs.frozen
class MergeRecord:
    """What a source's ``merged`` event recorded: enough to undo the merge."""

    operation: str
    source_id: str
    target_id: str
    target_number: str
    at: datetime
    status: str
    status_category: StatusCategory
    due_at: datetime | None
    articles: tuple[str, ...]

    @classmethod
    def of(cls, event: TicketEvent) -> MergeRecord:
        data = event.data
        before = data.get("before", {})
        due = before.get("due_at")
        return cls(
            operation=str(data.get("operation", "")), source_id=event.ticket_id,
            target_id=str(event.new), target_number=str(data.get("other_number", "")),
            at=event.at, status=str(before.get("status", "open")),
            status_category=StatusCategory(before.get("status_category", "open")),
            due_at=datetime.fromisoformat(due) if isinstance(due, str) else None,
            articles=tuple(str(a) for a in data.get("articles", ())))


def last_merge(history: Iterable[TicketEvent]) -> MergeRecord | None:
    """The merge that made the ticket ``merged`` now, or None if it is not merged."""
    found: TicketEvent | None = None
    for event in history:
        if event.kind is EventKind.MERGED:
            found = event
        elif event.kind is EventKind.UNMERGED:
            found = None
    return None if found is None else MergeRecord.of(found)


def check_merge(target: Ticket, sources: Sequence[Ticket], *, policy: MergePolicy,
                other_customers: bool = False) -> None:
    """Raise MergeConflict unless every source may be merged into ``target``."""
    if not sources:
        raise MergeConflict("name at least one ticket to merge")
    if len(sources) > policy.max_sources:
        raise MergeConflict(f"at most {policy.max_sources} tickets can be merged at once")
    if target.merged_into is not None or target.status_category is StatusCategory.MERGED:
        raise MergeConflict(f"ticket {target.number} was merged itself; merge into "
                            "the ticket it continues as")
    seen: set[str] = set()
    for source in sources:
        if source.id == target.id:
            raise MergeConflict(f"ticket {target.number} cannot be merged into itself")
        if source.id in seen:
            raise MergeConflict(f"ticket {source.number} is named twice")
        seen.add(source.id)
        if source.merged_into is not None or source.status_category is StatusCategory.MERGED:
            raise MergeConflict(f"ticket {source.number} was already merged")
        differ = (source.customer_id is not None and target.customer_id is not None
                  and source.customer_id != target.customer_id)
        if differ and not (other_customers or policy.allow_other_customers):
            raise MergeConflict(f"tickets {source.number} and {target.number} belong to "
                                "different customers (allow it explicitly to merge them)")


def first_response_owed_since(history: Iterable[TicketEvent]) -> datetime | None:
    """Since when the ticket's customer waits for a first public answer from an agent: its
    creation, or None once an agent answered publicly (or the ticket was never created)."""
    created: datetime | None = None
    for event in history:
        if event.kind is EventKind.CREATED:
            created = event.at
        elif (event.kind is EventKind.ARTICLE_ADDED and event.actor.kind is ActorKind.AGENT
              and event.data.get("direction") == "outbound" and event.data.get("public")):
            return None
    return created


@attrs.frozen
class MergeSource:
    """A source ticket with what the merge takes from it."""

    ticket: Ticket
    articles: Sequence[Article]
    history: Sequence[TicketEvent]


def merge(target: Ticket, sources: Sequence[MergeSource], *, policy: MergePolicy,
          at: datetime, actor: Actor, reason: str | None = None,
          other_customers: bool = False, target_history: Sequence[TicketEvent] = ()) -> str:
    """Merge every source into ``target``; returns the operation's id (one per merge call,
    shared by its sources). Under the policy ``earliest`` the target is told since when each
    source's first response is owed; its clock moves only if its own is still owed.
    ``target_history``: the target's stored events (participants it has are not added)."""
    check_merge(target, [s.ticket for s in sources], policy=policy,
                other_customers=other_customers)
    why = None if reason is None else clean_line(reason, field="reason", max_length=MAX_REASON,
                                                 required=False) or None
    operation = new_id()
    known = set(participants(target_history))
    for source in sources:
        since = None
        if policy.sla is MergeSla.EARLIEST:
            owed = first_response_owed_since(source.history)
            if owed is not None and owed < target.created_at:
                since = owed
        source.ticket.merge_into(target, operation=operation, articles=source.articles,
                                 reason=why, at=at, actor=actor)
        target.absorb(source.ticket, operation=operation, articles=source.articles,
                      participants=sorted(participants(source.history) - known),
                      first_response_since=since, reason=why, at=at, actor=actor)
    return operation


def unmerge(source: Ticket, record: MergeRecord, *, target: Ticket, holder: Ticket,
            held: Sequence[Article], target_history: Sequence[TicketEvent],
            at: datetime, actor: Actor, take: Sequence[str] = ()) -> tuple[str, ...]:
    """Undo ``record`` (the merge of ``source`` into ``target``). ``holder`` is the live
    ticket the target's articles live on now (the target itself, or the end of the chain if
    the target was merged on); ``held`` its articles. ``take``: ids of articles that came
    onto ``holder`` after the merge and go to the restored source too (an agent's choice).
    Returns the ids of the articles given back: those of the record still on ``holder``, and
    those taken."""
    if source.merged_into != record.target_id:
        raise MergeConflict(f"ticket {source.number} is not merged into {record.target_number}")
    if holder.status_category is StatusCategory.MERGED:
        raise MergeConflict(f"ticket {holder.number} is merged; undo that merge first")
    here = {a.id for a in held}
    strangers = [a for a in take if a not in here]
    if strangers:
        raise ValidationError(f"not articles of ticket {holder.number}: "
                              f"{', '.join(map(str, strangers[:5]))}", field="take")
    wanted = {*record.articles, *take}
    back = [a for a in held if a.id in wanted]
    added = _added_by(target_history, record.operation, source.id)
    holder.release(source, operation=record.operation, articles=back,
                   tags=added["tags"] if holder is target else (),
                   links=added["links"] if holder is target else (), at=at, actor=actor)
    source.unmerge(record, at=at, actor=actor, returned=[a.id for a in back])
    return tuple(a.id for a in back)


def _added_by(history: Iterable[TicketEvent], operation: str, source_id: str
              ) -> Mapping[str, Sequence[Any]]:
    for event in history:
        if (event.kind is EventKind.MERGE_RECEIVED and event.data.get("operation") == operation
                and event.new == source_id):
            return {"tags": list(event.data.get("tags_added", ())),
                    "links": [EntityRef.parse(x) for x in event.data.get("links_added", ())]}
    return {"tags": [], "links": []}


def split(source: Ticket, articles: Sequence[Article], *, into: Ticket, at: datetime,
          actor: Actor) -> None:
    """Move ``articles`` (all of ``source``'s, chosen by the caller) into the new ticket
    ``into``, and link the two both ways."""
    if not articles:
        raise ValidationError("choose at least one article to split off", field="articles")
    if source.status_category is StatusCategory.MERGED:
        raise MergeConflict(f"ticket {source.number} was merged; split its target instead")
    for article in articles:
        if article.ticket_id != source.id:
            raise ValidationError(f"article {article.id} is not on ticket {source.number}",
                                  field="articles")
    source.split_off(into, articles=articles, at=at, actor=actor)
    into.split_from(source, articles=articles, at=at, actor=actor)

