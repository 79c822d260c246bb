"""Click-to-call against local stand-ins of Twilio's and sipgate's REST APIs."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from helpdesk_core.errors import ConfigurationError, DeliveryError, ValidationError
from helpdesk_core.plugins.registry import Registry
from helpdesk_core.settings import Settings
from helpdesk_telephony import SipgateClickToCall, TwilioClickToCall, plugin
from telephony_support import StartApp

SID = "AC5f3a9c0d2b7e4f6a8c1d3e5f7a9b0c2d"


@dataclass
class StandIn:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def api() -> Iterator[StandIn]:
    stand_in = StandIn(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stand_in.requests.append({"method": self.command, "path": self.path,
                                      "auth": self.headers["Authorization"],
                                      "type": self.headers["Content-Type"], "body": body})
            data = json.dumps(stand_in.answer).encode()
            self.send_response(stand_in.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    stand_in.url = f"http://127.0.0.1:{server.server_port}"
    yield stand_in
    server.shutdown()
    server.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def twilio(api: StandIn) -> TwilioClickToCall:
    return TwilioClickToCall(account_sid=SID, auth_token="tok", caller_id="+4930123456",
                             agents={"petra": "client:petra", "olga": "+420777123456"},
                             status_callback="https://helpdesk.example.com/telephony/twilio/"
                             "status", base_url=api.url, default_region="CZ")


def test_twilio_calls_api(api: StandIn) -> None:
    api.answer = {"sid": "CA4a7d0b3e6c9f2a5d8b1e4c7f0a3d6b9e", "status": "queued"}
    assert twilio(api).click_to_call(agent="petra", number="601 234 567") == \
        "CA4a7d0b3e6c9f2a5d8b1e4c7f0a3d6b9e"
    (sent,) = api.requests
    assert sent["method"] == "POST"
    assert sent["path"] == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert sent["auth"] == basic(SID, "tok")
    assert sent["type"] == "application/x-www-form-urlencoded"
    form = urllib.parse.parse_qs(sent["body"].decode())
    assert form["To"] == ["+420601234567"]
    assert form["From"] == ["+4930123456"]
    assert form["Twiml"] == ['<Response><Dial callerId="+4930123456"><Client>petra</Client>'
                             '</Dial></Response>']
    assert form["StatusCallback"] == [
        "https://helpdesk.example.com/telephony/twilio/status?agent=petra"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]


def test_twilio_dials_an_agents_phone(api: StandIn) -> None:
    api.answer = {"sid": "CA1"}
    twilio(api).click_to_call(agent="olga", number="+420601234567")
    form = urllib.parse.parse_qs(api.requests[0]["body"].decode())
    assert "<Number>+420777123456</Number>" in form["Twiml"][0]


def test_sipgate_sessions_calls(api: StandIn) -> None:
    api.answer = {"sessionId": "7E2A4C1B9F30D8E51A6C"}
    client = SipgateClickToCall(token_id="token-ABC123", token="secret",
                                devices={"petra": "e0"}, caller_id="+4930123456",
                                base_url=api.url + "/v2")
    assert client.click_to_call(agent="petra", number="0049 30 1234567") == \
        "7E2A4C1B9F30D8E51A6C"
    (sent,) = api.requests
    assert sent["method"] == "POST"
    assert sent["path"] == "/v2/sessions/calls"
    assert sent["auth"] == basic("token-ABC123", "secret")
    assert sent["type"] == "application/json"
    assert json.loads(sent["body"]) == {"deviceId": "e0", "caller": "e0",
                                        "callee": "+49301234567", "callerId": "+4930123456"}


def test_refusals(api: StandIn) -> None:
    client = SipgateClickToCall(token_id="t", token="s", devices={"petra": "e0"},
                                base_url=api.url)
    with pytest.raises(ConfigurationError):
        client.click_to_call(agent="nobody", number="+420601234567")
    with pytest.raises(ValidationError):
        client.click_to_call(agent="petra", number="anonymous")
    assert api.requests == []
    api.status, api.answer = 401, {"error": "unauthorized"}
    with pytest.raises(DeliveryError) as refused:
        client.click_to_call(agent="petra", number="+420601234567")
    assert not refused.value.transient
    api.status = 503
    with pytest.raises(DeliveryError) as unavailable:
        client.click_to_call(agent="petra", number="+420601234567")
    assert unavailable.value.transient
    api.status, api.answer = 200, {}
    with pytest.raises(DeliveryError):
        client.click_to_call(agent="petra", number="+420601234567")


def test_unreachable_api() -> None:
    client = SipgateClickToCall(token_id="t", token="s", devices={"petra": "e0"},
                                base_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(DeliveryError) as failed:
        client.click_to_call(agent="petra", number="+420601234567")
    assert failed.value.transient


def test_click_to_call_through_the_app(start_app: StartApp, api: StandIn) -> None:
    api.answer = {"sid": "CA77"}
    running = start_app(telephony=twilio(api))
    assert running.agent("/calls", body={"number": "+420601234567"}).json() == {
        "call_id": "CA77"}
    assert urllib.parse.parse_qs(api.requests[0]["body"].decode())["To"] == ["+420601234567"]
    assert running.agent("/calls", body={"number": "anonymous"}).status == 400
    api.status = 500
    assert running.agent("/calls", body={"number": "+420601234567"}).status == 502


def test_the_plugin_registers_both_adapters() -> None:
    registry = Registry()
    plugin.helpdesk_register(registry)
    assert registry.telephony.names() == ["sipgate", "twilio"]
    settings = Settings(storage="memory", options={
        "twilio": {"account_sid": SID, "auth_token": "tok", "caller_id": "+4930123456",
                   "agents": {"petra": "client:petra"}},
        "sipgate": {"token_id": "t", "token": "s", "devices": {"petra": "e0"}}})
    assert isinstance(registry.telephony.create("twilio", settings), TwilioClickToCall)
    assert isinstance(registry.telephony.create("sipgate", settings), SipgateClickToCall)
    with pytest.raises(ConfigurationError):
        registry.telephony.create("twilio", Settings(storage="memory"))
    with pytest.raises(ConfigurationError):
        registry.telephony.create("sipgate", Settings(storage="memory",
                                                      options={"sipgate": {"bogus": 1}}))
