"""The ticket repository: round trip, saving, optimistic concurrency, history, articles, queue.

Covers :class:`~helpdesk_core.ports.storage.TicketRepository`.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.article import Article, Direction
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.queue import QueueSort, TicketQuery, Visibility
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Arrival, Ticket
from helpdesk_core.domain.values import Actor, Channel, EntityKind, EntityRef, Priority
from helpdesk_core.errors import ConcurrencyError, TicketNotFound, ValidationError
from helpdesk_core.ports.storage import Storage, TicketRepository
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import AGENT, T0, open_ticket, store_tickets
from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.support import WORKFLOW, all_pages, query_fields

__all__ = ["TestArticleMoves", "TestTicketQueue", "TestTicketRepository"]

COVERS = (TicketRepository,)


class TestTicketRepository:
    def test_add_then_get_round_trips_every_field(self, storage: Storage) -> None:
        ticket = open_ticket(
            subject="Reklamace: poškozená zásilka — Lieferung beschädigt 🙂",
            channel=Channel.EMAIL, priority=Priority.HIGH, customer_id="cust-1",
            organisation_id="org-1", incident_type="complaint/damaged",
            links=[EntityRef(EntityKind.ORDER, "eshop", "2026-0042")],
            tags=["VIP", "rückgabe"], custom_fields={"serial_no": "SN-1", "weight": 2.5,
                                                     "fragile": True, "count": 3, "x": None},
            team="returns", assignee="alice", language="cs",
        )
        ticket.set_due(T0 + timedelta(hours=8), at=T0, actor=AGENT)
        expected = ticket.snapshot()
        store_tickets(storage, [ticket])
        with storage.unit_of_work(read_only=True) as uow:
            loaded = uow.tickets.get(ticket.id)
            by_number = uow.tickets.get_by_number(ticket.number)
        expected["version"] = 1
        assert loaded.snapshot() == expected
        assert by_number.snapshot() == expected
        assert loaded.created_at.tzinfo is not None
        assert loaded.pending_events == []
        assert loaded.pending_articles == []

    def test_unknown_ticket_raises_ticket_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work(read_only=True) as uow:
            with pytest.raises(TicketNotFound):
                uow.tickets.get("no-such-id")
            with pytest.raises(LookupError):
                uow.tickets.get_by_number("HD-1999-000001")

    def test_save_persists_changes_and_increments_version(self, storage: Storage) -> None:
        (ticket,) = store_tickets(storage, [open_ticket()])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(ticket.id)
            loaded.transition("open", workflow=WORKFLOW, at=T0, actor=AGENT)
            loaded.set_priority(Priority.URGENT, at=T0, actor=AGENT)
            loaded.add_tag("b2b", at=T0, actor=AGENT)
            loaded.remove_tag("b2b", at=T0, actor=AGENT)
            loaded.add_tag("vip", at=T0, actor=AGENT)
            loaded.set_field("note", "řeší Bob", at=T0, actor=AGENT)
            uow.tickets.save(loaded)
            uow.commit()
        assert loaded.version == 2
        with storage.unit_of_work(read_only=True) as uow:
            again = uow.tickets.get(ticket.id)
        assert again.snapshot() == loaded.snapshot()
        assert again.status_category is StatusCategory.OPEN
        assert again.tags == frozenset({"vip"})

    def test_save_without_changes_writes_nothing(self, storage: Storage) -> None:
        (ticket,) = store_tickets(storage, [open_ticket()])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(ticket.id)
            uow.tickets.save(loaded)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.tickets.get(ticket.id).version == 1

    def test_stale_update_raises_concurrency_error_and_never_overwrites(
        self, storage: Storage
    ) -> None:
        (ticket,) = store_tickets(storage, [open_ticket()])
        with storage.unit_of_work(read_only=True) as uow:
            first = uow.tickets.get(ticket.id)
            second = uow.tickets.get(ticket.id)
        first.set_subject("first writer", at=T0, actor=AGENT)
        second.set_subject("second writer", at=T0, actor=AGENT)
        with storage.unit_of_work() as uow:
            uow.tickets.save(first)
            uow.commit()
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.tickets.save(second)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            stored = uow.tickets.get(ticket.id)
            history = uow.tickets.history(ticket.id)
        assert stored.subject == "first writer"
        assert stored.version == 2
        assert [e.new for e in history if e.kind is EventKind.SUBJECT_CHANGED] == ["first writer"]

    def test_two_units_saving_one_ticket_at_once_exactly_one_wins(
        self, storage: Storage
    ) -> None:
        # Whether the second writer waits for the first (row or database locks) or both run
        # and the first to commit wins (the in-memory store), one commits and the other gets
        # ConcurrencyError with nothing of its change written.
        (ticket,) = store_tickets(storage, [open_ticket()])
        with storage.unit_of_work(read_only=True) as uow:
            copies = {"first": uow.tickets.get(ticket.id), "second": uow.tickets.get(ticket.id)}
        for name, copy in copies.items():
            copy.set_subject(f"{name} writer", at=T0, actor=AGENT)
        winner, _loser = _race(storage, lambda uow, name: uow.tickets.save(copies[name]))
        with storage.unit_of_work(read_only=True) as uow:
            stored = uow.tickets.get(ticket.id)
            history = uow.tickets.history(ticket.id)
        assert stored.subject == f"{winner} writer"
        assert stored.version == 2
        assert [e.new for e in history if e.kind is EventKind.SUBJECT_CHANGED] == [
            f"{winner} writer"]

    def test_duplicate_ticket_number_is_refused(self, storage: Storage) -> None:
        store_tickets(storage, [open_ticket(seq=7)])
        with pytest.raises(Exception) as info, storage.unit_of_work() as uow:
            uow.tickets.add(open_ticket(seq=7))
            uow.commit()
        assert "sqlalchemy" not in type(info.value).__module__
        with storage.unit_of_work(read_only=True) as uow:
            assert len(uow.tickets.query(TicketQuery()).items) == 1

    def test_history_and_articles_in_order(self, storage: Storage) -> None:
        ticket = open_ticket()
        ticket.add_article(direction=Direction.INBOUND, channel=Channel.WEB_FORM,
                           author=Actor.customer("cust-1", "Jana"), body_text="Dobrý den,\n…",
                           at=T0)
        store_tickets(storage, [ticket])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(ticket.id)
            loaded.add_article(direction=Direction.INTERNAL, channel=Channel.STAFF,
                               author=AGENT, body_text="internal", at=T0 + timedelta(minutes=1))
            loaded.add_article(direction=Direction.OUTBOUND, channel=Channel.EMAIL,
                               author=AGENT, body_text="reply", at=T0 + timedelta(minutes=1),
                               external_id="<abc@helpdesk>", meta={"to": "jana@example.cz"})
            loaded.assign("bob", at=T0, actor=AGENT, reason={"resolver": "manual"})
            uow.tickets.save(loaded)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            history = uow.tickets.history(ticket.id)
            articles = uow.tickets.articles(ticket.id)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert [e.kind for e in history] == [
            EventKind.CREATED, EventKind.ARTICLE_ADDED, EventKind.ARTICLE_ADDED,
            EventKind.ARTICLE_ADDED, EventKind.ASSIGNED,
        ]
        assert history[-1].data == {"reason": {"resolver": "manual"}}
        assert history[-1].actor == AGENT
        assert [a.body_text for a in articles] == ["Dobrý den,\n…", "internal", "reply"]
        assert [a.public for a in articles] == [True, False, True]
        assert articles[2].external_id == "<abc@helpdesk>"
        assert articles[2].meta == {"to": "jana@example.cz"}


def _note(ticket: Ticket, body: str, minutes: int) -> Article:
    return ticket.add_article(direction=Direction.INTERNAL, channel=Channel.STAFF,
                              author=AGENT, body_text=body, at=T0 + timedelta(minutes=minutes))


def _arrive(target: Ticket, article: Article, source: Ticket | str) -> None:
    """Move a stored ``article`` of ``source`` onto ``target`` (with a change of its own)."""
    source_id = source if isinstance(source, str) else source.id
    target.pending_arrivals.append(Arrival(attrs.evolve(article, ticket_id=target.id),
                                           from_ticket=source_id))


def _log(storage: Storage, *ticket_ids: str) -> list[list[Article]]:
    with storage.unit_of_work(read_only=True) as uow:
        return [uow.tickets.articles(t) for t in ticket_ids]


class TestArticleMoves:
    """Stored articles moved between tickets (merge, undo, split): see TicketRepository.save."""

    def test_arrivals_keep_their_content_and_land_after_the_targets_articles(
        self, storage: Storage
    ) -> None:
        source, target = open_ticket(), open_ticket()
        first = _note(source, "first", 1)
        second = _note(source, "second", 2)
        kept = _note(source, "kept", 3)
        own = _note(target, "target's own", 0)
        store_tickets(storage, [source, target])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(target.id)
            left = uow.tickets.get(source.id)
            _arrive(loaded, second, source)
            _arrive(loaded, first, source)
            loaded.add_tag("merged", at=T0, actor=AGENT)
            left.add_tag("merged-away", at=T0, actor=AGENT)
            uow.tickets.save(loaded)
            uow.tickets.save(left)
            # The unit sees its own move at once.
            assert [a.id for a in uow.tickets.articles(target.id)] == [own.id, first.id,
                                                                       second.id]
            assert [a.id for a in uow.tickets.articles(source.id)] == [kept.id]
            uow.commit()
        assert loaded.pending_arrivals == []
        assert loaded.version == 2
        on_target, on_source = _log(storage, target.id, source.id)
        assert on_target == [own, attrs.evolve(first, ticket_id=target.id),
                             attrs.evolve(second, ticket_id=target.id)]
        assert on_source == [kept]
        with storage.unit_of_work() as uow:  # a new article comes after the moved ones
            again = uow.tickets.get(target.id)
            late = _note(again, "later", 3)
            uow.tickets.save(again)
            uow.commit()
        [on_target] = _log(storage, target.id)
        assert [a.id for a in on_target] == [own.id, first.id, second.id, late.id]

    def test_articles_come_back_in_time_order_when_moved_ones_are_older(
        self, storage: Storage
    ) -> None:
        source, target = open_ticket(), open_ticket()
        old = _note(source, "old", 1)
        same = _note(source, "same instant, moved", 5)
        newer = _note(target, "newer", 4)
        mine = _note(target, "same instant, own", 5)
        store_tickets(storage, [source, target])
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(target.id)
            _arrive(loaded, same, source)
            _arrive(loaded, old, source)
            new_here = _note(loaded, "same instant, new", 5)
            uow.tickets.save(loaded)
            uow.commit()
        [on_target] = _log(storage, target.id)
        # By created_at; of one instant, in the order they came: the target's own, then the
        # save's new article, then its arrivals.
        assert [a.id for a in on_target] == [old.id, newer.id, mine.id, new_here.id, same.id]

    def test_an_arrival_from_the_wrong_ticket_writes_nothing(self, storage: Storage) -> None:
        source, target, other = open_ticket(), open_ticket(), open_ticket()
        moved = _note(source, "moved", 1)
        _note(target, "target's own", 2)
        store_tickets(storage, [source, target, other])
        before = _log(storage, source.id, target.id, other.id)
        with storage.unit_of_work() as uow:
            loaded = uow.tickets.get(target.id)
            _arrive(loaded, moved, other)  # it is not on ``other``
            loaded.add_tag("merged", at=T0, actor=AGENT)
            _note(loaded, "merge note", 3)
            with pytest.raises(ConcurrencyError):
                uow.tickets.save(loaded)
            assert loaded.version == 1
            uow.commit()  # whatever the unit commits, nothing of that save is in it
        assert _log(storage, source.id, target.id, other.id) == before
        with storage.unit_of_work(read_only=True) as uow:
            stored = uow.tickets.get(target.id)
            history = uow.tickets.history(target.id)
        assert stored.version == 1
        assert stored.tags == frozenset()
        assert EventKind.TAG_ADDED not in {e.kind for e in history}

    def test_a_move_that_lost_the_race_writes_nothing(self, storage: Storage) -> None:
        source, first, second = open_ticket(), open_ticket(), open_ticket()
        moved = _note(source, "moved", 1)
        store_tickets(storage, [source, first, second])
        with storage.unit_of_work() as uow:
            winner = uow.tickets.get(first.id)
            _arrive(winner, moved, source)
            winner.add_tag("merged", at=T0, actor=AGENT)
            uow.tickets.save(winner)
            uow.commit()
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            loser = uow.tickets.get(second.id)
            _arrive(loser, moved, source)  # stale: it is on ``first`` now
            loser.add_tag("merged", at=T0, actor=AGENT)
            uow.tickets.save(loser)
            uow.commit()
        on_source, on_first, on_second = _log(storage, source.id, first.id, second.id)
        assert (on_source, on_second) == ([], [])
        assert on_first == [attrs.evolve(moved, ticket_id=first.id)]
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.tickets.get(second.id).version == 1

    def test_two_units_moving_one_article_at_once_exactly_one_wins(
        self, storage: Storage
    ) -> None:
        # The targets differ, so only the arrival's check can stop the second move: whether
        # it waits for the first (row or database locks) or both run and the first to commit
        # wins (the in-memory store), the article ends on exactly one of them.
        source, first, second = open_ticket(), open_ticket(), open_ticket()
        moved = _note(source, "moved", 1)
        store_tickets(storage, [source, first, second])
        def move(uow: Any, target: Ticket) -> None:
            loaded = uow.tickets.get(target.id)
            _arrive(loaded, moved, source)
            loaded.add_tag("merged", at=T0, actor=AGENT)
            uow.tickets.save(loaded)

        targets = {"first": first, "second": second}
        winner, loser = _race(storage, lambda uow, name: move(uow, targets[name]))
        ids = {"first": first.id, "second": second.id}
        on_source, on_winner, on_loser = _log(storage, source.id, ids[winner], ids[loser])
        assert (on_source, on_loser) == ([], [])
        assert on_winner == [attrs.evolve(moved, ticket_id=ids[winner])]
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.tickets.get(ids[loser]).version == 1

    def test_arrivals_on_a_new_ticket_split_articles_off(self, storage: Storage) -> None:
        source = open_ticket()
        stays = _note(source, "stays", 1)
        goes = _note(source, "goes", 2)
        store_tickets(storage, [source])
        split = open_ticket()
        fresh = _note(split, "split note", 3)
        _arrive(split, goes, source)
        with storage.unit_of_work() as uow:
            left = uow.tickets.get(source.id)
            left.add_tag("split", at=T0, actor=AGENT)
            uow.tickets.save(left)
            uow.tickets.add(split)
            uow.commit()
        assert split.version == 1
        assert split.pending_arrivals == []
        on_source, on_split = _log(storage, source.id, split.id)
        assert on_source == [stays]
        assert on_split == [attrs.evolve(goes, ticket_id=split.id), fresh]
        # A split from the wrong ticket adds nothing, not even the ticket.
        wrong = open_ticket()
        _arrive(wrong, stays, split)
        with storage.unit_of_work() as uow:
            with pytest.raises(ConcurrencyError):
                uow.tickets.add(wrong)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow, pytest.raises(TicketNotFound):
            uow.tickets.get(wrong.id)
        assert _log(storage, source.id, split.id, wrong.id) == [on_source, on_split, []]

    def test_an_article_added_in_the_same_unit_can_move(self, storage: Storage) -> None:
        source, target = open_ticket(), open_ticket()
        store_tickets(storage, [source, target])
        with storage.unit_of_work() as uow:
            left = uow.tickets.get(source.id)
            note = _note(left, "new here", 1)
            uow.tickets.save(left)
            loaded = uow.tickets.get(target.id)
            _arrive(loaded, note, left)
            loaded.add_tag("merged", at=T0, actor=AGENT)
            uow.tickets.save(loaded)
            uow.commit()
        assert _log(storage, source.id, target.id) == [
            [], [attrs.evolve(note, ticket_id=target.id)]]


class TestTicketQueue:
    # A fresh store per example. The same class may be collected by several test modules of
    # one session (one per adapter); its instances are interchangeable executors.
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])
    @given(data=st.data())
    def test_queue_matches_the_reference_rules(self, helpdesk_backend: Backend,
                                               data: Any) -> None:
        tickets = [
            open_ticket(**kw) for kw in data.draw(
                st.lists(strategies.ticket_kwargs(), min_size=0, max_size=12)
            )
        ]
        query = data.draw(strategies.queries())
        with helpdesk_backend.fresh_storage() as storage:
            store_tickets(storage, tickets)
            everything = query.apply(tickets)
            expected = [t.id for t in TicketQuery(**{**query_fields(query), "limit": 500})
                        .apply(tickets).items]
            assert [t.id for t in all_pages(storage, query)] == expected
            with storage.unit_of_work(read_only=True) as uow:
                first = uow.tickets.query(query)
        assert [t.id for t in first.items] == [t.id for t in everything.items]
        assert (first.next_cursor is None) == (everything.next_cursor is None)

    def test_queue_filters(self, storage: Storage) -> None:
        a = open_ticket(team="t-filter", assignee="alice", incident_type="complaint/damaged",
                        customer_id="c1", priority=Priority.HIGH, tags=["vip"])
        b = open_ticket(team="t-filter", incident_type="complaint", customer_id="c2",
                        priority=Priority.LOW)
        c = open_ticket(team="t-filter", assignee="bob", incident_type="question")
        c.transition("closed", workflow=WORKFLOW, at=T0, actor=AGENT)
        store_tickets(storage, [a, b, c])

        def ids(**kwargs: Any) -> set[str]:
            with storage.unit_of_work(read_only=True) as uow:
                page = uow.tickets.query(TicketQuery(team="t-filter", **kwargs))
            return {t.id for t in page.items}

        assert ids() == {a.id, b.id, c.id}
        assert ids(assignee="alice") == {a.id}
        assert ids(unassigned=True) == {b.id}
        assert ids(incident_type="complaint") == {a.id, b.id}
        assert ids(incident_type="complaint/damaged") == {a.id}
        assert ids(customer_id="c2") == {b.id}
        assert ids(priorities=frozenset({Priority.HIGH, Priority.URGENT})) == {a.id}
        assert ids(tags=frozenset({"vip"})) == {a.id}
        assert ids(status_categories=frozenset({StatusCategory.CLOSED})) == {c.id}
        d = open_ticket(team="t-other", assignee="alice")
        e = open_ticket(team="t-other", assignee="bob")
        f = open_ticket(assignee="alice")
        store_tickets(storage, [d, e, f])

        def visible(teams: set[str], assignee: str | None, **kwargs: Any) -> set[str]:
            query = TicketQuery(visible_to=Visibility(teams=teams, assignee=assignee),
                                **kwargs)
            with storage.unit_of_work(read_only=True) as uow:
                page = uow.tickets.query(query)
            return {t.id for t in page.items} & {a.id, b.id, c.id, d.id, e.id, f.id}

        assert visible({"t-filter"}, None) == {a.id, b.id, c.id}
        assert visible({"t-filter"}, "alice") == {a.id, b.id, c.id, d.id, f.id}
        assert visible(set(), "alice") == {a.id, d.id, f.id}
        assert visible({"t-filter", "t-other"}, None) == {a.id, b.id, c.id, d.id, e.id}
        assert visible(set(), None) == set()
        assert visible({"t-other"}, "bob", team="t-filter") == {c.id}
        with storage.unit_of_work(read_only=True) as uow:
            active = uow.tickets.query(TicketQuery.active(team="t-filter"))
        assert {t.id for t in active.items} == {a.id, b.id}

    def test_pages_neither_skip_nor_repeat_while_tickets_arrive(self, storage: Storage) -> None:
        store_tickets(storage, [open_ticket(team="t-page", at=T0 + timedelta(minutes=i))
                                for i in range(7)])
        query = TicketQuery(team="t-page", sort=QueueSort.OLDEST, limit=3)
        with storage.unit_of_work(read_only=True) as uow:
            first = uow.tickets.query(query)
        store_tickets(storage, [open_ticket(team="t-page", at=T0 - timedelta(days=1))])
        seen = [t.id for t in first.items]
        cursor = first.next_cursor
        while cursor:
            with storage.unit_of_work(read_only=True) as uow:
                page = uow.tickets.query(
                    TicketQuery(team="t-page", sort=QueueSort.OLDEST, limit=3, after=cursor))
            seen += [t.id for t in page.items]
            cursor = page.next_cursor
        assert len(seen) == len(set(seen)) == 7

    def test_a_garbage_cursor_is_a_validation_error(self, storage: Storage) -> None:
        with pytest.raises(ValidationError):
            TicketQuery(after="not-a-cursor")


def _race(storage: Storage, write: Any) -> tuple[str, str]:
    """Two units write at once — ``write(uow, "first")`` in this thread, ``write(uow,
    "second")`` in another while the first unit is open — and each commits. Whether the
    second waits for the first (row or database locks) or both run and the first to commit
    wins (the in-memory store), exactly one must lose with ConcurrencyError. Returns
    (winner, loser)."""
    outcomes: dict[str, BaseException | None] = {}

    def second_writer() -> None:
        try:
            with storage.unit_of_work() as uow:
                write(uow, "second")
                uow.commit()
            outcomes["second"] = None
        except BaseException as error:  # reported below
            outcomes["second"] = error

    with storage.unit_of_work() as uow:
        write(uow, "first")
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(0.5)  # it may finish meanwhile, or wait for this unit's locks
        try:
            uow.commit()
            outcomes["first"] = None
        except ConcurrencyError as error:
            outcomes["first"] = error
    thread.join(60)
    assert not thread.is_alive(), "the second writer never finished"
    lost = sorted(name for name, error in outcomes.items() if error is not None)
    assert len(lost) == 1, outcomes
    assert isinstance(outcomes[lost[0]], ConcurrencyError), outcomes
    [winner] = {"first", "second"} - set(lost)
    return winner, lost[0]
