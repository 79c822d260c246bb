"""Inbound mail: parse raw bytes into a :class:`ParsedMail` (pure; no network, never raises)."""

from __future__ import annotations

from helpdesk_core.mail.decode import DEFAULT_GUESSES, decode_bytes, decode_header_value
from helpdesk_core.mail.parsed import Address, MailLimits, ParsedAttachment, ParsedMail
from helpdesk_core.mail.parser import parse_mail
from helpdesk_core.mail.text import html_to_text, new_reply_text, sanitise_html

__all__ = [
    "DEFAULT_GUESSES",
    "Address",
    "MailLimits",
    "ParsedAttachment",
    "ParsedMail",
    "decode_bytes",
    "decode_header_value",
    "html_to_text",
    "new_reply_text",
    "parse_mail",
    "sanitise_html",
]
