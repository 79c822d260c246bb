"""Pure helpers for threading and repeat detection: fingerprints, references, order numbers.

The decisions that need storage (which ticket, is the sender a participant) live in
``helpdesk_core.services.mail_ingest``; everything here is a function of the mail alone.
"""

from __future__ import annotations

import hashlib
import re

from helpdesk_core.mail.loops import classify
from helpdesk_core.mail.parsed import ParsedMail

__all__ = [
    "MAX_KEY_BYTES",
    "fingerprint",
    "index_key",
    "is_automatic_reply",
    "message_key",
    "order_numbers",
    "reference_ids",
    "reply_subject",
]

# Headers that describe the message itself. Trace headers (Received, Delivered-To,
# X-Original-To, Return-Path, spam scores, ARC/DKIM results) differ between two deliveries of
# one message, so they are left out of its fingerprint.
_CONTENT_HEADERS = frozenset({
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding",
})
_HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$")


def fingerprint(raw: bytes) -> str:
    """SHA-256 over the content headers and the body, line endings and folding normalised."""
    data = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data.startswith(b"From "):  # an mbox separator is not part of the message
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    head, _, body = data.partition(b"\n\n")
    fields: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
            continue
        match = _HEADER_LINE.match(line)
        fields.append(match.group(1).lower() + b":" + match.group(2).strip() if match else line)
    digest = hashlib.sha256()
    for field in fields:
        name = field.split(b":", 1)[0].decode("ascii", "replace")
        if name in _CONTENT_HEADERS:
            digest.update(b" ".join(field.split()) + b"\n")
    digest.update(b"\n")
    digest.update(b"\n".join(line.rstrip() for line in body.rstrip().split(b"\n")))
    return digest.hexdigest()


MAX_KEY_BYTES = 900


def index_key(message_id: str) -> str:
    """The form a Message-ID is indexed and looked up under: the id itself, or — when it is
    longer than :data:`MAX_KEY_BYTES` of UTF-8, more than a database index takes — a key made
    from its digest. A mail and the replies that name it map the id alike, so they thread."""
    if len(message_id.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"<{digest[:40]}@long-id.invalid>"


def message_key(mail: ParsedMail, print_: str) -> str:
    """The Message-ID to index ``mail`` under (see :func:`index_key`); a mail without one
    gets a key from its print."""
    return index_key(mail.message_id) if mail.message_id else \
        f"<{print_[:40]}@fingerprint.invalid>"


def reference_ids(mail: ParsedMail) -> tuple[str, ...]:
    """Message-IDs this mail answers, most specific first: In-Reply-To, then References from
    the newest to the oldest."""
    found: list[str] = []
    for value in (mail.in_reply_to, *reversed(mail.references)):
        if value and index_key(value) not in found:
            found.append(index_key(value))
    return tuple(found[:50])


def is_automatic_reply(mail: ParsedMail) -> bool:
    """An out-of-office or other auto-reply (:attr:`MailKind.AUTO_REPLY
    <helpdesk_core.mail.loops.MailKind>`): it threads, but never reopens or answers."""
    return classify(mail).auto_reply


def order_numbers(mail: ParsedMail, pattern: str | None) -> tuple[str, ...]:
    """Order numbers named in the subject or the new text, in order of appearance, unique."""
    if not pattern:
        return ()
    compiled = re.compile(pattern)
    found: list[str] = []
    for text in (mail.subject, mail.new_text or mail.body_text[:20_000]):
        for match in compiled.finditer(text):
            number = match.group(1)
            if number and number not in found:
                found.append(number)
    return tuple(found[:5])


_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|odp|sv|vs|antw|wg|fwd?|tr)(?:\[\d+\])?\s*:\s*)+",
                           re.IGNORECASE)


def reply_subject(subject: str, number: str, fmt: str = "[{number}] {subject}") -> str:
    """The subject of our answer: ``Re:`` once, our ticket number in ``fmt``'s place once.

    ``fmt`` uses ``{number}`` and ``{subject}``; a subject that names the number already
    keeps it where it is.
    """
    bare = _REPLY_PREFIX.sub("", subject).strip()
    if number.casefold() not in bare.casefold():
        bare = fmt.replace("{number}", number).replace("{subject}", bare).strip()
    return f"Re: {bare}"[:500]
