"""Helpers for the telephony tests: a real HTTP server, recorded payloads, requests."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import WSGIApplication

from helpdesk_telephony import TelephonyApp

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "payloads"
AUTH_TOKEN = "12345678901234567890123456789012"
JANA = "+420601234567"
LINE = "+4930123456"
VOICE_TWIML = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Dial timeout="20">'
               b'<Client statusCallbackEvent="initiated ringing answered completed" '
               b'statusCallback="/telephony/twilio/status">petra</Client></Dial></Response>')


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(app: WSGIApplication) -> tuple[WSGIServer, str]:
    """Serve ``app`` on a free port in a thread; returns the server and its base URL."""
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
            method: str | None = None) -> Answer:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return Answer(answer.status, answer.read(), answer.headers["Content-Type"])
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), exc.headers["Content-Type"])


@dataclass
class Running:
    """The app, where it listens, and what it pushed to ``on_screen_pop``."""

    app: TelephonyApp
    url: str
    pushed: list[dict[str, Any]] = field(default_factory=list)

    def post_form(self, path: str, body: bytes, **headers: str) -> Answer:
        return request(self.url + path, data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", **headers})

    def agent(self, path: str, agent: str = "petra", body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        return request(self.url + path, data=data, headers={
            "X-Agent": agent, "Content-Type": "application/json"})


StartApp = Callable[..., Running]
