"""Inbound mail: parse raw bytes into a :class:`ParsedMail` (pure; no network, never raises).

``parse_mail(data)`` is the only entry point the rest of the core needs:

* ``decode`` turns declared charsets, raw 8-bit headers, RFC 2047 words and RFC 2231
  parameters into text, with a configurable guess list and no exceptions;
* ``parser`` walks the MIME tree (stdlib ``compat32`` parser, every header decoded here with
  its own fallback), checks :class:`MailLimits` as it goes, and sorts leaves into body text,
  HTML and attachments with safe, unique names;
* ``text`` sanitises HTML (nh3), renders it as text (inscriptis) and cuts a reply down to
  what is new (own patterns for en/de/cs/sk header blocks, then mail-parser-reply).

Threading (ticket numbers in subjects, In-Reply-To/References), auto-reply and bounce
detection, accounts and mailbox adapters build on :class:`ParsedMail`; the original header
values stay reachable through :meth:`ParsedMail.header`.
"""

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
