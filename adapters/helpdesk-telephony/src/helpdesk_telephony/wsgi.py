"""A WSGI app a host mounts (e.g. at ``/telephony``) for the PBX webhooks and the agent screen.

Webhooks (authenticated as the provider):

- ``POST /sipgate`` — sipgate.io pushes; answers ``newCall`` with XML subscribing to the call's
  answer and hangup. With ``SipgateWebhook.token`` set, pushes without ``?token=<it>`` get 403.
- ``POST /twilio/voice`` — the Voice URL of a Twilio number: the incoming call; answers with
  ``TwilioWebhook.voice_twiml``.
- ``POST /twilio/status`` — Twilio status callbacks (of click-to-call calls, and of the
  ``<Dial>`` leg an agent takes an inbound call on); answers an empty TwiML response.
  Both Twilio routes refuse a missing or forged ``X-Twilio-Signature`` with 403.

Agent routes (authenticated by the host's ``authorize(environ)``, which returns the agent's id
or None; without ``authorize`` they are not served):

- ``GET /screen-pops`` — the calls in progress or waiting for their summary that ring for this
  agent (or for a group), each with its screen pop, as JSON.
- ``GET /calls/<id>`` — one call and its screen pop.
- ``POST /calls/<id>/record`` — ``{"summary": ..., "ticket": optional number}``: stores the
  summary as the call article (see ``helpdesk.calls.record``).
- ``POST /calls`` — ``{"number": ...}``: click-to-call through the configured ``Telephony``.

While a call rings, its screen pop is kept in the :class:`CallStore` for the agent routes and,
if the host gave ``on_screen_pop``, handed to it at once (to push to the agent's browser).
A call that ends unanswered is recorded at once (``helpdesk.calls.record_missed``: a callback
ticket for a known customer); an answered call waits in the store for the agent's summary.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from wsgiref.util import application_uri, request_uri

from helpdesk_core import CallRecord, ScreenPop
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import (
    ConcurrencyError,
    DeliveryError,
    HelpdeskError,
    NotFound,
    ValidationError,
)
from helpdesk_core.ports.messaging import CallEvent, Telephony
from helpdesk_core.telephony import Call, CallOutcome
from helpdesk_telephony.forms import parse_form
from helpdesk_telephony.sipgate import SipgateWebhook, parse_push, response_xml
from helpdesk_telephony.store import CallStore, InMemoryCallStore
from helpdesk_telephony.twilio_voice import (
    EMPTY_TWIML,
    TwilioWebhook,
    parse_status,
    verify_signature,
)

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from helpdesk_core.app import Helpdesk

__all__ = ["TelephonyApp"]

log = logging.getLogger("helpdesk_telephony")
_CALL = re.compile(r"/calls/([^/]{1,200})(/record)?")
_STATUS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized",
           403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed",
           409: "409 Conflict", 413: "413 Content Too Large", 500: "500 Internal Server Error",
           502: "502 Bad Gateway"}


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class TelephonyApp:
    def __init__(
        self,
        helpdesk: Helpdesk,
        *,
        sipgate: SipgateWebhook | None = None,
        twilio: TwilioWebhook | None = None,
        store: CallStore | None = None,
        public_url: str | None = None,
        authorize: Callable[[WSGIEnvironment], str | None] | None = None,
        telephony: Telephony | None = None,
        on_screen_pop: Callable[[ScreenPop], None] | None = None,
        callback_tickets: bool = True,
        max_body: int = 64 * 1024,
    ) -> None:
        """``public_url`` is the URL the app is reachable at from outside (where it is
        mounted): Twilio signs the URL it called, which behind a proxy is not the one the app
        sees; sipgate is told to send answer and hangup pushes there."""
        self.helpdesk = helpdesk
        self.sipgate = sipgate
        self.twilio = twilio
        self.store: CallStore = store if store is not None else InMemoryCallStore()
        self.public_url = public_url.rstrip("/") if public_url else None
        self.authorize = authorize
        self.telephony = telephony
        self.on_screen_pop = on_screen_pop
        self.callback_tickets = callback_tickets
        self.max_body = max_body

    # -- the Python side ----------------------------------------------------------------------

    def feed(self, event: CallEvent, *, forwarded: bool = False) -> Call:
        """Take one event: pop the screen of a new call, record a call that ended unanswered."""
        calls = self.helpdesk.calls
        call = Call.from_events(self.store.add(event))
        call_id = call.provider_call_id
        if not call.finished and self.store.screen_pop(call_id) is None:
            pop = calls.screen_pop(event)
            self.store.set_screen_pop(call_id, pop.to_dict())
            if self.on_screen_pop is not None:
                try:
                    self.on_screen_pop(pop)
                except Exception:  # the host's push failing must not lose the call
                    log.exception("on_screen_pop failed for call %s", call_id)
        if not call.finished:
            return call
        if forwarded:
            self.store.forget(call_id)  # it goes on under a new call id
        elif call.outcome is not CallOutcome.ANSWERED:
            calls.record_missed(call, callback_ticket=self.callback_tickets)
            self.store.forget(call_id)
        elif calls.find_recorded(call_id) is not None:
            self.store.forget(call_id)  # a replay of a call whose summary is stored
        return call

    def calls_for(self, agent: str | None) -> list[dict[str, Any]]:
        """Remembered calls ringing for ``agent`` (or for nobody in particular), with pops."""
        shown = []
        for call_id in self.store.call_ids():
            events = self.store.events(call_id)
            if not events:
                continue
            call = Call.from_events(events)
            if agent is None or call.agent in (None, agent):
                shown.append({"call": call.to_dict(),
                              "screen_pop": self.store.screen_pop(call_id)})
        return shown

    def record(self, call_id: str, *, agent: Actor, summary: str,
               ticket_key: str | None = None, subject: str | None = None) -> CallRecord:
        """Store the agent's summary of an answered call; the call is then forgotten."""
        events = self.store.events(call_id)
        if not events:
            raise NotFound(f"no call {call_id!r} is waiting for a summary")
        call = Call.from_events(events)
        if not call.finished or call.outcome is not CallOutcome.ANSWERED:
            raise ConcurrencyError(f"call {call_id!r} is {call.state.value}, not answered "
                                   "and ended")
        record = self.helpdesk.calls.record(call=call, agent=agent, summary=summary,
                                            ticket_key=ticket_key, subject=subject)
        self.store.forget(call_id)
        return record

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, body, content_type = self._route(environ)
        except _HttpError as refused:
            status, body, content_type = refused.status, _json({"error": str(refused)}), \
                "application/json"
        except ValidationError as exc:
            status, body, content_type = 400, _json({"error": str(exc)}), "application/json"
        except NotFound as exc:
            status, body, content_type = 404, _json({"error": str(exc)}), "application/json"
        except ConcurrencyError as exc:
            status, body, content_type = 409, _json({"error": str(exc)}), "application/json"
        except DeliveryError as exc:
            status, body, content_type = 502, _json({"error": str(exc)}), "application/json"
        except HelpdeskError:
            log.exception("telephony request failed")
            status, body, content_type = 500, _json({"error": "internal error"}), \
                "application/json"
        start_response(_STATUS[status], [("Content-Type", content_type),
                                         ("Content-Length", str(len(body)))])
        return [body]

    def _route(self, environ: WSGIEnvironment) -> tuple[int, bytes, str]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/sipgate":
            _allow(method, "POST")
            return self._sipgate(environ)
        if path in ("/twilio/voice", "/twilio/status"):
            _allow(method, "POST")
            return self._twilio(environ, voice=path == "/twilio/voice")
        agent = self._agent(environ) if path == "/calls" or path.startswith(
            ("/calls/", "/screen-pops")) else None
        if agent is None:
            raise _HttpError(404, "not found")
        if path == "/screen-pops":
            _allow(method, "GET")
            return 200, _json({"calls": self.calls_for(agent)}), "application/json"
        if path == "/calls":
            _allow(method, "POST")
            return self._click_to_call(environ, agent)
        match = _CALL.fullmatch(path)
        if match is None:
            raise _HttpError(404, "not found")
        call_id = urllib.parse.unquote(match.group(1))
        if match.group(2):
            _allow(method, "POST")
            data = self._json_body(environ)
            summary, ticket = data.get("summary"), data.get("ticket")
            if not isinstance(summary, str) or not (ticket is None or isinstance(ticket, str)):
                raise ValidationError("summary (text) and ticket (a number) expected",
                                      field="summary")
            subject = data.get("subject")
            record = self.record(call_id, agent=Actor.agent(agent), summary=summary,
                                 ticket_key=ticket,
                                 subject=subject if isinstance(subject, str) else None)
            return 200, _json({"ticket_number": record.ticket_number,
                               "ticket_id": record.ticket_id,
                               "article_id": record.article.id, "new": record.new}), \
                "application/json"
        _allow(method, "GET")
        events = self.store.events(call_id)
        if not events:
            raise NotFound(f"no call {call_id!r}")
        return 200, _json({"call": Call.from_events(events).to_dict(),
                           "screen_pop": self.store.screen_pop(call_id)}), "application/json"

    # -- webhooks -----------------------------------------------------------------------------

    def _sipgate(self, environ: WSGIEnvironment) -> tuple[int, bytes, str]:
        config = self.sipgate
        if config is None:
            raise _HttpError(404, "sipgate is not configured")
        if config.token is not None:
            given = _query(environ).get("token", [""])[0]
            if not hmac.compare_digest(given.encode(), config.token.encode()):
                raise _HttpError(403, "wrong or missing token")
        push = parse_push(parse_form(self._body(environ)), at=self.helpdesk.clock.now(),
                          config=config)
        if push.call_event is not None:
            self.feed(push.call_event, forwarded=push.forwarded)
        if push.event != "newCall":
            return 200, response_xml(), "application/xml"
        url = self._own_url(environ, "/sipgate")
        if config.token is not None:
            url += "?" + urllib.parse.urlencode({"token": config.token})
        return 200, response_xml(on_answer=url, on_hangup=url), "application/xml"

    def _twilio(self, environ: WSGIEnvironment, *, voice: bool) -> tuple[int, bytes, str]:
        config = self.twilio
        if config is None:
            raise _HttpError(404, "Twilio is not configured")
        form = parse_form(self._body(environ))
        url = self._request_url(environ)
        if not verify_signature(config.auth_token, url, form,
                                environ.get("HTTP_X_TWILIO_SIGNATURE")):
            log.warning("refused a Twilio request with a missing or wrong signature for %s", url)
            raise _HttpError(403, "missing or wrong X-Twilio-Signature")
        agent = _query(environ).get("agent", [None])[0]
        status = parse_status(form, at=self.helpdesk.clock.now(),
                              default_region=config.default_region, agent=agent)
        self.feed(status.event)
        return 200, (config.voice_twiml if voice else EMPTY_TWIML), "application/xml"

    def _click_to_call(self, environ: WSGIEnvironment, agent: str) -> tuple[int, bytes, str]:
        if self.telephony is None:
            raise _HttpError(404, "click-to-call is not configured")
        number = self._json_body(environ).get("number")
        if not isinstance(number, str):
            raise ValidationError("number expected", field="number")
        call_id = self.telephony.click_to_call(agent=agent, number=number)
        return 200, _json({"call_id": call_id}), "application/json"

    # -- request plumbing ---------------------------------------------------------------------

    def _agent(self, environ: WSGIEnvironment) -> str | None:
        if self.authorize is None:
            return None
        agent = self.authorize(environ)
        if agent is None:
            raise _HttpError(401, "not signed in")
        return agent

    def _body(self, environ: WSGIEnvironment) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _HttpError(400, "bad Content-Length") from None
        if length > self.max_body:
            raise _HttpError(413, "request body too large")
        if length <= 0:
            return b""
        data: bytes = environ["wsgi.input"].read(length)
        return data

    def _json_body(self, environ: WSGIEnvironment) -> dict[str, Any]:
        try:
            data = json.loads(self._body(environ) or b"{}")
        except ValueError:
            raise ValidationError("the body is not JSON", field="body") from None
        if not isinstance(data, dict):
            raise ValidationError("a JSON object expected", field="body")
        return data

    def _own_url(self, environ: WSGIEnvironment, path: str) -> str:
        base = self.public_url or application_uri(environ).rstrip("/")
        return base + path

    def _request_url(self, environ: WSGIEnvironment) -> str:
        if self.public_url is None:
            return request_uri(environ, include_query=True)
        query = str(environ.get("QUERY_STRING") or "")
        path = str(environ.get("PATH_INFO") or "")
        return self.public_url + path + (f"?{query}" if query else "")


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise _HttpError(405, f"use {allowed}")


def _query(environ: WSGIEnvironment) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20)


def _json(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")
