"""sipgate pushes and Twilio callbacks read into call events, edge cases included."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from helpdesk_core.errors import ValidationError
from helpdesk_telephony import SipgateWebhook, parse_push, parse_status
from helpdesk_telephony.forms import parse_form
from helpdesk_telephony.sipgate import response_xml
from telephony_support import payload

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DE = SipgateWebhook(default_region="DE", agents={"1234567w0": "petra"})


def push(body: str, config: SipgateWebhook = DE):  # type: ignore[no-untyped-def]
    return parse_push(parse_form(body.encode()), at=AT, config=config)


def test_a_recorded_newcall() -> None:
    read = parse_push(parse_form(payload("sipgate/known_newcall.form")), at=AT, config=DE)
    event = read.call_event
    assert event is not None
    assert (event.kind, event.direction) == ("ringing", "inbound")
    assert (event.from_number, event.to_number) == ("+420601234567", "+4930123456")
    assert event.agent == "petra"  # the full user id is mapped


@pytest.mark.parametrize(("cause", "direction", "kind"), [
    ("normalClearing", "in", "ended"), ("cancel", "in", "missed"), ("noAnswer", "in", "missed"),
    ("busy", "in", "missed"), ("busy", "out", "ended"), ("noAnswer", "out", "ended"),
    ("forwarded", "in", "ended"), ("somethingNew", "in", "ended"),
])
def test_hangup_causes(cause: str, direction: str, kind: str) -> None:
    read = push(f"event=hangup&cause={cause}&callId=1&direction={direction}&from=4930123456"
                "&to=420601234567")
    assert read.call_event is not None
    assert read.call_event.kind == kind
    assert read.forwarded == (cause == "forwarded")


def test_outbound_numbers_and_line_regions() -> None:
    config = SipgateWebhook(default_region="DE", line_regions={"+420222111222": "CZ"})
    read = push("event=newCall&direction=out&from=420222111222&to=601234567&callId=9"
                "&user%5B%5D=Petra&userId%5B%5D=w0", config)
    assert read.call_event is not None
    assert read.call_event.to_number == "+420601234567"  # national, read in the line's region
    assert read.call_event.agent == "w0"  # unmapped: sipgate's own user id


def test_a_push_without_direction_after_the_newcall() -> None:
    read = push("event=answer&callId=1&user=Petra&userId=w0")
    assert read.call_event is not None
    assert read.call_event.kind == "answered"


@pytest.mark.parametrize("body", [
    "", "callId=1&direction=in", "event=newCall&direction=in",
    "event=newCall&callId=1&direction=sideways", "event=newCall&callId=1",
    "event=newCall&direction=in&callId=" + "x" * 201, "event=newCall&direction=in&callId=a%0Ab",
])
def test_refused_pushes(body: str) -> None:
    with pytest.raises(ValidationError):
        push(body)


def test_response_xml_escapes_urls() -> None:
    url = 'https://h/s?token=a&b="c"'
    root = ElementTree.fromstring(response_xml(on_answer=url, on_hangup=None))
    assert root.tag == "Response"
    assert root.attrib == {"onAnswer": url}


@pytest.mark.parametrize(("status", "direction", "kind"), [
    ("queued", "outbound-api", "ringing"), ("initiated", "outbound-api", "ringing"),
    ("ringing", "inbound", "ringing"), ("in-progress", "outbound-api", "answered"),
    ("completed", "outbound-api", "ended"), ("busy", "outbound-api", "ended"),
    ("failed", "outbound-api", "ended"), ("no-answer", "outbound-api", "ended"),
    ("canceled", "outbound-api", "ended"), ("no-answer", "inbound", "missed"),
    ("canceled", "inbound", "missed"),
])
def test_twilio_statuses(status: str, direction: str, kind: str) -> None:
    read = parse_status({"CallSid": ["CA1"], "CallStatus": [status], "Direction": [direction],
                         "From": ["+4930123456"], "To": ["+420601234567"]}, at=AT)
    assert read.event.kind == kind


def test_twilio_timestamps_and_withheld_callers() -> None:
    read = parse_status({"CallSid": ["CA1"], "CallStatus": ["ringing"],
                         "Direction": ["inbound"], "From": ["+266696687"],
                         "To": ["+4930123456"], "Timestamp": ["not a date"]}, at=AT)
    assert read.event.from_number is None
    assert read.event.at == AT


@pytest.mark.parametrize("form", [
    {}, {"CallSid": ["CA1"], "CallStatus": ["ringing"]},
    {"CallSid": ["CA1"], "CallStatus": ["exploded"], "Direction": ["inbound"]},
    {"CallSid": ["CA1"], "CallStatus": ["ringing"], "Direction": ["outbound-dial"],
     "ParentCallSid": ["x" * 300]},
])
def test_refused_twilio_callbacks(form: dict[str, list[str]]) -> None:
    with pytest.raises(ValidationError):
        parse_status(form, at=AT)
