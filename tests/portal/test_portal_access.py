"""No customer reads or writes another's ticket through ``helpdesk.portal``, and "exists but
not yours" answers exactly as "does not exist"."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_support import EVA, T0, add_participant, customer_of, make_helpdesk, written

from helpdesk_core import Actor, Helpdesk, InvalidTransition, NotFound, TicketNotFound
from helpdesk_core.domain.portal import PortalUpload
from helpdesk_core.errors import PermissionDenied
from helpdesk_core.inmemory import FakeClock

EMAILS = ["jana@example.cz", "petr@example.cz", "eva.k@example.cz"]
OPERATIONS = ["ticket", "articles", "download", "download_note", "reply", "reopen", "close",
              "issue_link"]


def _world() -> tuple[Helpdesk, list[Actor], list[dict[str, Any]]]:
    """Three customers with two tickets each; Petr takes part in Jana's first ticket; every
    ticket has a public reply with a file and an internal note with a file."""
    desk = make_helpdesk(FakeClock(T0))
    customers = [customer_of(desk, email) for email in EMAILS]
    for email in EMAILS:
        desk.tickets.open_from_web_form({"email": email, "message": "Ještě jedna věc"})
    tickets = sorted(desk.tickets.queue().items, key=lambda t: t.number)
    add_participant(desk, tickets[0].number, EMAILS[1])
    world = []
    for ticket in tickets:
        upload = desk.tickets.add_attachment(data=ticket.number.encode(), filename="a.txt")
        note = desk.tickets.add_note(ticket.number, "internal", agent=EVA,
                                     attachments=[upload])
        public = desk.portal.reply(ticket.number, "public", actor=EVA,
                                   files=[PortalUpload("b.txt", ticket.number.encode())])
        owners = {ticket.customer_id} | ({customers[1].id} if ticket is tickets[0] else set())
        world.append({"ticket": ticket, "owners": owners, "note": f"{note.id}~0",
                      "file": public.attachments[0].id})
    return desk, customers, world


def _call(desk: Helpdesk, operation: str, key: str, actor: Actor, entry: dict[str, Any]) -> Any:
    portal = desk.portal
    if operation == "ticket":
        return portal.ticket(key, actor=actor)
    if operation == "articles":
        return portal.articles(key, actor=actor)
    if operation == "download":
        return portal.download(key, entry["file"], actor=actor)
    if operation == "download_note":
        return portal.download(key, entry["note"], actor=actor)
    if operation == "reply":
        return portal.reply(key, "hello", actor=actor, files=[PortalUpload("c.txt", b"c")])
    if operation == "reopen":
        return portal.reopen(key, actor=actor)
    if operation == "close":
        return portal.close(key, actor=actor)
    return portal.issue_link(key, actor=actor)


def _missing_key(key: str) -> str:
    """A key of the same shape that does not exist."""
    if key.startswith("HD-"):
        return key[:-6] + "9" * 6
    return "f" * len(key)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_customer_reads_or_writes_another_s_ticket(data: st.DataObject) -> None:
    desk, customers, world = _world()
    with desk:
        for _ in range(data.draw(st.integers(1, 6), label="calls")):
            actor = data.draw(st.sampled_from(customers), label="actor")
            entry = data.draw(st.sampled_from(world), label="ticket")
            operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
            ticket = entry["ticket"]
            key = data.draw(st.sampled_from([ticket.number, ticket.id]), label="key")
            mine = actor.id in entry["owners"]
            before = written(desk)
            if operation == "issue_link":  # agents' only: refused without reading the ticket
                with pytest.raises(PermissionDenied) as refused:
                    _call(desk, operation, key, actor, entry)
                assert refused.value.ticket is None
                assert written(desk) == before
                continue
            if not mine:
                with pytest.raises(TicketNotFound) as hidden:
                    _call(desk, operation, key, actor, entry)
                with pytest.raises(TicketNotFound) as absent:
                    _call(desk, operation, _missing_key(key), actor, entry)
                assert type(hidden.value) is type(absent.value) is TicketNotFound
                assert str(hidden.value) == f"no ticket {key!r}"
                assert str(absent.value) == f"no ticket {_missing_key(key)!r}"
                for error in (hidden.value, absent.value):
                    assert error.__cause__ is None
                    assert error.__context__ is None
                assert written(desk) == before  # nothing read for writing, nothing written
                continue
            if operation == "download_note":  # a note's file is never served, not even hers
                with pytest.raises(NotFound, match="no attachment") as refused:
                    _call(desk, operation, key, actor, entry)
                assert not isinstance(refused.value, TicketNotFound)
                continue
            try:
                result = _call(desk, operation, key, actor, entry)
            except InvalidTransition:  # a close of a closed ticket: the rules, not access
                assert operation in {"reopen", "close"}
                continue
            if operation == "articles":
                assert all(a.text != "internal" for a in result)
            if operation == "download":
                assert result.data == ticket.number.encode()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actor=st.integers(0, 2), asked=st.one_of(st.none(), st.integers(0, 2)),
       limit=st.integers(1, 3))
def test_a_customer_lists_only_their_own_tickets_whatever_they_ask_for(
        actor: int, asked: int | None, limit: int) -> None:
    desk, customers, world = _world()
    with desk:
        me = customers[actor]
        other = None if asked is None else customers[asked].id
        seen, cursor = [], None
        while True:
            page = desk.portal.my_tickets(actor=me, customer=other, limit=limit, after=cursor)
            seen += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        mine = sorted((e["ticket"] for e in world if e["ticket"].customer_id == me.id),
                      key=lambda t: (t.created_at, t.id), reverse=True)
        assert [t.number for t in seen] == [t.number for t in mine]  # newest first


def test_a_customer_without_an_id_has_no_tickets_and_opens_only_new_ones() -> None:
    desk, _customers, world = _world()
    with desk:
        stranger = Actor.customer(None)
        assert list(desk.portal.my_tickets(actor=stranger).items) == []
        key = world[0]["ticket"].number
        with pytest.raises(TicketNotFound, match=key):
            desk.portal.ticket(key, actor=stranger)
        opened = desk.portal.open_ticket({"email": "new@example.cz", "message": "Hi"},
                                         actor=stranger, caller="203.0.113.9")
        assert opened.status == "new"


def test_a_signed_in_customer_s_web_form_is_theirs_whatever_email_it_names() -> None:
    desk = make_helpdesk()
    with desk:
        jana = customer_of(desk, "jana@example.cz")
        customer_of(desk, "petr@example.cz")
        opened = desk.portal.open_ticket({"email": "petr@example.cz", "message": "I am Petr"},
                                         actor=jana)
        assert desk.tickets.get(opened.number).customer_id == jana.id


def test_staff_list_a_customer_s_tickets_only_when_they_name_one() -> None:
    desk = make_helpdesk()
    with desk:
        jana = customer_of(desk, "jana@example.cz")
        assert len(desk.portal.my_tickets(actor=EVA, customer=jana.id).items) == 1
        assert len(desk.portal.my_tickets(customer=jana.id).items) == 1
        with pytest.raises(ValueError, match="customer"):
            desk.portal.my_tickets(actor=EVA)
