"""TwilioSender against a local stand-in for the Messaging API; webhook signatures."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import DeliveryError
from helpdesk_core.sms import SmsPolicy
from helpdesk_sms import SmsCallbackApp, TwilioConfig, TwilioSender, signature, verify_signature
from kannel_server import free_ports
from sms_support import JANA_PHONE, OUR_NUMBER, T0

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token"


@attrs.define
class StandIn:
    """Answers each request with the next planned (status, body, delay); records requests."""

    server: ThreadingHTTPServer
    plan: list[tuple[int, Any, float]] = attrs.field(factory=list)
    requests: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    holder: list[StandIn] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            stand = holder[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            stand.requests.append({"path": self.path, "headers": dict(self.headers),
                                   "form": dict(urllib.parse.parse_qsl(body.decode()))})
            status, answer, delay = stand.plan.pop(0) if stand.plan else (
                201, {"sid": "SM00000000000000000000000000000001", "status": "queued"}, 0.0)
            time.sleep(delay)
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stand = StandIn(server)
    holder.append(stand)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stand
    server.shutdown()
    server.server_close()


def twilio(stand_in: StandIn, **overrides: Any) -> TwilioSender:
    values: dict[str, Any] = {"account_sid": SID, "auth_token": TOKEN, "sender": OUR_NUMBER,
                              "base_url": stand_in.url, "timeout": 2.0,
                              "status_callback": "https://helpdesk.example.cz/sms/twilio/status"}
    values.update(overrides)
    return TwilioSender(TwilioConfig(**values))


def test_send_posts_the_message_with_basic_auth(stand_in: StandIn) -> None:
    text = "Dobrý den, zásilka č. 42 je na cestě."
    sid = twilio(stand_in).send(to=JANA_PHONE, text=text, reference="out-1")
    assert sid == "SM00000000000000000000000000000001"
    [request] = stand_in.requests
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    scheme, credentials = request["headers"]["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{SID}:{TOKEN}"
    assert request["form"] == {
        "To": JANA_PHONE, "Body": text, "From": OUR_NUMBER,
        "StatusCallback": "https://helpdesk.example.cz/sms/twilio/status?ref=out-1"}


def test_a_messaging_service_and_the_policy(stand_in: StandIn) -> None:
    sender = twilio(stand_in, sender="MG0123", status_callback=None,
                    policy=SmsPolicy(transliterate=True))
    sender.send(to=JANA_PHONE, text="Žluťoučký kůň", reference="out-2")
    [request] = stand_in.requests
    assert request["form"] == {"To": JANA_PHONE, "Body": "Zlutoucky kun",
                               "MessagingServiceSid": "MG0123"}


@pytest.mark.parametrize(("status", "transient"), [
    (400, False), (401, False), (404, False), (429, True), (500, True), (503, True),
])
def test_error_answers(stand_in: StandIn, status: Any, transient: bool) -> None:
    stand_in.plan.append((status, {"code": 21211, "message": "Invalid 'To' Phone Number"}, 0))
    with pytest.raises(DeliveryError) as caught:
        twilio(stand_in).send(to=JANA_PHONE, text="x", reference="out-3")
    assert (caught.value.transient, caught.value.uncertain) == (transient, False)
    assert f"HTTP {status}" in str(caught.value)
    assert "21211" in str(caught.value)


def test_a_timeout_after_the_request_is_uncertain(stand_in: StandIn) -> None:
    stand_in.plan.append((201, {"sid": "SMlate"}, 1.5))
    with pytest.raises(DeliveryError) as caught:
        twilio(stand_in, timeout=0.3).send(to=JANA_PHONE, text="x", reference="out-4")
    assert (caught.value.transient, caught.value.uncertain) == (False, True)


def test_an_answer_without_a_sid_is_uncertain(stand_in: StandIn) -> None:
    stand_in.plan.append((201, b"not json", 0))
    with pytest.raises(DeliveryError) as caught:
        twilio(stand_in).send(to=JANA_PHONE, text="x", reference="out-5")
    assert caught.value.uncertain


def test_an_unreachable_api_is_transient() -> None:
    [port] = free_ports(1)
    sender = TwilioSender(TwilioConfig(account_sid=SID, auth_token=TOKEN, sender=OUR_NUMBER,
                                       base_url=f"http://127.0.0.1:{port}", timeout=1))
    with pytest.raises(DeliveryError) as caught:
        sender.send(to=JANA_PHONE, text="x", reference="out-6")
    assert (caught.value.transient, caught.value.uncertain) == (True, False)


def test_a_number_that_is_not_e164_is_refused_before_sending(stand_in: StandIn) -> None:
    with pytest.raises(DeliveryError) as caught:
        twilio(stand_in).send(to="601234567", text="x", reference="out-7")
    assert caught.value.transient is False
    assert stand_in.requests == []


# -- webhook signatures -------------------------------------------------------------------


def test_the_signature_of_twilios_documented_example() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert verify_signature("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify_signature("12345", url, {**params, "Digits": "1235"},
                                "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify_signature("54321", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify_signature("12345", url, params, "")


PUBLIC = "https://helpdesk.example.cz/sms"


def post(app: SmsCallbackApp, path: str, params: dict[str, str], *, query: str = "",
         sign: str | None = None) -> str:
    body = urllib.parse.urlencode(params).encode()
    url = PUBLIC + path + (f"?{query}" if query else "")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "HTTP_X_TWILIO_SIGNATURE": sign if sign is not None else signature(TOKEN, url, params),
    }
    seen: list[str] = []
    b"".join(app(environ, lambda status, _headers: seen.append(status)))
    return seen[0]


@pytest.fixture
def app(helpdesk: Helpdesk) -> SmsCallbackApp:
    return SmsCallbackApp(helpdesk, twilio_auth_token=TOKEN, public_url=PUBLIC + "/")


INBOUND = {"MessageSid": "SM1", "AccountSid": SID, "From": JANA_PHONE, "To": OUR_NUMBER,
           "Body": "Dobrý den, kde je zásilka?", "NumMedia": "0"}


def test_a_signed_inbound_sms_is_stored(app: SmsCallbackApp, helpdesk: Helpdesk) -> None:
    assert post(app, "/twilio/inbound", INBOUND) == "200 OK"
    [ticket] = helpdesk.tickets.queue().items
    assert ticket.channel is Channel.SMS
    texts = [a.body_text for a in helpdesk.tickets.articles(ticket.id)]
    assert texts == ["Dobrý den, kde je zásilka?"]


@pytest.mark.parametrize("forgery", ["missing", "wrong", "changed body", "other url"])
def test_a_forged_webhook_is_refused(app: SmsCallbackApp, helpdesk: Helpdesk, forgery: str) -> None:
    params = dict(INBOUND)
    sign = signature(TOKEN, PUBLIC + "/twilio/inbound", params)
    if forgery == "missing":
        sign = ""
    elif forgery == "wrong":
        sign = base64.b64encode(b"0" * 20).decode()
    elif forgery == "changed body":
        params["Body"] = "Pošlete peníze na účet 123"
    else:
        sign = signature(TOKEN, "https://elsewhere.example/twilio/inbound", params)
    assert post(app, "/twilio/inbound", params, sign=sign).startswith("403")
    assert helpdesk.tickets.queue().items == []


def test_a_signed_status_callback_updates_the_outbox(
        app: SmsCallbackApp, helpdesk: Helpdesk) -> None:
    opened = helpdesk.sms.receive(from_number=JANA_PHONE, to_number=OUR_NUMBER,
                         text="Dotaz", at=T0, provider_id="in-1")
    message = attrs.evolve(OutboxMessage.create(
        ticket_id=opened.ticket_id, kind="reply", channel=Channel.SMS, sender=OUR_NUMBER,
        recipients=(JANA_PHONE,), subject="", body_text="Odpověď", at=T0),
        provider_id="SM9", state=OutboxState.SENT, results={JANA_PHONE: "sent"})
    with helpdesk.storage.unit_of_work() as uow:
        uow.outbox.add(message)
        uow.commit()
    params = {"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30005",
              "To": JANA_PHONE}
    assert post(app, "/twilio/status", params, query=f"ref={message.id}") == "200 OK"
    with helpdesk.storage.unit_of_work(read_only=True) as uow:
        stored = uow.outbox.get(message.id)
    assert stored.state is OutboxState.FAILED
    assert stored.results == {JANA_PHONE: "failed: Twilio error 30005"}
