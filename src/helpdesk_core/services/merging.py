"""Merging, undoing a merge, splitting, ticket links and duplicate suggestions.

Each command loads the tickets it names in one unit of work, calls the rules in
:mod:`helpdesk_core.domain.merging` / :mod:`helpdesk_core.domain.relations`, and commits; a
commit that lost a race with another writer runs again on fresh data
(:meth:`Units.retrying`), where the rules see what the other writer did — two agents merging
A into B and B into A at once: one merge lands, the other finds its target merged and is
refused with MergeConflict. The message bus does the rest (SLA records, the merge notice,
children resolved with their parent, hooks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs

from helpdesk_core.domain.duplicates import DuplicateSuggestion, suggest_duplicates
from helpdesk_core.domain.merging import (
    MergePolicy,
    MergeSource,
    last_merge,
    merge,
    split,
    unmerge,
)
from helpdesk_core.domain.queue import QueueSort, TicketQuery, Visibility
from helpdesk_core.domain.relations import (
    Relation,
    TicketLink,
    check_parent,
    link,
    parent_of,
    ticket_links,
    unlink,
)
from helpdesk_core.domain.ticket import Ticket, follow_merges
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import MergeConflict, ValidationError
from helpdesk_core.ports import Clock
from helpdesk_core.services.intake import Intake
from helpdesk_core.services.unit_of_work import Unit, Units

__all__ = ["Merged", "Merging", "Split"]

MAX_SPLIT = 1000


@attrs.frozen
class Merged:
    """A merge that landed: the target as it is now, the operation, the sources' numbers."""

    target: Ticket
    operation: str
    sources: tuple[str, ...]


@attrs.frozen
class Split:
    """A split that landed: the ticket the articles left and the new one they went to."""

    source: Ticket
    new: Ticket
    articles: tuple[str, ...]


class Merging:
    def __init__(self, *, units: Units, clock: Clock, policy: MergePolicy,
                 intake: Intake) -> None:
        self.units = units
        self.clock = clock
        self.policy = policy
        self.intake = intake

    # -- merge and its undo ------------------------------------------------------------

    def merge(self, target_key: str, source_keys: Sequence[str], *, actor: Actor,
              reason: str | None = None, other_customers: bool = False,
              notify: bool | None = None) -> Merged:
        """Merge the tickets ``source_keys`` (ids or numbers) into ``target_key``.
        ``notify``: tell the sources' customers (default: the policy's ``notify_customers``)."""
        if isinstance(source_keys, str):
            raise ValidationError("a list of ticket numbers or ids", field="sources")

        def work(unit: Unit) -> Merged:
            loaded = _load_in_order(unit, [target_key, *source_keys])
            target, sources = loaded[0], loaded[1:]
            operation = merge(
                target,
                [MergeSource(s, unit.tickets.articles(s.id), unit.history(s)) for s in sources],
                policy=self.policy, at=self.clock.now(), actor=actor, reason=reason,
                other_customers=other_customers, target_history=unit.history(target))
            if notify if notify is not None else self.policy.notify_customers:
                for source in sources:
                    unit.note(source, MergeNotice(operation))
            return Merged(target, operation, tuple(s.number for s in sources))

        return self.units.retrying(work)

    def unmerge(self, key: str, *, actor: Actor, take: Sequence[str] = ()) -> Ticket:
        """Undo the merge of the ticket ``key`` (a merged ticket): it comes back as it was,
        with the articles that moved; those that arrived on the target since stay there,
        except the ones named in ``take``. Returns the restored ticket."""
        if isinstance(take, str):
            raise ValidationError("a list of article ids", field="take")

        def work(unit: Unit) -> Ticket:
            source = unit.tickets.load(key)
            record = last_merge(unit.history(source))
            if record is None or source.merged_into is None:
                raise MergeConflict(f"ticket {source.number} is not merged")
            target = unit.tickets.get(record.target_id)
            holder = follow_merges(target, unit.tickets.get)
            unmerge(source, record, target=target, holder=holder,
                    held=unit.tickets.articles(holder.id),
                    target_history=unit.history(target), at=self.clock.now(), actor=actor,
                    take=list(take))
            return source

        return self.units.retrying(work)

    # -- split ---------------------------------------------------------------------------

    def split(self, key: str, article_ids: Sequence[str], *, actor: Actor,
              subject: str | None = None, customer_id: str | None = None) -> Split:
        """Move the articles ``article_ids`` of ticket ``key`` into a new ticket (for the same
        customer unless ``customer_id`` names another), linked both ways; later replies to
        the moved mails thread to the new ticket."""
        if isinstance(article_ids, str) or not 0 < len(article_ids) <= MAX_SPLIT:
            raise ValidationError(f"a list of 1 to {MAX_SPLIT} article ids", field="articles")

        def work(unit: Unit) -> Split:
            source = unit.tickets.load(key)
            if source.merged_into is not None:
                raise MergeConflict(f"ticket {source.number} was merged; split the ticket "
                                    "it continues as")
            stored = {a.id: a for a in unit.tickets.articles(source.id)}
            missing = [a for a in article_ids if a not in stored]
            if missing:
                raise ValidationError(f"not articles of ticket {source.number}: "
                                      f"{', '.join(map(str, missing[:5]))}", field="articles")
            chosen = [stored[a] for a in dict.fromkeys(article_ids)]
            new = self._split_ticket(unit, source, actor=actor, subject=subject,
                                     customer_id=customer_id)
            split(source, chosen, into=new, at=self.clock.now(), actor=actor)
            unit.tickets.add(new)
            unit.messages.move([a.id for a in chosen], new.id)
            return Split(source, new, tuple(a.id for a in chosen))

        return self.units.retrying(work)

    def _split_ticket(self, unit: Unit, source: Ticket, *, actor: Actor,
                      subject: str | None, customer_id: str | None) -> Ticket:
        """The new ticket of a split: numbered as every ticket, with the source's subject,
        priority, type, team, assignee and language unless told otherwise."""
        organisation_id = source.organisation_id
        if customer_id is not None and customer_id != source.customer_id:
            customer = self.intake.directory.customer(customer_id)
            if customer is None:
                raise ValidationError(f"no customer {customer_id!r}", field="customer_id")
            organisation_id = customer.organisation_id
        now = self.clock.now()
        numbering = self.intake.numbering
        seq = unit.sequences.next_value(numbering.scope(now))
        return Ticket.open(
            number=numbering.render(seq=seq, created_at=now),
            subject=source.subject if subject is None else subject, channel=source.channel,
            at=now, actor=actor, priority=source.priority,
            customer_id=customer_id or source.customer_id, organisation_id=organisation_id,
            incident_type=source.incident_type, team=source.team, assignee=source.assignee,
            language=source.language, data={"split_from": source.number})

    # -- links between tickets ------------------------------------------------------------

    def link(self, key: str, other_key: str, relation: Relation | str, *,
             actor: Actor) -> Ticket:
        """Link two tickets (``relation`` as seen from ``key``: ``parent`` makes ``other_key``
        its parent); returns the ticket ``key``."""
        chosen = Relation.parse(relation)
        if chosen in (Relation.SPLIT_FROM, Relation.SPLIT_INTO):
            raise ValidationError("split links are made by splitting", field="relation")

        def work(unit: Unit) -> Ticket:
            ticket, other = _load_in_order(unit, [key, other_key])
            _not_merged(ticket, other)
            if chosen in (Relation.PARENT, Relation.CHILD):
                child, parent = (ticket, other) if chosen is Relation.PARENT else (other, ticket)
                check_parent(child, parent, child_history=unit.history(child),
                             parent_chain=lambda t: parent_of(unit.tickets.history(t)))
            history = unit.history(ticket)
            link(ticket, other, chosen, history=history, at=self.clock.now(), actor=actor)
            return ticket

        return self.units.retrying(work)

    def unlink(self, key: str, other_key: str, *, actor: Actor) -> Ticket:
        """Remove every link between the two tickets; returns the ticket ``key``."""

        def work(unit: Unit) -> Ticket:
            ticket, other = _load_in_order(unit, [key, other_key])
            _not_merged(ticket, other)
            unlink(ticket, other, history=unit.history(ticket), at=self.clock.now(),
                   actor=actor)
            return ticket

        return self.units.retrying(work)

    def links(self, key: str) -> tuple[TicketLink, ...]:
        return self.units.read(
            lambda unit: ticket_links(unit.tickets.history(unit.tickets.load(key).id)))

    # -- duplicates -----------------------------------------------------------------------

    def duplicates(self, key: str, *, window: timedelta = timedelta(days=14),
                   limit: int = 5, visible_to: Visibility | None = None
                   ) -> list[DuplicateSuggestion]:
        """Open tickets the ticket ``key`` may duplicate, best first, each with its score
        and reasons — for an agent to look at; nothing is merged. ``visible_to``: only
        tickets an agent who sees only their teams' tickets may see."""
        if not isinstance(window, timedelta) or window <= timedelta(0):
            raise ValidationError("must be a positive timedelta", field="window")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
            raise ValidationError("must be a whole number from 1 to 50", field="limit")

        def read(unit: Unit) -> list[DuplicateSuggestion]:
            ticket = unit.tickets.load(key)
            queries = [TicketQuery.active(sort=QueueSort.NEWEST, limit=200,
                                          visible_to=visible_to)]
            if ticket.customer_id is not None:
                queries.append(TicketQuery.active(customer_id=ticket.customer_id,
                                                  sort=QueueSort.NEWEST, limit=200,
                                                  visible_to=visible_to))
            if ticket.organisation_id is not None:
                queries.append(TicketQuery.active(organisation_id=ticket.organisation_id,
                                                  sort=QueueSort.NEWEST, limit=200,
                                                  visible_to=visible_to))
            seen: dict[str, Ticket] = {}
            for query in queries:
                for candidate in unit.tickets.query(query).items:
                    seen.setdefault(candidate.id, candidate)
            return suggest_duplicates(ticket, seen.values(), window=window, limit=limit)

        return self.units.read(read)


def _load_in_order(unit: Unit, keys: Sequence[str]) -> list[Ticket]:
    """The tickets ``keys`` (in that order), loaded — and so locked, on a database that locks
    what a unit loads for writing — in the sorted order of the keys: two agents merging A
    into B and B into A lock A first both, and the second waits instead of deadlocking."""
    loaded = {key: unit.tickets.load(key) for key in sorted(set(keys))}
    return [loaded[key] for key in keys]


def _not_merged(*tickets: Ticket) -> None:
    """A link is recorded on both tickets, and a merged ticket takes no changes: refused
    before either ticket changes, as a merge conflict (undo the merge first)."""
    for ticket in tickets:
        if ticket.merged_into is not None:
            raise MergeConflict(f"ticket {ticket.number} was merged; its links cannot change "
                                "until the merge is undone")


@attrs.frozen
class MergeNotice:
    """Left on a merged source in its unit: its customer is to be told (``operation``)."""

    operation: str

