"""Twilio's Messaging API as an ``SmsSender``, and the webhook signature.

One POST per message to ``<base_url>/2010-04-01/Accounts/<sid>/Messages.json`` with HTTP basic
authentication (account SID and auth token); the answer's ``sid`` is the provider id. The
status callback URL gets ``ref=<outbox id>`` appended, so a report finds its message even
before the dispatcher stored the SID. ``base_url`` points the client at a stand-in in tests or
at a regional edge.

Answers: 2xx is accepted; 429 (too many requests) and 5xx are transient; any other 4xx
(a bad number, an unverified sender, a suspended account) is permanent and carries Twilio's
error code and message.

Webhooks: Twilio signs every callback with ``X-Twilio-Signature``, the base64 of
HMAC-SHA1 (keyed with the auth token) over the full URL it called followed by each POST
parameter's name and value, sorted by name. :func:`verify_signature` compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

from helpdesk_core.errors import ConfigurationError, DeliveryError, SmsTooLong
from helpdesk_core.sms import DeliveryStatus, SmsPolicy
from helpdesk_sms._http import request, safe_url

__all__ = ["TWILIO_STATUSES", "TwilioConfig", "TwilioSender", "signature", "verify_signature"]

TWILIO_STATUSES = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.ACCEPTED,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.REJECTED,
    "canceled": DeliveryStatus.REJECTED,
}

_NUMBER = re.compile(r"\+[0-9]{6,20}")


@attrs.frozen
class TwilioConfig:
    """
    account_sid      ``AC...``
    auth_token       the account's auth token (also the webhook signing key)
    sender           the ``From`` number, or a Messaging Service SID (``MG...``)
    status_callback  the callback app's ``/twilio/status`` URL; None: no status callbacks
    base_url         the API's address
    timeout          seconds for the HTTP request
    policy           transliteration and the segment cap
    """

    account_sid: str
    auth_token: str = attrs.field(repr=False)
    sender: str
    status_callback: str | None = None
    base_url: str = "https://api.twilio.com"
    timeout: float = 10.0
    policy: SmsPolicy = attrs.field(factory=SmsPolicy)

    def __attrs_post_init__(self) -> None:
        if not self.account_sid or not self.auth_token or not self.sender:
            raise ConfigurationError("twilio: account_sid, auth_token and sender are needed")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError("twilio: base_url must be an http(s) URL")
        if self.timeout <= 0:
            raise ConfigurationError("twilio: timeout must be positive")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TwilioConfig:
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigurationError(f"twilio: unknown settings {', '.join(unknown)}")
        data = dict(values)
        if isinstance(data.get("policy"), Mapping):
            data["policy"] = SmsPolicy(**data["policy"])
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigurationError(f"twilio: {exc}") from None


class TwilioSender:
    """``SmsSender`` over Twilio's Messaging API. Thread-safe: it keeps no connection."""

    def __init__(self, config: TwilioConfig) -> None:
        self.config = config

    @property
    def messages_url(self) -> str:
        sid = urllib.parse.quote(self.config.account_sid, safe="")
        return f"{self.config.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"

    def send(self, *, to: str, text: str, reference: str) -> str:
        config = self.config
        if not _NUMBER.fullmatch(to):
            raise DeliveryError(f"twilio: {to!r} is not an E.164 number", transient=False)
        try:
            prepared = config.policy.prepare(text)
        except SmsTooLong as exc:
            raise DeliveryError(f"twilio: {exc}", transient=False) from exc
        form = {"To": to, "Body": prepared.text}
        if config.sender.startswith("MG"):
            form["MessagingServiceSid"] = config.sender
        else:
            form["From"] = config.sender
        if config.status_callback:
            callback = config.status_callback
            form["StatusCallback"] = callback + ("&" if "?" in callback else "?") + \
                urllib.parse.urlencode({"ref": reference})
        credentials = base64.b64encode(
            f"{config.account_sid}:{config.auth_token}".encode()).decode("ascii")
        answer = request(
            "POST", self.messages_url, timeout=config.timeout,
            body=urllib.parse.urlencode(form).encode("utf-8"),
            headers={"Authorization": f"Basic {credentials}",
                     "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                     "Accept": "application/json"},
            what=f"twilio at {safe_url(self.messages_url)}",
        )
        data = _json(answer.body)
        if 200 <= answer.status < 300:
            sid = data.get("sid")
            if not isinstance(sid, str) or not sid:
                raise DeliveryError("twilio accepted the SMS but sent no sid",
                                    transient=False, uncertain=True)
            return sid
        code = data.get("code")
        message = data.get("message") or answer.text.strip()[:300]
        detail = f"HTTP {answer.status}" + (f", error {code}" if code else "") + f": {message}"
        raise DeliveryError(f"twilio refused the SMS: {detail}",
                            transient=answer.status == 429 or answer.status >= 500)


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """``X-Twilio-Signature`` for a callback to ``url`` with POST ``params``."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(auth_token: str, url: str, params: Mapping[str, str],
                     given: str) -> bool:
    """Whether ``given`` is the signature of this callback (constant-time comparison)."""
    if not given:
        return False
    expected = signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().encode("utf-8"))
