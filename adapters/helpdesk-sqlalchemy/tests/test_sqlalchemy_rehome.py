"""Moved articles (merge, undo, split) are written by one statement for all of them, and one
that is no longer where the move expects it still refuses the whole save."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from helpdesk_core.domain.article import Article, Direction
from helpdesk_core.domain.ticket import Arrival, Ticket
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import ConcurrencyError
from helpdesk_core.testing.builders import AGENT, T0, open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyStorage
from sa_support import driver_statements

MOVED = 60


def _notes(ticket: Ticket, count: int) -> list[Article]:
    return [ticket.add_article(direction=Direction.INTERNAL, channel=Channel.STAFF,
                               author=AGENT, body_text=f"note {i}",
                               at=T0 + timedelta(seconds=i)) for i in range(count)]


def _move(storage: SqlAlchemyStorage, target: Ticket, moves: list[tuple[Article, str]]) -> None:
    with storage.unit_of_work() as uow:
        loaded = uow.tickets.get(target.id)
        for article, source_id in moves:
            loaded.pending_arrivals.append(
                Arrival(attrs.evolve(article, ticket_id=target.id), from_ticket=source_id))
        loaded.add_tag("merged", at=T0, actor=AGENT)
        uow.tickets.save(loaded)
        uow.commit()


def test_many_arrivals_move_in_one_statement(storage: SqlAlchemyStorage) -> None:
    source, target = open_ticket(), open_ticket()
    notes = _notes(source, MOVED)
    store_tickets(storage, [source, target])
    with driver_statements() as seen:
        _move(storage, target, [(n, source.id) for n in notes])
    updates = [sql for sql, _ in seen if sql.startswith("UPDATE articles")]
    assert len(updates) == 1
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.articles(source.id) == []
        moved = uow.tickets.articles(target.id)
    assert [a.id for a in moved] == [n.id for n in notes]  # in their order


def test_one_arrival_from_the_wrong_ticket_refuses_them_all(
    storage: SqlAlchemyStorage,
) -> None:
    source, target, other = open_ticket(), open_ticket(), open_ticket()
    notes = _notes(source, MOVED)
    store_tickets(storage, [source, target, other])
    stray = notes[MOVED // 2]
    moves = [(n, other.id if n is stray else source.id) for n in notes]
    with pytest.raises(ConcurrencyError, match=f"article {stray.id} is no longer on ticket "
                                               f"{other.id}"):
        _move(storage, target, moves)
    with storage.unit_of_work(read_only=True) as uow:
        assert [a.id for a in uow.tickets.articles(source.id)] == [n.id for n in notes]
        assert uow.tickets.articles(target.id) == []
        assert uow.tickets.get(target.id).tags == frozenset()
