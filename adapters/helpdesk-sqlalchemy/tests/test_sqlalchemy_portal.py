"""``helpdesk.portal`` on SQLite and PostgreSQL: a link's whole life, what its row holds, and a
customer's reply with a file stored in the reply's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from sqlalchemy import select

from helpdesk_core import Actor, Helpdesk, LinkRefused, Settings, TicketNotFound, bootstrap
from helpdesk_core.domain.portal import PortalUpload
from helpdesk_core.inmemory import FakeClock
from helpdesk_sqlalchemy.tables import blobs, portal_links

SECRET = "sql-portal-secret-" + "s" * 32
EVA = Actor.agent("eva", "Eva")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def desk(url: str, clock: FakeClock) -> Iterator[Helpdesk]:
    with bootstrap(Settings(database_url=url, portal_secret=SECRET),
                   clock=clock, environ={}) as helpdesk:
        yield helpdesk


def _refused(desk: Helpdesk, token: str) -> str:
    with pytest.raises(LinkRefused) as refused:
        desk.portal.open_link(token, caller="198.51.100.1")
    return refused.value.reason


def test_a_link_s_life_on_the_database(desk: Helpdesk, clock: FakeClock) -> None:
    ticket = desk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Hi"})
    jana = Actor.customer(ticket.customer_id)
    token = desk.portal.issue_link(ticket.number, actor=EVA, ttl=timedelta(hours=2))
    engine = desk.storage.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        [row] = connection.execute(select(portal_links)).mappings()
    assert token not in repr(dict(row))  # only its hash, never the token
    assert row["ticket_id"] == ticket.id
    assert desk.portal.open_link(token).actor.id == jana.id
    assert _refused(desk, token[:-1]) == "invalid"
    clock.advance(timedelta(hours=2))
    assert _refused(desk, token) == "expired"
    fresh = desk.portal.issue_link(ticket.number)
    with desk.storage.unit_of_work() as uow:
        contact = uow.contacts.get(jana.id or "")
        uow.contacts.update(attrs.evolve(contact, emails=("jana.new@example.cz",)))
        uow.commit()
    assert _refused(desk, fresh) == "email_changed"
    newest = desk.portal.issue_link(ticket.number)
    assert desk.portal.revoke_links(contact=jana.id) == 3  # expired ones count too
    assert _refused(desk, newest) == "revoked"


def test_a_customer_s_reply_and_file_commit_together(desk: Helpdesk) -> None:
    ticket = desk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Hi"})
    jana = Actor.customer(ticket.customer_id)
    engine = desk.storage.engine  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="body"):
        desk.portal.reply(ticket.number, "", actor=jana, files=[PortalUpload("a.png", PNG)])
    with engine.connect() as connection:
        assert list(connection.execute(select(blobs.c.key))) == []
    sent = desk.portal.reply(ticket.number, "photo", actor=jana,
                             files=[PortalUpload("a.png", PNG, "image/png")])
    got = desk.portal.download(ticket.number, sent.attachments[0].id, actor=jana)
    assert (got.data, got.content_type) == (PNG, "image/png")
    other = desk.tickets.open_from_web_form({"email": "petr@example.cz", "message": "Hi"})
    with pytest.raises(TicketNotFound):
        desk.portal.download(other.number, sent.attachments[0].id, actor=jana)
