"""sipgate.io push API: form posts for newCall, answer and hangup; click-to-call over REST.

sipgate.io POSTs ``application/x-www-form-urlencoded`` bodies to the URL set for incoming and
outgoing calls. ``newCall`` carries ``event``, ``direction`` (``in``/``out``), ``from``, ``to``,
``callId``, ``origCallId``, ``user[]``, ``userId[]``, ``fullUserId[]``, ``xcid`` and optionally
``diversion``; numbers come without "+" (``4930123456``) or as ``anonymous``. The answer to a
``newCall`` is XML; its ``onAnswer`` and ``onHangup`` attributes subscribe to the ``answer``
event (with ``user``, ``userId``, ``fullUserId``, ``answeringNumber``) and the ``hangup`` event
(with ``cause``: ``normalClearing``, ``busy``, ``cancel``, ``noAnswer``, ``congestion``,
``notFound``, ``forwarded``). A forwarded or transferred call continues under a new call id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from xml.sax.saxutils import quoteattr

import attrs

from helpdesk_core.errors import ConfigurationError, DeliveryError, ValidationError
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.telephony import caller_number
from helpdesk_telephony.forms import Form, first
from helpdesk_telephony.http import post

__all__ = ["SipgateClickToCall", "SipgatePush", "SipgateWebhook", "parse_push", "response_xml"]

_KINDS = {"newCall": "ringing", "answer": "answered", "hangup": "ended"}
_DIRECTIONS = {"in": "inbound", "out": "outbound"}
# An inbound call that ended for one of these reasons reached nobody: the caller missed us.
_MISSED_CAUSES = frozenset({"cancel", "noAnswer", "busy", "congestion", "notFound"})
MAX_ID = 200


@attrs.frozen
class SipgateWebhook:
    """How to read one account's pushes.

    ``default_region`` reads national numbers; ``line_regions`` overrides it per line (our own
    number in E.164, e.g. a Czech line on a German account); ``agents`` maps sipgate user ids
    (``w0``, or the full ``1234567w0``) to the helpdesk's agent ids; ``token``, when set, must
    be the ``token`` query parameter of every push (sipgate.io signs nothing, so the secret
    URL is what tells its pushes from a stranger's).
    """

    default_region: str | None = "DE"
    line_regions: Mapping[str, str] = attrs.field(factory=dict)
    agents: Mapping[str, str] = attrs.field(factory=dict)
    token: str | None = None

    def region_for(self, line: str | None) -> str | None:
        number = caller_number(line, default_region=self.default_region) if line else None
        return self.line_regions.get(number or "", self.default_region)

    def agent_for(self, form: Form) -> str | None:
        """The helpdesk agent behind the sipgate user of a push; None when several users are
        rung at once (a group) or nobody is named."""
        full = list(form.get("fullUserId[]") or form.get("fullUserId") or [])
        ids = list(form.get("userId[]") or form.get("userId") or [])
        names = list(form.get("user[]") or form.get("user") or [])
        if max(len(full), len(ids), len(names)) != 1:
            return None
        for user_id in (*full, *ids):
            if user_id in self.agents:
                return self.agents[user_id]
        own = ids or names
        return own[0][:MAX_ID] if own and own[0] else None


@attrs.frozen
class SipgatePush:
    """One push, read. ``call_event`` is None for pushes that do not change the call (DTMF)."""

    event: str
    call_id: str
    call_event: CallEvent | None
    cause: str | None = None

    @property
    def forwarded(self) -> bool:
        """The call left this leg for another number; it goes on under a new call id."""
        return self.cause == "forwarded"


def parse_push(form: Form, *, at: datetime, config: SipgateWebhook) -> SipgatePush:
    """Read one push; raises ValidationError for a body that is not one."""
    event = first(form, "event")
    call_id = first(form, "callId")
    if not event:
        raise ValidationError("no event", field="event")
    if not call_id or len(call_id) > MAX_ID or not call_id.isprintable():
        raise ValidationError("no usable callId", field="callId")
    if event == "dtmf":
        return SipgatePush(event=event, call_id=call_id, call_event=None)
    if event not in _KINDS:
        raise ValidationError(f"unknown event {event[:40]!r}", field="event")
    raw_direction = first(form, "direction")
    if raw_direction is None and event != "newCall":
        raw_direction = "in"  # follow-up pushes: the newCall that opened the call says
    direction = _DIRECTIONS.get(raw_direction or "")
    if direction is None:
        raise ValidationError("direction must be in or out", field="direction")
    raw_from, raw_to = first(form, "from"), first(form, "to")
    line = raw_to if direction == "inbound" else raw_from
    region = config.region_for(line)
    cause = first(form, "cause") if event == "hangup" else None
    kind = _KINDS[event]
    if kind == "ended" and direction == "inbound" and cause in _MISSED_CAUSES:
        kind = "missed"
    agent = config.agent_for(form) if event != "hangup" else None
    return SipgatePush(
        event=event, call_id=call_id, cause=cause,
        call_event=CallEvent(
            provider_call_id=call_id, kind=kind, direction=direction,
            from_number=caller_number(raw_from, default_region=region),
            to_number=caller_number(raw_to, default_region=region),
            at=at, agent=agent,
        ),
    )


def response_xml(*, on_answer: str | None = None, on_hangup: str | None = None) -> bytes:
    """The XML answer to a push; with URLs it subscribes to the call's answer and hangup."""
    attributes = "".join(
        f" {name}={quoteattr(url)}" for name, url in (("onAnswer", on_answer),
                                                      ("onHangup", on_hangup)) if url)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response{attributes} />\n'.encode()


class SipgateClickToCall:
    """The ``Telephony`` port over sipgate's REST API: ``POST /sessions/calls``.

    sipgate rings the agent's device first and then dials the customer. ``devices`` maps the
    helpdesk's agent ids to sipgate device ids (``e0``, ``p0``); ``token_id``/``token`` are a
    personal access token with the ``sessions:calls:write`` scope.
    """

    def __init__(self, *, token_id: str, token: str, devices: Mapping[str, str],
                 caller_id: str | None = None, base_url: str = "https://api.sipgate.com/v2",
                 default_region: str | None = "DE", timeout: float = 10.0) -> None:
        self.token_id = token_id
        self.token = token
        self.devices = dict(devices)
        self.caller_id = caller_id
        self.base_url = base_url.rstrip("/")
        self.default_region = default_region
        self.timeout = timeout

    def click_to_call(self, *, agent: str, number: str) -> str:
        device = self.devices.get(agent)
        if device is None:
            raise ConfigurationError(f"no sipgate device for agent {agent!r}")
        callee = caller_number(number, default_region=self.default_region)
        if callee is None:
            raise ValidationError("not a phone number that can be called", field="number")
        request = {"deviceId": device, "caller": device, "callee": callee}
        if self.caller_id:
            request["callerId"] = self.caller_id
        answer = post(f"{self.base_url}/sessions/calls", body=json.dumps(request).encode(),
                      content_type="application/json", user=self.token_id,
                      password=self.token, timeout=self.timeout)
        session = answer.get("sessionId")
        if not isinstance(session, str) or not session:
            raise DeliveryError("sipgate answered without a sessionId", transient=False)
        return session
