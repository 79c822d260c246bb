"""Recorded sipgate.io pushes replayed through a real HTTP server."""

from __future__ import annotations

from datetime import timedelta

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.intake import StaffVia
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.inmemory import FakeClock
from telephony_support import JANA, LINE, StartApp, payload

KNOWN = "7E2A4C1B9F30D8E51A6C"
ANONYMOUS = "3B9D0E7F21C4A85B6D02"
MISSED = "5F1C8A2E94B07D3C6E18"


def test_a_known_customer_rings_and_the_agent_records_the_call(
    start_app: StartApp, helpdesk: Helpdesk, clock: FakeClock
) -> None:
    open_ticket = helpdesk.tickets.open_by_staff(
        agent=Actor.agent("petra"), via=StaffVia.PHONE, subject="Kettle leaks",
        message="The lid does not close.", customer_email="jana@example.cz").number
    running = start_app()

    answer = running.post_form("/sipgate", payload("sipgate/known_newcall.form"))
    assert answer.status == 200
    assert answer.content_type == "application/xml"
    subscription = f"{running.url}/sipgate"
    assert (f'<Response onAnswer="{subscription}" onHangup="{subscription}" />'
            in answer.body.decode())

    pops = running.agent("/screen-pops").json()["calls"]
    assert len(pops) == 1
    assert pops[0]["call"]["state"] == "ringing"
    assert pops[0]["call"]["agent"] == "petra"  # sipgate user w0
    pop = pops[0]["screen_pop"]
    assert pop["number"] == JANA
    assert pop["contact"]["name"] == "Jana Nováková"
    assert pop["organisation"]["name"] == "Kavárna Nováková"
    assert [t["number"] for t in pop["open_tickets"]] == [open_ticket]
    assert [o["number"] for o in pop["recent_orders"]] == ["2026-00042", "2026-00041"]
    assert running.pushed == [pop]  # handed to the host's push as well

    clock.advance(seconds=8)
    assert running.post_form("/sipgate", payload("sipgate/known_answer.form")).status == 200
    clock.advance(seconds=150)
    assert running.post_form("/sipgate", payload("sipgate/known_hangup.form")).status == 200
    call = running.agent(f"/calls/{KNOWN}").json()["call"]
    assert call["state"] == "ended"
    assert call["outcome"] == "answered"
    assert call["duration_seconds"] == 150
    assert call["from"] == JANA
    assert call["to"] == LINE

    recorded = running.agent(f"/calls/{KNOWN}/record", body={
        "summary": "Replacement lid agreed; ships on Monday.", "ticket": open_ticket}).json()
    assert recorded["ticket_number"] == open_ticket
    assert recorded["new"] is True
    article = helpdesk.tickets.articles(open_ticket)[-1]
    assert article.channel is Channel.PHONE
    assert article.direction is Direction.INBOUND
    assert article.author.id == "petra"
    assert article.body_text == "Replacement lid agreed; ships on Monday."
    assert article.meta["provider_call_id"] == KNOWN
    assert article.meta["duration_seconds"] == "150"
    assert running.agent("/screen-pops").json()["calls"] == []  # recorded: forgotten

    # The same pushes delivered again record nothing twice.
    for name in ("known_newcall", "known_answer", "known_hangup"):
        assert running.post_form("/sipgate", payload(f"sipgate/{name}.form")).status == 200
    assert running.agent("/screen-pops").json()["calls"] == []
    assert len(helpdesk.tickets.articles(open_ticket)) == 2


def test_an_anonymous_caller_is_an_unknown_caller(
    start_app: StartApp, helpdesk: Helpdesk, clock: FakeClock
) -> None:
    running = start_app()
    assert running.post_form("/sipgate", payload("sipgate/anonymous_newcall.form")).status == 200
    (shown,) = running.agent("/screen-pops", agent="tomas").json()["calls"]
    assert shown["call"]["agent"] is None  # a group call rings for everybody
    assert shown["screen_pop"]["number"] is None
    assert shown["screen_pop"]["contact"] is None
    assert shown["screen_pop"]["open_tickets"] == []
    clock.advance(seconds=3)
    running.post_form("/sipgate", payload("sipgate/anonymous_answer.form"))
    clock.advance(seconds=42)
    running.post_form("/sipgate", payload("sipgate/anonymous_hangup.form"))
    # Tomáš (w1) answered: the call is his now, not Petra's.
    assert running.agent("/screen-pops", agent="petra").json()["calls"] == []
    recorded = running.agent(f"/calls/{ANONYMOUS}/record", agent="tomas",
                             body={"summary": "Asked for the opening hours."}).json()
    ticket = helpdesk.tickets.get(recorded["ticket_number"])
    assert ticket.customer_id is None
    assert ticket.subject == "Call from a withheld number"
    (article,) = helpdesk.tickets.articles(recorded["ticket_number"])
    assert article.meta["from"] == ""
    assert article.meta["agent"] == "tomas"


def test_a_missed_call_from_a_known_customer_opens_a_callback_ticket(
    start_app: StartApp, helpdesk: Helpdesk, clock: FakeClock
) -> None:
    running = start_app()
    running.post_form("/sipgate", payload("sipgate/missed_newcall.form"))
    clock.advance(seconds=25)
    assert running.post_form("/sipgate", payload("sipgate/missed_hangup.form")).status == 200
    (ticket,) = helpdesk.tickets.queue().items
    assert ticket.tags == frozenset({"callback"})
    assert ticket.channel is Channel.PHONE
    (note,) = helpdesk.tickets.articles(ticket.number)
    assert note.direction is Direction.INTERNAL
    assert note.meta["provider_call_id"] == MISSED
    assert note.meta["outcome"] == "missed"
    assert "it rang for 25 s" in note.body_text
    assert running.agent("/screen-pops").json()["calls"] == []

    # The hangup delivered again, and the whole call again: still one note.
    running.post_form("/sipgate", payload("sipgate/missed_hangup.form"))
    running.post_form("/sipgate", payload("sipgate/missed_newcall.form"))
    running.post_form("/sipgate", payload("sipgate/missed_hangup.form"))
    assert len(helpdesk.tickets.queue().items) == 1
    assert len(helpdesk.tickets.articles(ticket.number)) == 1


def test_a_secret_token_guards_the_push_url(start_app: StartApp, helpdesk: Helpdesk) -> None:
    from helpdesk_telephony import SipgateWebhook

    running = start_app(sipgate=SipgateWebhook(default_region="DE", token="s3cr3t"))
    body = payload("sipgate/missed_newcall.form")
    assert running.post_form("/sipgate", body).status == 403
    assert running.post_form("/sipgate?token=wrong", body).status == 403
    assert running.agent("/screen-pops").json()["calls"] == []
    answer = running.post_form("/sipgate?token=s3cr3t", body)
    assert answer.status == 200
    assert f'onHangup="{running.url}/sipgate?token=s3cr3t"' in answer.body.decode()


def test_bad_requests(start_app: StartApp) -> None:
    running = start_app()
    assert running.post_form("/sipgate", b"event=newCall&direction=in").status == 400
    assert running.post_form("/sipgate", b"event=transfer&callId=1&direction=in").status == 400
    assert running.post_form("/sipgate", b"\xff\xfe").status == 400
    assert running.post_form("/sipgate", b"x" * 70_000).status == 413
    assert running.post_form("/sipgate", b"event=dtmf&callId=1&dtmf=5").status == 200
    assert running.agent("/screen-pops", agent="").status == 401
    assert running.agent("/calls/unknown").status == 404
    assert running.agent("/calls/unknown/record", body={"summary": "x"}).status == 404
    assert running.agent("/nowhere").status == 404


def test_a_call_still_ringing_has_no_summary_yet(start_app: StartApp,
                                                 clock: FakeClock) -> None:
    running = start_app()
    running.post_form("/sipgate", payload("sipgate/known_newcall.form"))
    clock.advance(timedelta(seconds=5))
    answer = running.agent(f"/calls/{KNOWN}/record", body={"summary": "Too early."})
    assert answer.status == 409


def test_agent_routes_are_not_served_without_authorize(start_app: StartApp) -> None:
    running = start_app(authorize=None)
    assert running.agent("/screen-pops").status == 404
