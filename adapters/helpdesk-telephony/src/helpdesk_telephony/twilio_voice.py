"""Twilio Voice: status callbacks, request signatures, click-to-call over the Calls API.

Twilio POSTs form bodies with ``CallSid``, ``From``, ``To``, ``Direction`` (``inbound``,
``outbound-api``, ``outbound-dial``), ``CallStatus`` (``queued``, ``initiated``, ``ringing``,
``in-progress``, ``completed``, ``busy``, ``failed``, ``no-answer``, ``canceled``), on
completion ``CallDuration``, and in status callbacks ``Timestamp``. Every request carries
``X-Twilio-Signature``: HMAC-SHA1, keyed with the account's auth token, over the full URL
Twilio requested followed by each POST parameter's name and value, sorted by name, base64.

The leg an agent takes an inbound call on (a ``<Dial>`` noun's status callback) has its own
CallSid, ``Direction=outbound-dial`` and the inbound call's ``ParentCallSid``: its events are
read as events of the inbound call, so that "the agent answered" and "nobody answered" belong
to the call the customer made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from xml.sax.saxutils import escape, quoteattr

import attrs

from helpdesk_core.domain.values import ensure_utc
from helpdesk_core.errors import ConfigurationError, DeliveryError, ValidationError
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.telephony import caller_number
from helpdesk_telephony.forms import Form, first
from helpdesk_telephony.http import post

__all__ = [
    "EMPTY_TWIML",
    "TwilioClickToCall",
    "TwilioStatus",
    "TwilioWebhook",
    "parse_status",
    "signature",
    "verify_signature",
]

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?>\n<Response />\n'
_RINGING = frozenset({"queued", "initiated", "ringing"})
_ANSWERED = frozenset({"in-progress", "answered"})
_UNANSWERED = frozenset({"busy", "failed", "no-answer", "canceled"})
MAX_ID = 200


@attrs.frozen
class TwilioWebhook:
    """``auth_token`` verifies signatures; ``voice_twiml`` answers the number's Voice URL (it
    routes the call to the agents, e.g. ``<Dial>`` with a ``statusCallback``)."""

    auth_token: str = attrs.field(repr=False)
    voice_twiml: bytes = EMPTY_TWIML
    default_region: str | None = None


def signature(auth_token: str, url: str, params: Form) -> str:
    """The X-Twilio-Signature Twilio computes for a POST of ``params`` to ``url``."""
    data = url + "".join(name + value for name in sorted(params)
                         for value in sorted(params[name]))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(auth_token: str, url: str, params: Form, header: str | None) -> bool:
    """Whether ``header`` is Twilio's signature of this request, compared in constant time.

    The URL is tried as given and with its default port added or removed, because proxies
    disagree on whether ``:443`` is part of it.
    """
    if not header or not auth_token:
        return False
    expected = header.strip().encode("ascii", "replace")
    found = False
    for candidate in _url_variants(url):
        computed = signature(auth_token, candidate, params).encode("ascii")
        found |= hmac.compare_digest(computed, expected)
    return found


def _url_variants(url: str) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if default is None or parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    try:
        port = parts.port
    except ValueError:
        return variants
    if port == default:
        variants.append(urllib.parse.urlunsplit(parts._replace(netloc=_netloc(parts, host))))
    elif port is None:
        variants.append(urllib.parse.urlunsplit(
            parts._replace(netloc=_netloc(parts, f"{host}:{default}"))))
    return variants


def _netloc(parts: urllib.parse.SplitResult, host: str) -> str:
    auth = parts.netloc.rpartition("@")[0]
    return f"{auth}@{host}" if auth else host


@attrs.frozen
class TwilioStatus:
    """One callback, read: Twilio's status and the call event it means."""

    call_sid: str
    status: str
    event: CallEvent
    duration: int | None = None


def parse_status(form: Form, *, at: datetime, default_region: str | None = None,
                 agent: str | None = None) -> TwilioStatus:
    """Read a Voice webhook or status callback; ValidationError for anything else.

    ``at`` is used when the callback carries no ``Timestamp``; ``agent`` (from the callback
    URL, which the signature covers) names the agent when the call does not (``client:``).
    """
    sid = first(form, "CallSid")
    parent = first(form, "ParentCallSid")
    status = (first(form, "CallStatus") or "").strip().lower()
    raw_direction = (first(form, "Direction") or "").strip().lower()
    if not sid or len(sid) > MAX_ID or not sid.isprintable():
        raise ValidationError("no usable CallSid", field="CallSid")
    if parent is not None and (len(parent) > MAX_ID or not parent.isprintable()):
        raise ValidationError("unusable ParentCallSid", field="ParentCallSid")
    raw_from, raw_to = first(form, "From"), first(form, "To")
    if raw_direction == "inbound":
        direction, call_id = "inbound", sid
    elif raw_direction == "outbound-dial" and parent:
        direction, call_id = "inbound", parent  # the agent's leg of an inbound call
        agent = agent or _client(raw_to)
        raw_to = None  # the agent's phone or client, not the number the customer called
    elif raw_direction.startswith("outbound"):
        direction, call_id = "outbound", sid
    else:
        raise ValidationError("unknown Direction", field="Direction")
    if status in _RINGING:
        kind = "ringing"
    elif status in _ANSWERED:
        kind = "answered"
    elif status == "completed":
        kind = "ended"
    elif status in _UNANSWERED:
        kind = "missed" if direction == "inbound" else "ended"
    else:
        raise ValidationError("unknown CallStatus", field="CallStatus")
    duration = first(form, "CallDuration")
    return TwilioStatus(
        call_sid=sid, status=status,
        duration=int(duration) if duration and duration.isdecimal() and len(duration) < 9
        else None,
        event=CallEvent(
            provider_call_id=call_id, kind=kind, direction=direction,
            from_number=caller_number(raw_from, default_region=default_region),
            to_number=caller_number(raw_to, default_region=default_region),
            at=_timestamp(first(form, "Timestamp")) or at,
            agent=(agent or _client(raw_from if direction == "outbound" else None)),
        ),
    )


def _client(value: str | None) -> str | None:
    if value and value.startswith("client:") and 7 < len(value) <= MAX_ID:
        return value[7:]
    return None


def _timestamp(value: str | None) -> datetime | None:
    if not value or len(value) > 64:
        return None
    try:
        return ensure_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        return None


class TwilioClickToCall:
    """The ``Telephony`` port over Twilio's Calls API.

    Twilio calls the customer from ``caller_id`` and, once they answer, connects the agent:
    ``agents`` maps the helpdesk's agent ids to a phone number or ``client:<identity>``. The
    call's status callbacks go to ``status_callback`` (this adapter's ``/twilio/status``) with
    ``?agent=<id>`` added, so they name the agent; the signature covers that query.
    """

    def __init__(self, *, account_sid: str, auth_token: str, caller_id: str,
                 agents: Mapping[str, str], status_callback: str | None = None,
                 base_url: str = "https://api.twilio.com", default_region: str | None = None,
                 timeout: float = 10.0) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.caller_id = caller_id
        self.agents = dict(agents)
        self.status_callback = status_callback
        self.base_url = base_url.rstrip("/")
        self.default_region = default_region
        self.timeout = timeout

    def click_to_call(self, *, agent: str, number: str) -> str:
        target = self.agents.get(agent)
        if target is None:
            raise ConfigurationError(f"no Twilio number or client for agent {agent!r}")
        callee = caller_number(number, default_region=self.default_region)
        if callee is None:
            raise ValidationError("not a phone number that can be called", field="number")
        client = _client(target)
        noun = (f"<Client>{escape(client)}</Client>" if client
                else f"<Number>{escape(target)}</Number>")
        twiml = (f"<Response><Dial callerId={quoteattr(self.caller_id)}>{noun}</Dial>"
                 "</Response>")
        params: list[tuple[str, str]] = [("To", callee), ("From", self.caller_id),
                                         ("Twiml", twiml)]
        if self.status_callback:
            separator = "&" if "?" in self.status_callback else "?"
            params += [("StatusCallback", f"{self.status_callback}{separator}"
                        f"{urllib.parse.urlencode({'agent': agent})}"),
                       ("StatusCallbackMethod", "POST")]
            params += [("StatusCallbackEvent", e)
                       for e in ("initiated", "ringing", "answered", "completed")]
        url = f"{self.base_url}/2010-04-01/Accounts/{urllib.parse.quote(self.account_sid)}" \
              "/Calls.json"
        answer = post(url, body=urllib.parse.urlencode(params).encode("ascii"),
                      content_type="application/x-www-form-urlencoded",
                      user=self.account_sid, password=self.auth_token, timeout=self.timeout)
        sid = answer.get("sid")
        if not isinstance(sid, str) or not sid:
            raise DeliveryError("Twilio answered without a call sid", transient=False)
        return sid
