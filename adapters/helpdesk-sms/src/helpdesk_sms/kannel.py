"""Kannel's sendsms HTTP interface as an ``SmsSender``.

Each message is one GET to smsbox's ``/cgi-bin/sendsms`` with the text in UTF-8
(``charset=UTF-8``); a text outside the GSM alphabet also gets ``coding=2``, so Kannel sends it
as UCS-2 instead of replacing the characters it cannot encode. With ``dlr_url`` set, the
request asks for delivery reports (``dlr-mask``) to that URL, with the outbox reference and the
message's id in its query, so a report finds its message even before the dispatcher stored the
id. Kannel's sendsms answer carries no message id, so the id is the reference itself.

Kannel answers ``202 0: Accepted for delivery`` (or ``3: Queued for later delivery``); a 4xx
answer (bad credentials, a refused number) is a permanent DeliveryError, a 5xx answer or an
unreachable smsbox a transient one. The sendsms user needs ``max-messages`` at least the
policy's segment cap and ``concatenation = true``, or Kannel cuts long texts.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

from helpdesk_core.errors import ConfigurationError, DeliveryError, SmsTooLong
from helpdesk_core.sms import Encoding, SmsPolicy
from helpdesk_sms._http import request, safe_url

__all__ = ["DLR_ALL", "DLR_DEFAULT", "KannelConfig", "KannelSender", "dlr_url_for"]

# Kannel's DLR types: 1 delivered to the phone, 2 not delivered to the phone, 4 queued on the
# SMSC, 8 delivered to the SMSC, 16 not delivered to the SMSC.
DLR_ALL = 31
DLR_DEFAULT = 1 | 2 | 8 | 16  # everything but "queued", which says little and comes often

_REFERENCE = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_NUMBER = re.compile(r"\+?[0-9]{3,20}")


@attrs.frozen
class KannelConfig:
    """
    sendsms_url   smsbox's sendsms URL, e.g. ``http://127.0.0.1:13013/cgi-bin/sendsms``
    username      a ``sendsms-user`` of smsbox
    password      its password
    sender        the ``from`` number or name; None: the sendsms user's default
    dlr_url       where Kannel reports deliveries (the callback app's ``/kannel/dlr``);
                  None: no delivery reports
    callback_token  added to the DLR URL as ``key=``, checked by the callback app
    dlr_mask      which reports to ask for (see ``DLR_DEFAULT``)
    smsc          route through this ``smsc-id``; None: Kannel's routing decides
    timeout       seconds for the HTTP request
    policy        transliteration and the segment cap
    """

    sendsms_url: str
    username: str
    password: str = attrs.field(repr=False)
    sender: str | None = None
    dlr_url: str | None = None
    callback_token: str | None = attrs.field(default=None, repr=False)
    dlr_mask: int = DLR_DEFAULT
    smsc: str | None = None
    timeout: float = 10.0
    policy: SmsPolicy = attrs.field(factory=SmsPolicy)

    def __attrs_post_init__(self) -> None:
        if not self.sendsms_url.startswith(("http://", "https://")):
            raise ConfigurationError("kannel: sendsms_url must be an http(s) URL")
        if not self.username:
            raise ConfigurationError("kannel: username must not be empty")
        if not 0 <= self.dlr_mask <= DLR_ALL:
            raise ConfigurationError(f"kannel: dlr_mask must be between 0 and {DLR_ALL}")
        if self.timeout <= 0:
            raise ConfigurationError("kannel: timeout must be positive")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> KannelConfig:
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigurationError(f"kannel: unknown settings {', '.join(unknown)}")
        data = dict(values)
        policy = data.get("policy")
        if isinstance(policy, Mapping):
            data["policy"] = SmsPolicy(**policy)
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigurationError(f"kannel: {exc}") from None


def dlr_url_for(base: str, *, reference: str, provider_id: str,
                token: str | None = None) -> str:
    """The DLR URL for one message: our values plus Kannel's escapes (%d type, %A the SMSC's
    text, %p the phone, %T the time). Our values are restricted to characters that need no
    URL encoding, because Kannel reads every ``%`` in this URL as the start of an escape."""
    for value in (reference, provider_id, token or "x"):
        if not _REFERENCE.fullmatch(value):
            raise DeliveryError(f"kannel: {value!r} cannot go into a DLR URL", transient=False)
    query = f"ref={reference}&id={provider_id}&status=%d&detail=%A&to=%p&time=%T"
    if token:
        query += f"&key={token}"
    return base + ("&" if "?" in base else "?") + query


class KannelSender:
    """``SmsSender`` over Kannel's sendsms interface. Thread-safe: it keeps no connection."""

    def __init__(self, config: KannelConfig) -> None:
        self.config = config

    def send(self, *, to: str, text: str, reference: str) -> str:
        config = self.config
        if not _NUMBER.fullmatch(to):
            raise DeliveryError(f"kannel: {to!r} is not a phone number", transient=False)
        if not _REFERENCE.fullmatch(reference):
            raise DeliveryError(f"kannel: bad reference {reference!r}", transient=False)
        try:
            prepared = config.policy.prepare(text)
        except SmsTooLong as exc:
            raise DeliveryError(f"kannel: {exc}", transient=False) from exc
        provider_id = reference
        params = {"username": config.username, "password": config.password, "to": to,
                  "text": prepared.text, "charset": "UTF-8",
                  "coding": "2" if prepared.encoding is Encoding.UCS2 else "0"}
        if config.sender:
            params["from"] = config.sender
        if config.smsc:
            params["smsc"] = config.smsc
        if config.dlr_url and config.dlr_mask:
            params["dlr-mask"] = str(config.dlr_mask)
            params["dlr-url"] = dlr_url_for(config.dlr_url, reference=reference,
                                            provider_id=provider_id,
                                            token=config.callback_token)
        url = config.sendsms_url + ("&" if "?" in config.sendsms_url else "?") + \
            urllib.parse.urlencode(params)
        answer = request("GET", url, timeout=config.timeout,
                         what=f"kannel at {safe_url(config.sendsms_url)}")
        if 200 <= answer.status < 300:
            return provider_id
        detail = answer.text.strip()[:300]
        raise DeliveryError(f"kannel refused the SMS: HTTP {answer.status} {detail}",
                            transient=answer.status >= 500)
