"""What gateways call back with: delivery reports and inbound SMS, parsed into plain values,
and a WSGI app a host mounts to pass them to its helpdesk.

Kannel calls two URLs the operator configures:

- the DLR URL, which :class:`~helpdesk_sms.kannel.KannelSender` builds for every message:
  ``<dlr_url>?ref=<outbox id>&id=<id>&status=%d&detail=%A&to=%p&time=%T[&key=<token>]``;
- an ``sms-service``'s ``get-url`` for inbound SMS, which must be
  ``<base>/kannel/inbound?from=%p&to=%P&text=%b&coding=%c&charset=%C&id=%I&time=%T[&key=...]``.

Twilio POSTs form data to the inbound webhook and to the status callback, signed with
``X-Twilio-Signature`` (see :mod:`helpdesk_sms.twilio`).

Routes of :class:`SmsCallbackApp`, relative to where it is mounted: ``/kannel/dlr``,
``/kannel/inbound``, ``/twilio/inbound``, ``/twilio/status``. Answers: 200 when handled (also
for a report about a message the helpdesk does not know: a retry would not change that), 400
for a request that cannot be parsed, 403 for a wrong token or signature, 503 when the helpdesk
failed (storage down): the gateway may try again, and a repeat is stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from helpdesk_core.errors import HelpdeskError, ValidationError
from helpdesk_core.sms import DeliveryStatus
from helpdesk_sms.twilio import TWILIO_STATUSES, verify_signature

if TYPE_CHECKING:
    from helpdesk_core.app import Helpdesk

__all__ = [
    "DeliveryReport",
    "InboundSms",
    "SmsCallbackApp",
    "parse_kannel_dlr",
    "parse_kannel_inbound",
    "parse_twilio_inbound",
    "parse_twilio_status",
]

log = logging.getLogger("helpdesk_sms.callbacks")

# Kannel's DLR types (the %d escape).
KANNEL_DLR_TYPES = {
    1: DeliveryStatus.DELIVERED,
    2: DeliveryStatus.FAILED,
    4: DeliveryStatus.QUEUED,
    8: DeliveryStatus.ACCEPTED,
    16: DeliveryStatus.REJECTED,
}
MAX_QUERY = 64 * 1024


@attrs.frozen
class DeliveryReport:
    provider_id: str
    status: DeliveryStatus
    at: datetime
    reference: str | None = None
    recipient: str | None = None
    detail: str = ""


@attrs.frozen
class InboundSms:
    provider_id: str
    from_number: str
    to_number: str
    text: str
    at: datetime


Params = Mapping[str, str]


def _params(query: str | bytes | Params) -> dict[str, str]:
    """Query-string values as text. Kannel's ``%b`` is the message's raw bytes: they are kept
    as Latin-1 here (byte for byte) and decoded later by the charset Kannel names."""
    if isinstance(query, Mapping):
        return {str(k): str(v) for k, v in query.items()}
    raw = query.decode("latin-1") if isinstance(query, bytes) else query
    if len(raw) > MAX_QUERY:
        raise ValidationError("the callback is too large", field="query")
    return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True, encoding="latin-1"))


def _utf8(value: str) -> str:
    """A parameter that was read as Latin-1 bytes, as the UTF-8 text it is."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _required(params: Params, name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise ValidationError("missing", field=name)
    return value


def _time(value: str | None, now: datetime) -> datetime:
    if value and value.strip().isdigit():
        try:
            return datetime.fromtimestamp(int(value.strip()), UTC)
        except (OverflowError, OSError, ValueError):
            return now
    return now


def parse_kannel_dlr(query: str | bytes | Params, *, now: datetime) -> DeliveryReport:
    """The DLR URL's query (see the module docstring). Raises ValidationError."""
    params = _params(query)
    raw_type = _required(params, "status")
    try:
        status = KANNEL_DLR_TYPES[int(raw_type)]
    except (ValueError, KeyError):
        raise ValidationError(f"unknown Kannel DLR type {raw_type!r}", field="status") from None
    reference = params.get("ref", "").strip() or None
    provider_id = params.get("id", "").strip() or reference
    if not provider_id:
        raise ValidationError("missing", field="id")
    return DeliveryReport(provider_id=provider_id, status=status, at=_time(params.get("time"),
                          now), reference=reference,
                          recipient=_utf8(params.get("to", "")).strip() or None,
                          detail=_utf8(params.get("detail", "")).strip()[:500])


def _decode_text(raw: str, coding: str, charset: str) -> str:
    data = raw.encode("latin-1", "replace")
    charset = charset.strip().upper() or ("UTF-16BE" if coding == "2" else "UTF-8")
    if charset in ("UCS-2", "UCS2", "UTF-16", "UTF-16BE", "UCS-2BE"):
        charset = "UTF-16-BE"
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return data.decode("utf-8", "replace")


def parse_kannel_inbound(query: str | bytes | Params, *, now: datetime) -> InboundSms:
    """The sms-service get-url's query (see the module docstring). Raises ValidationError.

    Without Kannel's id (``%I``), the id is derived from sender, recipient, time and text, so
    that a repeated call is still recognised.
    """
    params = _params(query)
    sender = _utf8(params.get("from", "")).strip()
    recipient = _utf8(params.get("to", "")).strip()
    text = _decode_text(params.get("text", ""), params.get("coding", ""),
                        params.get("charset", ""))
    provider_id = params.get("id", "").strip()
    if not provider_id:
        seed = "\0".join([sender, recipient, params.get("time", ""), text])
        provider_id = "kannel-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
    return InboundSms(provider_id=provider_id, from_number=sender, to_number=recipient,
                      text=text, at=_time(params.get("time"), now))


def parse_twilio_inbound(params: Params, *, now: datetime) -> InboundSms:
    """Twilio's inbound message webhook (form fields MessageSid, From, To, Body)."""
    return InboundSms(provider_id=_required(params, "MessageSid"),
                      from_number=params.get("From", "").strip(),
                      to_number=params.get("To", "").strip(),
                      text=params.get("Body", ""), at=now)


def parse_twilio_status(params: Params, *, now: datetime,
                        reference: str | None = None) -> DeliveryReport:
    """Twilio's status callback (MessageSid, MessageStatus, ErrorCode, To)."""
    raw = _required(params, "MessageStatus").lower()
    try:
        status = TWILIO_STATUSES[raw]
    except KeyError:
        raise ValidationError(f"unknown Twilio status {raw!r}", field="MessageStatus") from None
    code = params.get("ErrorCode", "").strip()
    return DeliveryReport(provider_id=_required(params, "MessageSid"), status=status, at=now,
                          reference=reference, recipient=params.get("To", "").strip() or None,
                          detail=f"Twilio error {code}" if code else "")


# -- the WSGI app -------------------------------------------------------------------------

StartResponse = Callable[..., Any]


class _Refused(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class SmsCallbackApp:
    """A WSGI application for the gateways' callbacks, calling the helpdesk's SMS use cases.

    ``token``: when set, Kannel's callbacks must carry it as ``key=`` (Kannel signs nothing;
    the token keeps strangers from posting reports or SMS). ``twilio_auth_token``: Twilio's
    callbacks must carry a valid ``X-Twilio-Signature``; ``public_url`` is the URL Twilio
    calls this app at (behind a proxy the request's own URL differs), without a trailing
    slash. ``region`` reads numbers without a country code.
    """

    def __init__(self, helpdesk: Helpdesk, *, token: str | None = None,
                 twilio_auth_token: str | None = None, public_url: str | None = None,
                 region: str = "CZ") -> None:
        self.helpdesk = helpdesk
        self.token = token
        self.twilio_auth_token = twilio_auth_token
        self.public_url = public_url.rstrip("/") if public_url else None
        self.region = region

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        routes = {"/kannel/dlr": self._kannel_dlr, "/kannel/inbound": self._kannel_inbound,
                  "/twilio/inbound": self._twilio_inbound, "/twilio/status": self._twilio_status}
        handler = routes.get(path.rstrip("/"))
        if handler is None:
            return _answer(start_response, "404 Not Found", b"no such callback\n")
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "POST"):
            return _answer(start_response, "405 Method Not Allowed", b"GET or POST\n")
        try:
            query = environ.get("QUERY_STRING", "")
            form = _body(environ) if method == "POST" else ""
            content_type, body = handler(environ, query, form)
        except _Refused as refused:
            log.warning("SMS callback %s refused: %s", path, refused)
            return _answer(start_response, refused.status, f"{refused}\n".encode())
        except ValidationError as exc:
            log.warning("SMS callback %s with bad data: %s", path, exc)
            return _answer(start_response, "400 Bad Request", f"{exc}\n".encode())
        except HelpdeskError:
            log.exception("SMS callback %s failed", path)
            return _answer(start_response, "503 Service Unavailable", b"try again later\n")
        return _answer(start_response, "200 OK", body, content_type)

    # -- Kannel ----------------------------------------------------------------------------

    def _check_token(self, params: Params) -> None:
        if self.token is None:
            return
        given = _utf8(params.get("key", ""))
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise _Refused("403 Forbidden", "wrong or missing key")

    def _kannel_params(self, query: str, form: str) -> str:
        # GET for Kannel's URLs; a POST with a form body is read the same way.
        return "&".join(part for part in (query, form) if part)

    def _kannel_dlr(self, environ: dict[str, Any], query: str,
                    form: str) -> tuple[str, bytes]:
        raw = self._kannel_params(query, form)
        self._check_token(_params(raw))
        report = parse_kannel_dlr(raw, now=self.helpdesk.clock.now())
        self._report(report)
        return "text/plain; charset=utf-8", b"ok\n"

    def _kannel_inbound(self, environ: dict[str, Any], query: str,
                        form: str) -> tuple[str, bytes]:
        raw = self._kannel_params(query, form)
        self._check_token(_params(raw))
        sms = parse_kannel_inbound(raw, now=self.helpdesk.clock.now())
        self._receive(sms)
        # smsbox sends a non-empty answer back to the sender as a reply SMS.
        return "text/plain; charset=utf-8", b""

    # -- Twilio ----------------------------------------------------------------------------

    def _twilio_params(self, environ: dict[str, Any], query: str,
                       form: str) -> dict[str, str]:
        params = dict(urllib.parse.parse_qsl(form, keep_blank_values=True))
        if self.twilio_auth_token is None:
            raise _Refused("403 Forbidden", "Twilio callbacks are not configured")
        url = self._url(environ, query)
        signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
        if not verify_signature(self.twilio_auth_token, url, params, signature):
            raise _Refused("403 Forbidden", "bad X-Twilio-Signature")
        return params

    def _url(self, environ: dict[str, Any], query: str) -> str:
        path = str(environ.get("PATH_INFO", ""))
        if self.public_url is not None:
            base = self.public_url + path
        else:
            scheme = environ.get("wsgi.url_scheme", "http")
            host = environ.get("HTTP_HOST") or (
                f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}")
            base = f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{path}"
        return base + (f"?{query}" if query else "")

    def _twilio_inbound(self, environ: dict[str, Any], query: str,
                        form: str) -> tuple[str, bytes]:
        params = self._twilio_params(environ, query, form)
        self._receive(parse_twilio_inbound(params, now=self.helpdesk.clock.now()))
        return "text/xml; charset=utf-8", b'<?xml version="1.0" encoding="UTF-8"?><Response/>'

    def _twilio_status(self, environ: dict[str, Any], query: str,
                       form: str) -> tuple[str, bytes]:
        params = self._twilio_params(environ, query, form)
        reference = dict(urllib.parse.parse_qsl(query)).get("ref") or None
        self._report(parse_twilio_status(params, now=self.helpdesk.clock.now(),
                                         reference=reference))
        return "text/plain; charset=utf-8", b"ok\n"

    # -- the helpdesk ----------------------------------------------------------------------

    def _report(self, report: DeliveryReport) -> None:
        self.helpdesk.sms.delivery_report(provider_id=report.provider_id,
                                          status=report.status, at=report.at,
                                          detail=report.detail, reference=report.reference,
                                          recipient=report.recipient)

    def _receive(self, sms: InboundSms) -> None:
        self.helpdesk.sms.receive(from_number=sms.from_number, to_number=sms.to_number,
                                  text=sms.text, at=sms.at, provider_id=sms.provider_id,
                                  region=self.region)


def _body(environ: dict[str, Any]) -> str:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_QUERY:
        raise _Refused("413 Payload Too Large", "the callback is too large")
    data: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return data.decode("latin-1")


def _answer(start_response: StartResponse, status: str, body: bytes,
            content_type: str = "text/plain; charset=utf-8") -> list[bytes]:
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(body)))])
    return [body]
