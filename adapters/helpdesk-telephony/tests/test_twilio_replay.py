"""Recorded Twilio Voice requests replayed through a real HTTP server, signed like Twilio signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import UTC, datetime

import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.intake import StaffVia
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.inmemory import FakeClock
from helpdesk_telephony import signature, verify_signature
from telephony_support import AUTH_TOKEN, JANA, VOICE_TWIML, Answer, Running, StartApp, payload

PARENT = "CA8d1e4b7f0a3c6e9d2b5f8a1c4e7d0b3a"
MISSED = "CA6e9b2d5a8f1c4e7b0d3a6f9c2e5b8d1a"
OUTBOUND = "CA4a7d0b3e6c9f2a5d8b1e4c7f0a3d6b9e"


def twilio_signature(url: str, body: bytes) -> str:
    """Written out here from Twilio's description, independently of the adapter's code."""
    params = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    text = url + "".join(k + v for k, v in sorted(params))
    mac = hmac.new(AUTH_TOKEN.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def replay(running: Running, path: str, name: str) -> Answer:
    body = payload(f"twilio/{name}.form")
    url = running.url + path
    return running.post_form(path, body, **{"X-Twilio-Signature": twilio_signature(url, body)})


def test_an_inbound_call_pops_the_screen_and_is_recorded(
    start_app: StartApp, helpdesk: Helpdesk, clock: FakeClock
) -> None:
    running = start_app()
    answer = replay(running, "/twilio/voice", "known_voice_ringing")
    assert answer.status == 200
    assert answer.body == VOICE_TWIML  # the host's routing of the call
    (shown,) = running.agent("/screen-pops").json()["calls"]
    assert shown["screen_pop"]["contact"]["name"] == "Jana Nováková"
    assert shown["screen_pop"]["number"] == JANA
    assert [o["summary"] for o in shown["screen_pop"]["recent_orders"]] == [
        "Kettle", "Coffee grinder"]
    assert running.pushed == [shown["screen_pop"]]

    # The <Dial> leg Petra took the call on reports under the inbound call's sid.
    assert replay(running, "/twilio/status", "known_dial_in_progress").status == 200
    assert replay(running, "/twilio/status", "known_dial_completed").status == 200
    call = running.agent(f"/calls/{PARENT}").json()["call"]
    assert call["outcome"] == "answered"
    assert call["agent"] == "petra"
    assert call["duration_seconds"] == 180  # 09:00:12 to 09:03:12, Twilio's timestamps

    recorded = running.agent(f"/calls/{PARENT}/record", body={
        "summary": "Refund of the kettle agreed."}).json()
    assert recorded["new"] is True
    ticket = helpdesk.tickets.get(recorded["ticket_number"])
    assert ticket.channel is Channel.PHONE
    assert ticket.customer_id is not None
    (article,) = helpdesk.tickets.articles(ticket.number)
    assert article.direction is Direction.INBOUND
    assert article.external_id == f"call:{PARENT}"
    assert article.meta["answered_at"] == "2026-03-02T09:00:12+00:00"

    # Replayed: the same callbacks record nothing twice.
    for path, name in (("/twilio/voice", "known_voice_ringing"),
                       ("/twilio/status", "known_dial_in_progress"),
                       ("/twilio/status", "known_dial_completed")):
        assert replay(running, path, name).status == 200
    assert running.agent("/screen-pops").json()["calls"] == []
    assert len(helpdesk.tickets.queue().items) == 1
    again = running.agent(f"/calls/{PARENT}/record", body={"summary": "Once more."})
    assert again.status == 404  # nothing waits for a summary any more


def test_nobody_answered_opens_a_callback_ticket(start_app: StartApp, helpdesk: Helpdesk,
                                                 clock: FakeClock) -> None:
    running = start_app()
    clock.set(datetime(2026, 3, 2, 9, 10, tzinfo=UTC))
    replay(running, "/twilio/voice", "missed_voice_ringing")
    assert replay(running, "/twilio/status", "missed_dial_no_answer").status == 200
    (ticket,) = helpdesk.tickets.queue().items
    assert ticket.tags == frozenset({"callback"})
    (note,) = helpdesk.tickets.articles(ticket.number)
    assert note.direction is Direction.INTERNAL
    assert note.meta["provider_call_id"] == MISSED
    assert "it rang for 25 s" in note.body_text
    replay(running, "/twilio/status", "missed_dial_no_answer")
    assert len(helpdesk.tickets.articles(ticket.number)) == 1


def test_an_unanswered_click_to_call_is_noted_on_the_customers_ticket(
    start_app: StartApp, helpdesk: Helpdesk
) -> None:
    number = helpdesk.tickets.open_by_staff(agent=Actor.agent("petra"), via=StaffVia.PHONE,
                                    subject="Kettle leaks", message="Lid broken.",
                                    customer_email="jana@example.cz").number
    running = start_app()
    replay(running, "/twilio/status?agent=petra", "outbound_ringing")
    (shown,) = running.agent("/screen-pops").json()["calls"]
    assert shown["call"]["direction"] == "outbound"
    assert shown["call"]["agent"] == "petra"  # from the signed callback URL
    assert shown["screen_pop"]["contact"]["name"] == "Jana Nováková"
    replay(running, "/twilio/status?agent=petra", "outbound_no_answer")
    note = helpdesk.tickets.articles(number)[-1]
    assert note.direction is Direction.INTERNAL
    assert note.meta["outcome"] == "not_connected"
    assert note.meta["provider_call_id"] == OUTBOUND
    assert note.body_text.startswith("Call to Jana Nováková, +420601234567")


@pytest.mark.parametrize("forge", ["missing", "wrong-token", "tampered-body", "other-url",
                                   "garbage"])
def test_forged_signatures_are_refused(start_app: StartApp, helpdesk: Helpdesk,
                                       forge: str) -> None:
    running = start_app()
    body = payload("twilio/known_voice_ringing.form")
    url = running.url + "/twilio/voice"
    headers = {"X-Twilio-Signature": twilio_signature(url, body)}
    if forge == "missing":
        headers = {}
    elif forge == "wrong-token":
        headers["X-Twilio-Signature"] = signature("not-the-token", url, {})
    elif forge == "tampered-body":
        body = body.replace(b"%2B420601234567", b"%2B420601234568")
    elif forge == "other-url":
        headers["X-Twilio-Signature"] = twilio_signature(running.url + "/twilio/status", body)
    else:
        headers["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl\u00e9"
    answer = running.post_form("/twilio/voice", body, **headers)
    assert answer.status == 403
    assert VOICE_TWIML not in answer.body
    assert running.agent("/screen-pops").json()["calls"] == []
    assert running.pushed == []
    assert helpdesk.tickets.queue().items == []


def test_a_status_callback_with_a_forged_signature_records_nothing(
    start_app: StartApp, helpdesk: Helpdesk
) -> None:
    running = start_app()
    replay(running, "/twilio/voice", "missed_voice_ringing")
    body = payload("twilio/missed_dial_no_answer.form")
    forged = running.post_form("/twilio/status", body, **{"X-Twilio-Signature": "AAAA"})
    assert forged.status == 403
    assert helpdesk.tickets.queue().items == []


def test_behind_a_proxy_the_public_url_is_signed(start_app: StartApp) -> None:
    running = start_app(public_url="https://helpdesk.example.com/telephony")
    body = payload("twilio/known_voice_ringing.form")
    public = "https://helpdesk.example.com/telephony/twilio/voice"
    assert running.post_form("/twilio/voice", body, **{
        "X-Twilio-Signature": twilio_signature(public, body)}).status == 200
    # Proxies disagree on the default port; both spellings are Twilio's URL.
    with_port = "https://helpdesk.example.com:443/telephony/twilio/voice"
    assert running.post_form("/twilio/voice", body, **{
        "X-Twilio-Signature": twilio_signature(with_port, body)}).status == 200
    assert running.post_form("/twilio/voice", body, **{
        "X-Twilio-Signature": twilio_signature(running.url + "/twilio/voice", body)
    }).status == 403


def test_signature_of_repeated_parameters() -> None:
    params = {"b": ["2", "1"], "a": ["x"]}
    url = "https://example.com/hook?q=1"
    text = url + "ax" + "b1" + "b2"
    expected = base64.b64encode(hmac.new(b"tok", text.encode(), hashlib.sha1).digest()).decode()
    assert signature("tok", url, params) == expected
    assert verify_signature("tok", url, params, expected)
    assert not verify_signature("", url, params, expected)
    assert not verify_signature("tok", url, params, None)
