"""The adapter against the model: random operations on both, the same answers after each.

``storage_state_machine(make_storage)`` builds a hypothesis state machine that opens a fresh
store with ``make_storage()`` at the start of every example (and closes it at the end), runs
the same operations on it and on an :class:`~helpdesk_core.inmemory.InMemoryStorage`, and
checks after every step that both hold the same tickets, history, articles, queue pages,
outbox, SLA rows and staged mail. :class:`TestStorageAgainstModel` runs it on the backend
under test; an adapter may also run it on its own with
``hypothesis.stateful.run_state_machine_as_test``.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.escalations import EscalationRecord, SlaRecord
from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxClaim, OutboxMessage, OutboxState
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Arrival, Ticket
from helpdesk_core.domain.values import Channel, Priority, new_id
from helpdesk_core.errors import ConcurrencyError, InvalidTransition
from helpdesk_core.inmemory.storage import InMemoryStorage
from helpdesk_core.ports.storage import Storage
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import AGENT, T0, open_ticket
from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.support import WORKFLOW, all_pages

__all__ = ["TestStorageAgainstModel", "storage_state_machine"]


def storage_state_machine(make_storage: Callable[[], Storage]) -> type[RuleBasedStateMachine]:
    """A state machine that runs random operations on a fresh adapter and on the in-memory
    model side by side, and checks that both always agree."""

    class StorageMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.real = make_storage()
            self.model = InMemoryStorage()
            self.ids: list[str] = []
            self.clock = T0
            self.claims = 0  # claim tokens are numbered, so that both stores get the same

        def teardown(self) -> None:
            if hasattr(self, "real"):  # start() may have failed; don't hide why
                self.real.close()

        def _tick(self) -> Any:
            self.clock += timedelta(seconds=17)
            return self.clock

        @rule(kwargs=strategies.ticket_kwargs())
        def open(self, kwargs: dict[str, Any]) -> None:
            ticket = open_ticket(**kwargs)
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    uow.tickets.add(deepcopy(ticket))
                    uow.commit()
            self.ids.append(ticket.id)

        def _change(self, index: int, change: Callable[[Ticket], object]) -> None:
            ticket_id = self.ids[index % len(self.ids)]
            outcomes = []
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    ticket = uow.tickets.get(ticket_id)
                    try:
                        change(ticket)
                    except InvalidTransition:
                        outcomes.append("invalid")
                        continue
                    uow.tickets.save(ticket)
                    uow.commit()
                    outcomes.append("ok")
            assert outcomes[0] == outcomes[1]

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), to=st.sampled_from(sorted(WORKFLOW.statuses)))
        def transition(self, index: int, to: str) -> None:
            at = self._tick()
            self._change(index, lambda t: t.transition(to, workflow=WORKFLOW, at=at, actor=AGENT))

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), priority=st.sampled_from(list(Priority)),
              assignee=st.none() | st.sampled_from(strategies.AGENTS),
              tag=st.sampled_from(strategies.TAGS), add=st.booleans())
        def edit(self, index: int, priority: Priority, assignee: str | None, tag: str,
                 add: bool) -> None:
            at = self._tick()

            def change(t: Ticket) -> None:
                t.set_priority(priority, at=at, actor=AGENT)
                t.assign(assignee, at=at, actor=AGENT)
                (t.add_tag if add else t.remove_tag)(tag, at=at, actor=AGENT)
                t.set_due(at + timedelta(hours=index % 5) if index % 3 else None, at=at,
                          actor=AGENT)

            self._change(index, change)

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), body=strategies.hostile_text(),
              direction=st.sampled_from(list(Direction)), same_instant=st.booleans())
        def article(self, index: int, body: str, direction: Direction,
                    same_instant: bool) -> None:
            # Articles of one instant (on one ticket or on several, to be merged later) are
            # ordered by the order they came onto their ticket.
            at = self.clock if same_instant else self._tick()
            article_id = new_id()
            self._change(index, lambda t: t.add_article(
                direction=direction, channel=Channel.EMAIL, author=AGENT, body_text=body, at=at,
                article_id=article_id))

        @precondition(lambda self: self.ids)
        @rule(source=st.integers(0, 99), onto=st.integers(0, 99),
              picks=st.lists(st.integers(0, 99), max_size=3),
              tag=st.sampled_from(strategies.TAGS),
              wrong_source=st.sampled_from([False, False, False, True]),
              target_first=st.booleans(), fresh=st.integers(0, 2), split=st.booleans())
        def move_articles(self, source: int, onto: int, picks: list[int], tag: str,
                          wrong_source: bool, target_first: bool, fresh: int,
                          split: bool) -> None:
            # A merge or its undo (onto another ticket) or a split (onto a new one): some
            # stored articles of one ticket move, both tickets change. An arrival from the
            # wrong ticket is refused by both stores, and nothing of the unit is written.
            source_id = self.ids[source % len(self.ids)]
            others = [t for t in self.ids if t != source_id]
            new = open_ticket(at=self.clock) if split or not others else None
            target_id = new.id if new is not None else others[onto % len(others)]
            if fresh:  # articles of one instant to move (the other rules' are few)
                instant, fresh_ids = self.clock, [new_id() for _ in range(fresh)]
                self._change(source, lambda t: [t.add_article(
                    direction=Direction.INBOUND, channel=Channel.EMAIL, author=AGENT,
                    body_text=f"fresh {n}", at=instant, article_id=article_id)
                    for n, article_id in enumerate(fresh_ids)])
            at = self._tick()

            def toggle(ticket: Ticket) -> None:
                change = ticket.remove_tag if tag in ticket.tags else ticket.add_tag
                change(tag, at=at, actor=AGENT)

            answers: list[tuple[str, list[str]]] = []
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    log = uow.tickets.articles(source_id)
                    moving = list({log[p % len(log)].id: log[p % len(log)]
                                   for p in picks if log}.values())
                    from_ticket = target_id if wrong_source and moving else source_id
                    left = uow.tickets.get(source_id)
                    toggle(left)
                    if new is None:
                        gaining = uow.tickets.get(target_id)
                        toggle(gaining)
                    else:
                        gaining = deepcopy(new)
                    gaining.pending_arrivals += [
                        Arrival(attrs.evolve(a, ticket_id=target_id), from_ticket=from_ticket)
                        for a in moving]
                    try:
                        for ticket in ((gaining, left) if target_first else (left, gaining)):
                            if ticket is gaining and new is not None:
                                uow.tickets.add(ticket)
                            else:
                                uow.tickets.save(ticket)
                    except ConcurrencyError:
                        answers.append(("refused", [a.id for a in moving]))
                        continue
                    uow.commit()
                    answers.append(("moved", [a.id for a in moving]))
            assert answers[0] == answers[1]
            added = new is not None and answers[0][0] == "moved"
            if added:
                self.ids.append(target_id)
            self._same_tickets([source_id, target_id] if new is None or added
                               else [source_id])

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99))
        def stale_save_is_refused_by_both(self, index: int) -> None:
            ticket_id = self.ids[index % len(self.ids)]
            at = self._tick()
            for storage in (self.real, self.model):
                with storage.unit_of_work(read_only=True) as uow:
                    stale = uow.tickets.get(ticket_id)
                stale.version -= 1
                stale.set_subject(f"stale {at.isoformat()}", at=at, actor=AGENT)
                with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
                    uow.tickets.save(stale)
                    uow.commit()

        # -- mail, outbox and SLA rows: the same operations, the same answers --------------

        def _both(self, work: Callable[[Any], object]) -> None:
            answers = []
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    answers.append(work(uow))
                    uow.commit()
            assert answers[0] == answers[1]

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), minutes=st.integers(0, 600),
              channel=st.sampled_from([Channel.EMAIL, Channel.SMS]))
        def queue_message(self, index: int, minutes: int, channel: Channel) -> None:
            at = self._tick()
            message = OutboxMessage.create(
                ticket_id=self.ids[index % len(self.ids)], kind="reply", channel=channel,
                sender="s@us", recipients=("a@x.cz",), subject="s", body_text="t", at=at)
            message = attrs.evolve(message, next_attempt_at=at + timedelta(minutes=minutes)
                                   if minutes % 2 else None)
            self._both(lambda uow: uow.outbox.add(message))

        @rule(minutes=st.integers(0, 900), limit=st.integers(1, 4),
              channel=st.none() | st.sampled_from([Channel.EMAIL, Channel.SMS]))
        def claim_and_settle(self, minutes: int, limit: int, channel: Channel | None) -> None:
            now = self.clock + timedelta(minutes=minutes)
            self.claims += 1
            owner = f"claim-{self.claims}"

            def work(uow: Any) -> list[str]:
                claimed = uow.outbox.claim(now=now, lease=timedelta(minutes=5), limit=limit,
                                           channel=channel, owner=owner)
                for i, message in enumerate(claimed):
                    if i % 2 == 0:
                        uow.outbox.update(attrs.evolve(message, state=OutboxState.SENT,
                                                       leased_until=None, attempts=1),
                                          expect=OutboxClaim(owner=owner,
                                                             state=OutboxState.PENDING,
                                                             valid_at=now))
                return [m.id for m in claimed]

            self._both(work)

        @rule(pick=st.integers(0, 99), state=st.sampled_from(list(OutboxState)),
              owner=st.sampled_from(["held", "other", None]),
              valid=st.none() | st.integers(-10, 10))
        def compare_and_set(self, pick: int, state: OutboxState, owner: str | None,
                            valid: int | None) -> None:
            # A stale owner, a lease run out or another state: refused by both, nothing changed.
            def work(uow: Any) -> str:
                messages = uow.outbox.find(limit=1000)
                if not messages:
                    return "none"
                message = messages[pick % len(messages)]
                token = {"held": message.lease_owner, "other": "claim-0"}.get(owner or "")
                at = None if valid is None else self.clock + timedelta(minutes=valid)
                try:
                    uow.outbox.update(attrs.evolve(message, attempts=message.attempts + 1,
                                                   state=OutboxState.FAILED),
                                      expect=OutboxClaim(owner=token, state=state, valid_at=at))
                except ConcurrencyError:
                    return "refused"
                return "applied"

            self._both(work)

        @rule(minutes=st.integers(0, 900), limit=st.integers(1, 4))
        def claim_and_roll_back(self, minutes: int, limit: int) -> None:
            # The same messages are claimed, and afterwards neither store keeps the lease.
            now = self.clock + timedelta(minutes=minutes)
            answers = []
            self.claims += 1
            for storage in (self.real, self.model):
                with storage.unit_of_work() as uow:
                    claimed = uow.outbox.claim(now=now, lease=timedelta(minutes=5),
                                               limit=limit, owner=f"claim-{self.claims}")
                    answers.append([m.id for m in claimed])
                    uow.rollback()
            assert answers[0] == answers[1]

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), hours=st.none() | st.integers(-5, 5),
              digest=st.none() | st.sampled_from(["0123456789abcdef", "fedcba9876543210"]))
        def sla_record(self, index: int, hours: int | None, digest: str | None) -> None:
            record = SlaRecord(ticket_id=self.ids[index % len(self.ids)], policy="p",
                               reason="r", updated_at=self.clock,
                               next_at=None if hours is None
                               else self.clock + timedelta(hours=hours),
                               targets_digest=digest, calendar_digest=digest)
            self._both(lambda uow: uow.sla.put(record))

        @precondition(lambda self: self.ids)
        @rule(index=st.integers(0, 99), level=st.sampled_from(["75%", "100%"]),
              cycle=st.integers(1, 2))
        def fire(self, index: int, level: str, cycle: int) -> None:
            record = EscalationRecord(ticket_id=self.ids[index % len(self.ids)],
                                      target="resolution", cycle=cycle, level=level,
                                      fired_at=self.clock)
            self._both(lambda uow: uow.sla.fire(record))

        @rule(key=st.sampled_from(["1:1", "1:2", "2:1"]), fail=st.booleans())
        def stage(self, key: str, fail: bool) -> None:
            def work(uow: Any) -> object:
                current = uow.staged_mail.get("box", key)
                if current is None:
                    uow.staged_mail.add(StagedMail.stage(account="box", key=key, size=1,
                                                         at=self.clock, blob_key=None,
                                                         content_hash=None))
                    return "staged"
                changed = current.failed("x", at=self.clock, max_attempts=2) if fail else \
                    current.processed(outcome="new_ticket", at=self.clock)
                try:
                    uow.staged_mail.update(changed, expected=StagedState.STAGED)
                except ConcurrencyError:
                    return "handled already"
                return changed.state.value

            self._both(work)

        @invariant()
        def same_outbox_sla_and_staging(self) -> None:
            if not hasattr(self, "ids"):
                return
            views = []
            for storage in (self.real, self.model):
                with storage.unit_of_work(read_only=True) as uow:
                    views.append((
                        [uow.outbox.for_ticket(t) for t in self.ids[-3:]],
                        uow.outbox.find(state=OutboxState.PENDING, limit=1000),
                        [uow.sla.get(t) for t in self.ids[-3:]],
                        uow.sla.due(now=self.clock, limit=1000),
                        [uow.sla.fired(t) for t in self.ids[-3:]],
                        uow.staged_mail.list(account="box"),
                    ))
            assert views[0] == views[1]

        @rule(query=strategies.queries())
        def same_queue(self, query: TicketQuery) -> None:
            assert [t.snapshot() for t in all_pages(self.real, query)] == [
                t.snapshot() for t in all_pages(self.model, query)
            ]

        @invariant()
        def same_tickets_history_and_articles(self) -> None:
            if not hasattr(self, "ids"):
                return
            self._same_tickets(self.ids[-3:])

        def _same_tickets(self, ticket_ids: list[str]) -> None:
            # The articles are compared as lists: the same articles in the same (time) order.
            for ticket_id in ticket_ids:
                views = []
                for storage in (self.real, self.model):
                    with storage.unit_of_work(read_only=True) as uow:
                        views.append((
                            uow.tickets.get(ticket_id).snapshot(),
                            uow.tickets.history(ticket_id),
                            uow.tickets.articles(ticket_id),
                        ))
                assert views[0] == views[1]

    StorageMachine.TestCase.settings = settings(
        max_examples=15, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    return StorageMachine


class TestStorageAgainstModel:
    def test_the_backend_agrees_with_the_in_memory_model(
        self, helpdesk_backend: Backend
    ) -> None:
        # A new machine class per run, hence a new hypothesis test: nothing is shared between
        # backends, and every example opens (and closes) a store of its own.
        run_state_machine_as_test(storage_state_machine(helpdesk_backend.make_storage))
