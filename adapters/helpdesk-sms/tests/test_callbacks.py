"""Parsing Kannel's and Twilio's callbacks, and the WSGI app's answers (no gateway needed)."""

from __future__ import annotations

import io
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.errors import ValidationError
from helpdesk_core.sms import DeliveryStatus
from helpdesk_sms import (
    SmsCallbackApp,
    parse_kannel_dlr,
    parse_kannel_inbound,
    parse_twilio_status,
)
from helpdesk_sms.kannel import dlr_url_for
from sms_support import JANA_PHONE, T0


def test_a_kannel_dlr() -> None:
    report = parse_kannel_dlr(
        "ref=abc123&id=abc123&status=1&detail=&to=%2B420601234567&time=1796006410", now=T0)
    assert report.provider_id == report.reference == "abc123"
    assert report.status is DeliveryStatus.DELIVERED
    assert report.recipient == JANA_PHONE
    assert report.at == datetime.fromtimestamp(1796006410, UTC)


@pytest.mark.parametrize(("code", "status"), [
    ("1", DeliveryStatus.DELIVERED), ("2", DeliveryStatus.FAILED), ("4", DeliveryStatus.QUEUED),
    ("8", DeliveryStatus.ACCEPTED), ("16", DeliveryStatus.REJECTED),
])
def test_kannel_dlr_types(code: str, status: Any) -> None:
    assert parse_kannel_dlr({"ref": "r", "status": code}, now=T0).status is status


@pytest.mark.parametrize("query", ["status=1", "ref=r&status=3", "ref=r&status=x", "ref=r"])
def test_a_bad_kannel_dlr_is_refused(query: str) -> None:
    with pytest.raises(ValidationError):
        parse_kannel_dlr(query, now=T0)


def test_the_dlr_url_keeps_kannels_escapes_and_refuses_values_that_need_encoding() -> None:
    url = dlr_url_for("http://h/sms/kannel/dlr", reference="r1", provider_id="r1", token="t")
    assert url == ("http://h/sms/kannel/dlr?ref=r1&id=r1&status=%d&detail=%A&to=%p&time=%T"
                   "&key=t")
    with pytest.raises(Exception, match="DLR URL"):
        dlr_url_for("http://h/dlr", reference="a b%", provider_id="x")


def kannel_query(text: str, *, coding: str, charset: str, id_: str = "u-1") -> str:
    encoded = text.encode("utf-16-be" if charset == "UTF-16BE" else charset)
    return ("from=%2B420601234567&to=%2B420800123456&text="
            + urllib.parse.quote_from_bytes(encoded)
            + f"&coding={coding}&charset={charset}&id={id_}&time=1796006414")


@pytest.mark.parametrize(("coding", "charset"), [
    ("0", "UTF-8"), ("2", "UTF-16BE"), ("0", "ISO-8859-2"), ("0", "WINDOWS-1250"),
])
def test_kannel_inbound_text_in_any_charset_kannel_names(coding: str, charset: str) -> None:
    text = "Dobrý den, zásilka č. 42 nedorazila"
    sms = parse_kannel_inbound(kannel_query(text, coding=coding, charset=charset), now=T0)
    assert sms.text == text
    assert (sms.from_number, sms.to_number, sms.provider_id) == (
        JANA_PHONE, "+420800123456", "u-1")


def test_kannel_inbound_without_an_id_gets_a_stable_one() -> None:
    query = kannel_query("Ahoj", coding="0", charset="UTF-8").replace("&id=u-1", "")
    first = parse_kannel_inbound(query, now=T0)
    assert first.provider_id.startswith("kannel-")
    assert parse_kannel_inbound(query, now=T0).provider_id == first.provider_id


def test_twilio_statuses() -> None:
    report = parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "undelivered",
                                  "ErrorCode": "30003", "To": JANA_PHONE}, now=T0,
                                 reference="out-1")
    assert (report.status, report.detail, report.reference) == (
        DeliveryStatus.FAILED, "Twilio error 30003", "out-1")
    with pytest.raises(ValidationError):
        parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "lost"}, now=T0)


# -- the WSGI app, called directly --------------------------------------------------------


@pytest.fixture
def app(helpdesk: Helpdesk) -> SmsCallbackApp:
    return SmsCallbackApp(helpdesk, token="secret")


def call(app: SmsCallbackApp, path: str, query: str = "", *, method: str = "GET",
         body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[str, bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http", "HTTP_HOST": "helpdesk.test", "SCRIPT_NAME": "",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
    }
    seen: list[str] = []
    answer = b"".join(app(environ, lambda status, _headers: seen.append(status)))
    return seen[0], answer


def test_the_app_stores_an_inbound_sms_once(app: SmsCallbackApp, helpdesk: Helpdesk) -> None:
    query = kannel_query("Dobrý den", coding="0", charset="UTF-8") + "&key=secret"
    assert call(app, "/kannel/inbound", query) == ("200 OK", b"")
    assert call(app, "/kannel/inbound", query)[0] == "200 OK"
    [ticket] = helpdesk.tickets.queue().items
    assert [a.body_text for a in helpdesk.tickets.articles(ticket.id)] == ["Dobrý den"]


def test_the_app_refuses_a_wrong_key_bad_data_and_unknown_paths(
        app: SmsCallbackApp, helpdesk: Helpdesk) -> None:
    query = kannel_query("Ahoj", coding="0", charset="UTF-8")
    assert call(app, "/kannel/inbound", query + "&key=wrong")[0].startswith("403")
    assert call(app, "/kannel/inbound", query)[0].startswith("403")
    assert call(app, "/kannel/dlr", "key=secret&ref=r&status=99")[0].startswith("400")
    assert call(app, "/nothing")[0].startswith("404")
    assert call(app, "/kannel/dlr", method="PUT")[0].startswith("405")
    assert helpdesk.tickets.queue().items == []


def test_a_report_for_an_unknown_message_is_answered_ok(app: SmsCallbackApp) -> None:
    status, _ = call(app, "/kannel/dlr", "key=secret&ref=nobody&id=nobody&status=1")
    assert status == "200 OK"


def test_a_post_is_read_like_a_get(app: SmsCallbackApp, helpdesk: Helpdesk) -> None:
    body = kannel_query("Přes POST", coding="0", charset="UTF-8").encode() + b"&key=secret"
    status, _ = call(app, "/kannel/inbound", method="POST", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == "200 OK"
    first = helpdesk.tickets.queue().items[0]
    assert helpdesk.tickets.articles(first.id)[0].body_text == "Přes POST"
