"""``parse_mail``: raw bytes in, a :class:`ParsedMail` out. Never raises.

The stdlib parser runs with the ``compat32`` policy (its modern header parser crashes on some
malformed Message-IDs and addresses); every header is decoded here, one at a time, with its
own fallback. The MIME tree is walked by hand so that limits (parts, depth, time) are checked
as it goes and every leaf is either body text or an attachment.
"""

from __future__ import annotations

import binascii
import email.utils
import mimetypes
import quopri
import re
import time
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32

import attrs

from helpdesk_core.domain.article import safe_filename
from helpdesk_core.mail.decode import (
    DEFAULT_GUESSES,
    decode_bytes,
    decode_header_value,
    decode_param,
    normalise_charset,
    raw_header_text,
)
from helpdesk_core.mail.identity import sender_identity
from helpdesk_core.mail.markup import BoundedHtml, bound_html, rough_text
from helpdesk_core.mail.parsed import Address, MailLimits, ParsedAttachment, ParsedMail
from helpdesk_core.mail.text import html_to_text, new_reply_text, sanitise_html

__all__ = ["parse_mail"]

_HEADER_START = re.compile(rb"[!-9;-~]{1,76}[ \t]*:")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_MSG_ID_SPACED = re.compile(r"<([^<>]*[^<>\s][^<>]*)>")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]")


class _Stop(Exception):
    """A limit was hit while walking; carries what was left out."""


def _strip_leading_junk(data: bytes) -> tuple[bytes, list[str]]:
    """Drop mbox ``From `` lines and anything else before the first header line."""
    defects: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        defects.append("byte order mark before the headers removed")
    pos = 0
    scanned = 0
    while pos < len(data) and scanned < 64:
        end = data.find(b"\n", pos)
        line = data[pos:] if end < 0 else data[pos:end]
        if _HEADER_START.match(line):
            break
        if line.startswith(b"From "):
            defects.append("mbox From line removed")
        elif line.strip():
            defects.append("junk before the first header removed")
        if end < 0:
            break
        pos = end + 1
        scanned += 1
    else:
        return data, []  # no header line found: keep everything as it is
    if pos >= len(data) or not _HEADER_START.match(data[pos:pos + 80]):
        return data, []
    return data[pos:], defects


def _header_section_length(data: bytes) -> int:
    match = re.search(rb"\r?\n\r?\n", data)
    return match.start() if match else len(data)


# ---- header blocks with broken folding ----------------------------------------------------
# A header line as mail systems write them, or a continuation line. The stdlib takes any
# printable run before a colon for a name; "tests=BAYES_00:1", "https://..." or a piece of a
# DKIM field list ("subject:date:message-id;", "from:" alone: lower case, no space after the
# colon) at the start of a line is a wrapped value.
_HEADER_LINE = re.compile(
    rb"(?![a-z0-9_.-]+:(?![ \t]))"
    rb"[A-Za-z0-9_.-]{1,76}[ \t]*:(?!//|[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]|;))|[ \t]")
_SUSPECT_LINE = re.compile(rb"\n(?!" + _HEADER_LINE.pattern + rb")")
# A header line beyond doubt: a name every mail system writes, or one of the vendor families.
_REAL_HEADER = re.compile(
    rb"(?:from|to|cc|bcc|subject|date|message-id|in-reply-to|references|reply-to|sender"
    rb"|return-path|received|mime-version|delivered-to|user-agent|importance|priority"
    rb"|precedence|auto-submitted|organi[sz]ation|thread-topic|thread-index|accept-language"
    rb"|authentication-results|received-spf|domainkey-signature|feedback-id|errors-to"
    rb"|disposition-notification-to|return-receipt-to|envelope-to|keywords"
    rb"|(?:x|arc|dkim|list|content|resent)-[a-z0-9-]{1,60})[ \t]*:", re.IGNORECASE)
# Fields a mail has once: a second From or Subject after non-header lines is quoted text in a
# body whose blank separator line is missing, not the rest of the header block.
_SINGLE_FIELDS = frozenset({b"from", b"to", b"cc", b"subject", b"date", b"message-id",
                            b"in-reply-to", b"references", b"mime-version", b"reply-to",
                            b"sender", b"content-type", b"content-transfer-encoding"})
_MAX_BROKEN_RUN = 40  # lines; a wrapped header is a few, a body that lost its blank line more


def _field_name(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().lower()


def _repair_folding(data: bytes) -> tuple[bytes, bool]:
    """Continuation lines that lost their leading whitespace, indented again.

    A gateway that wraps a long header (a spam report, a tracking token, ``Received``) without
    indenting the next line makes the stdlib end the header block at that line: Subject, From
    and Content-Type below it would become body text. A line of the header block that is
    neither a header nor a continuation continues the previous header when a header beyond
    doubt (:data:`_REAL_HEADER`; a second From or Subject ends the search) follows within
    ``_MAX_BROKEN_RUN`` lines; otherwise the body starts there, as the stdlib reads it (a mail
    whose blank line before the body is missing). One pass over the header lines; returns the
    data and whether it changed.
    """
    end = _header_section_length(data)
    if not _SUSPECT_LINE.search(data, 0, end):  # every line a header or a continuation
        return data, False
    lines = data[:end].splitlines(keepends=True)
    seen: set[bytes] = set()
    pending: list[int] = []  # lines waiting for a real header below them
    fold: list[int] = []
    for index, line in enumerate(lines):
        header_like = bool(_HEADER_LINE.match(line)) and not line.startswith(b"From ")
        if index == 0 or (header_like and not pending):
            if line[:1] not in b" \t":
                seen.add(_field_name(line))
            continue
        if header_like and line[:1] not in b" \t" and _REAL_HEADER.match(line):
            name = _field_name(line)
            if name in _SINGLE_FIELDS and name in seen:
                break  # a quoted header block: the body started at the first pending line
            fold.extend(pending)
            pending = []
            seen.add(name)
            continue
        pending.append(index)
        if len(pending) > _MAX_BROKEN_RUN:
            break
    if not fold:
        return data, False
    for index in fold:
        lines[index] = b" " + lines[index].lstrip(b" \t")
    return b"".join(lines) + data[end:], True


# Header fields a helpdesk reads: never left out of an oversized header section.
_NEEDED_FIELDS = frozenset({
    b"from", b"sender", b"reply-to", b"to", b"cc", b"subject", b"date", b"message-id",
    b"in-reply-to", b"references", b"mime-version", b"content-type",
    b"content-transfer-encoding", b"content-disposition", b"return-path", b"auto-submitted",
    b"precedence", b"list-id", b"list-unsubscribe", b"x-auto-response-suppress",
    b"x-autoreply", b"x-autorespond",
})
_FIELD_START = re.compile(rb"(?m)^(?=[^ \t\r\n])")


def _shorten_field(field: bytes) -> bytes:
    """Half of a header field's value, cut between two words: the end of References (the
    newest Message-IDs), the start of anything else."""
    name, _, value = field.partition(b":")
    ending = b"\r\n" if field.endswith(b"\r\n") else b"\n"
    words = value.split()
    half = words[len(words) // 2:] if name.strip().lower() == b"references" else \
        words[: len(words) // 2]
    if len(words) < 2:  # one enormous word
        text = value.strip()
        half = [text[: len(text) // 2]]
    return name + b": " + b" ".join(half) + ending


def _trim_header_section(body: bytes, limit: int) -> tuple[bytes, str]:
    """A header section of at most ``limit`` bytes, and what was left out to get there.

    The largest fields a helpdesk does not read go first (trace and vendor headers); then the
    largest of the rest is shortened (References keeps its newest ids); if many small fields
    are still too many, the first ones that fit are kept. The body is untouched.
    """
    size = _header_section_length(body)
    head, rest = body[:size], body[size:]
    fields: list[bytes | None] = [f for f in _FIELD_START.split(head) if f]
    names = [f.split(b":", 1)[0].strip().lower()[:40].decode("ascii", "replace")
             for f in fields if f is not None]
    total = size + 2
    left_out: dict[str, int] = {}

    def leave_out(index: int) -> None:
        nonlocal total
        field = fields[index]
        if field is not None:
            total -= len(field)
            fields[index] = None
            left_out[names[index]] = left_out.get(names[index], 0) + 1

    droppable = sorted((i for i, name in enumerate(names)
                        if name.encode() not in _NEEDED_FIELDS),
                       key=lambda i: len(fields[i] or b""), reverse=True)
    for index in droppable:
        if total <= limit:
            break
        leave_out(index)
    shortened: set[str] = set()
    while total > limit:
        index = max(range(len(fields)), key=lambda i: len(fields[i] or b""))
        field = fields[index] or b""
        if len(field) < max(limit // 8, 200):
            break
        shorter = _shorten_field(field)
        shortened.add(names[index])
        fields[index] = shorter
        total -= len(field) - len(shorter)
    used = 2
    for index, kept_field in enumerate(fields):  # many small fields: the first that fit
        if kept_field is None:
            continue
        if used + len(kept_field) > limit:
            leave_out(index)
        else:
            used += len(kept_field)
    notes = [f"{name} x{count}" if count > 1 else name for name, count in left_out.items()]
    note = f"header section of {size} bytes cut to {used}"
    if notes:
        note += ": left out " + ", ".join(notes)
    if shortened:
        note += ("; " if notes else ": ") + "shortened " + ", ".join(sorted(shortened))
    kept = b"".join(f for f in fields if f is not None)
    return kept.rstrip(b"\r\n") + rest, note


_BOUNDARY_PARAM = re.compile(
    rb"""boundary(\*(?:0\*?)?)?\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s";]{1,200}))""", re.IGNORECASE)
_DELIMITER_LINE = re.compile(rb"(?m)^--([^\r\n]{1,202})")


def _cut_parts(body: bytes, max_parts: int) -> tuple[bytes, str | None]:
    """``body`` cut before the delimiter line that opens part ``max_parts + 1``, so that the
    stdlib never builds more parts than the limit allows. Only lines that open a part of a
    declared boundary count: a pasted log full of ``--option`` lines is text."""
    exact: set[bytes] = set()
    prefixes: set[bytes] = set()  # RFC 2231 forms (boundary*0=, boundary*=): their start
    for match in _BOUNDARY_PARAM.finditer(body):
        value = match.group(2) or match.group(3)
        if match.group(1):
            prefixes.add(value.rpartition(b"'")[2][:8] or value)
        else:
            exact.add(value)
    if not exact and not prefixes:
        return body, None
    opened = 0
    for match in _DELIMITER_LINE.finditer(body):
        line = match.group(1).rstrip()
        if line in exact or (prefixes and line.startswith(tuple(prefixes))):
            opened += 1
            if opened > max_parts:
                return (body[: match.start()],
                        f"more than {max_parts} MIME parts: the first {max_parts} were read")
    return body, None


def _clean_line(text: str, limit: int = 2000) -> str:
    return " ".join(_CONTROL.sub("", text).split())[:limit]


def _raw_values(msg: Message, name: str) -> list[str]:
    key = name.lower()
    values: list[str] = []
    for header_name, value in msg.raw_items():
        if header_name.lower() == key:
            values.append(value if isinstance(value, str) else str(value))
    return values


def _first_raw(msg: Message, name: str) -> str | None:
    values = _raw_values(msg, name)
    return values[0] if values else None


def _normalise_msg_id(value: str | None) -> str | None:
    if value is None:
        return None
    text = _CONTROL.sub("", raw_header_text(value))
    match = _MSG_ID.search(text) or _MSG_ID_SPACED.search(text)
    if match:
        inner = "".join(match.group(1).split())
    else:
        tokens = text.replace("<", " ").replace(">", " ").split()
        if not tokens:
            return None
        inner = tokens[0]
    inner = inner.strip()[:900]
    return f"<{inner}>" if inner else None


def _msg_id_list(value: str) -> list[str]:
    """The Message-IDs of In-Reply-To or References, each cut like a Message-ID (900
    characters), so that a reply names a long id the way its mail was stored."""
    text = _CONTROL.sub("", raw_header_text(value))
    ids = [f"<{m[:900]}>" for m in _MSG_ID.findall(text)]
    if not ids:
        ids = [f"<{tok[:900]}>" for tok in text.replace("<", " ").replace(">", " ").split()
               if "@" in tok]
    return ids


# A match starts only where a run of local-part characters starts: tried at every character of
# a long run without "@" (a base64 blob in From), the search took quadratic time.
_BARE_ADDRESS = re.compile(r"(?<![A-Za-z0-9._%+=!#$&*/?^`{|}~-])"
                           r"[A-Za-z0-9._%+=!#$&*/?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SYSTEM_MAILBOX = re.compile(
    r"(?:([^<>@]*?)\s*<\s*)?(mailer-daemon|postmaster)\s*>?\s*(?:\([^()@]*\))?", re.IGNORECASE)
_ADDRESS_OK = re.compile(r"[^\s@<>(),;:\"\[\]\\]+@[^\s@<>(),;:\"\[\]\\]+")


_ANGLE_ADDRESS = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_SINGLE_QUOTED_NAME = re.compile(r"""(^|[,;]\s*)'([^'"<>]*)'\s*<""")
_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?\S*?\?=")


def _address_text(value: str, guesses: Sequence[str]) -> str:
    """An address header as text for ``getaddresses``. Encoded words stay encoded (a comma
    inside one is not a separator), except when a broken client encoded the ``<address>``
    itself: then the header is decoded first."""
    text = re.sub(r"\r?\n", " ", raw_header_text(value, guesses=guesses))
    # 'Schmidt, Eva' <eva@...>: single quotes do not protect the comma; make them double
    text = _SINGLE_QUOTED_NAME.sub(r'\1"\2" <', text)
    if "=?" in text and not _ANGLE_ADDRESS.search(_WORD.sub(" ", text)):
        decoded = decode_header_value(text, guesses=guesses)
        if _ANGLE_ADDRESS.search(decoded):
            return decoded
    return text


def _addresses(values: Sequence[str], guesses: Sequence[str]) -> tuple[list[Address], bool]:
    """Parse address headers; returns the valid mailboxes and whether anything was dropped."""
    result: list[Address] = []
    dropped = False
    texts = [_address_text(v, guesses) for v in values]
    try:
        pairs = email.utils.getaddresses(texts)
    except Exception:
        pairs = []
        dropped = True
    for name, address in pairs:
        address = _CONTROL.sub("", address).strip().strip("<>").strip()
        if len(address) > 2 and address[0] == address[-1] == "'":
            address = address[1:-1].strip()  # Outlook: 'support@shop.example'
        if not _ADDRESS_OK.fullmatch(address) or len(address) > 320:
            if address or name:
                dropped = True
            continue
        display = _clean_line(decode_header_value(name, guesses=guesses), 300)
        if len(display) > 2 and display[0] == display[-1] == "'":
            display = display[1:-1].strip()  # Outlook: "'Müller, Hans'"
        if display.strip("'\" ").lower() == address.lower():
            display = ""
        result.append(Address(address=address, name=display))
    if not result:
        # "Hans Meier hans@example.de": no brackets, so no parser finds the address
        for text in texts:
            found = [a for a in _BARE_ADDRESS.findall(text) if len(a) <= 320]
            if len(found) == 1:
                rest = _clean_line(decode_header_value(text.replace(found[0], " "),
                                                       guesses=guesses), 300)
                result.append(Address(address=found[0], name=rest.strip("'\"<>()[] ")))
            elif found:  # "a@x.example b@x.example": separated by blanks only
                result.extend(Address(address=a) for a in dict.fromkeys(found))
            elif system := _SYSTEM_MAILBOX.fullmatch(text.strip()):
                # "MAILER-DAEMON": a mail system's own mailbox, named without a domain
                name = _clean_line(decode_header_value(system.group(1) or "", guesses=guesses),
                                   300)
                result.append(Address(address=system.group(2), name=name.strip("'\" ")))
    return result, dropped


# Zone names the stdlib does not know (it reads them as -0000) and that mail from Europe and
# Asia carries; the US names are known to the stdlib.
_ZONES = {"CET": "+0100", "CEST": "+0200", "MET": "+0100", "MEST": "+0200", "MEZ": "+0100",
          "MESZ": "+0200", "WET": "+0000", "WEST": "+0100", "BST": "+0100", "EET": "+0200",
          "EEST": "+0300", "MSK": "+0300", "JST": "+0900", "KST": "+0900", "HKT": "+0800",
          "SGT": "+0800", "AEST": "+1000", "AEDT": "+1100", "NZST": "+1200", "NZDT": "+1300"}
_GERMAN_MONTHS = {"jän": "Jan", "mär": "Mar", "mrz": "Mar", "mai": "May", "okt": "Oct",
                  "dez": "Dec"}
_ZONE_NAME = re.compile(r"(\d{1,2}:\d{2}(?::\d{2})?)\s+([A-Z]{3,4})\b(?!\s*[+-]\d)")
_COLON_OFFSET = re.compile(r"(?:\b(?:GMT|UTC))?([+-])(\d{1,2}):?(\d{2})\b(?=\s*(?:\(.*\))?\s*$)")
_MONTH_WORD = re.compile(r"\b(jän|mär|mrz|mai|okt|dez)[a-z.]*", re.IGNORECASE)


def _normalise_date(text: str) -> str:
    """Repair what real clients put in Date beyond RFC 5322: ``+01:00`` and ``GMT+01:00``
    offsets, zone names such as CET/CEST/MESZ, German month names."""
    text = _MONTH_WORD.sub(lambda m: _GERMAN_MONTHS[m.group(1).lower()], text)
    text = _COLON_OFFSET.sub(lambda m: f"{m.group(1)}{int(m.group(2)):02d}{m.group(3)}", text)
    return _ZONE_NAME.sub(lambda m: f"{m.group(1)} {_ZONES.get(m.group(2), m.group(2))}", text)


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if value is None:
        return None
    text = _normalise_date(_clean_line(value, 200))
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except Exception:
        parsed = None
    if parsed is None:
        try:  # some scripts write ISO 8601: 2026-11-30T10:00:00+01:00
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is None:
        defects.append("invalid Date header")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        result = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        defects.append("invalid Date header")
        return None
    if not 1970 <= result.year <= 9000:
        defects.append("implausible Date header")
        return None
    return result


def _param(part: Message, name: str, header: str) -> object:
    """A MIME parameter, read from the raw header (8-bit bytes decoded first) so that the
    stdlib never sees surrogate escapes."""
    raw = _first_raw(part, header)
    if raw is None:
        return None
    try:
        scratch = Message()
        scratch[header] = raw_header_text(raw).replace("\r", "").replace("\n", "")
        value = scratch.get_param(name, header=header)
        if isinstance(value, str) and f"{name}*" in raw.lower():
            # both name= and name*= given: the RFC 2231 form is the real one (RFC 2231
            # section 4); the stdlib returns the plain one first
            for key, extended in scratch.get_params(header=header) or []:
                if key.lower() == name and isinstance(extended, tuple):
                    return extended
        return value
    except Exception:
        return None


def _content_type(part: Message) -> str:
    raw = _first_raw(part, "content-type")
    if raw is None:
        return ""
    value = raw.split(";", 1)[0].strip().lower()
    value = re.sub(r"\s+", "", value)
    return value if _CONTENT_TYPE.fullmatch(value) else "application/octet-stream"


def _disposition(part: Message) -> str:
    raw = _first_raw(part, "content-disposition")
    if raw is None:
        return ""
    return raw.split(";", 1)[0].strip().lower()


_QP_SOFT_BREAK_SPACE = re.compile(rb"=[ \t]+(?=\r?\n)")


def _raw_payload(part: Message) -> bytes | None:
    raw = part.get_payload()
    if not isinstance(raw, str):
        return None
    return raw.encode("ascii", "surrogateescape") if raw.isascii() or _has_surrogates(
        raw) else raw.encode("utf-8", "replace")


def _payload(part: Message, defects: list[str]) -> bytes:
    # What the stdlib does not decode: " Base64 " with stray blanks, "base-64", and
    # quoted-printable soft line breaks followed by blanks ("= \n", RFC 2045 6.7).
    declared = (_first_raw(part, "content-transfer-encoding") or "").strip().lower()
    if declared in {"base64", "base-64", "quoted-printable"} and not part.is_multipart():
        exact = (_first_raw(part, "content-transfer-encoding") or "").lower() == declared
        raw = _raw_payload(part)
        if raw is not None and declared == "quoted-printable" and (
                not exact or _QP_SOFT_BREAK_SPACE.search(raw)):
            return _decode_transfer(_QP_SOFT_BREAK_SPACE.sub(b"=", raw), "quoted-printable")
        if raw is not None and declared != "quoted-printable" and (
                not exact or declared == "base-64"):
            return _decode_transfer(raw, "base64")
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
        defects.append("undecodable part payload")
    if isinstance(data, bytes):
        return data
    return _raw_payload(part) or b""


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    return [child for child in payload if isinstance(child, Message)]


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


_UUENCODE_CTES = {"x-uuencode", "uuencode", "x-uue", "uue"}
_UUE_BEGIN = re.compile(r"^begin [0-7]{3,4} ([^\r\n]{1,255})$", re.MULTILINE)
_UUE_BLOCK = re.compile(
    r"^begin [0-7]{3,4} ([^\r\n]{1,255})\r?\n(.*?)^end[ \t]*$\r?\n?", re.MULTILINE | re.DOTALL
)
_UUE_END = re.compile(r"^end[ \t]*$\r?\n?", re.MULTILINE)


def _decode_transfer(data: bytes, encoding: str) -> bytes:
    try:
        if encoding == "base64":
            cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", data)
            cleaned += b"=" * (-len(cleaned) % 4)
            return binascii.a2b_base64(cleaned)
        return quopri.decodestring(data)
    except (binascii.Error, ValueError):
        return data


_REDUNDANT_ALTERNATIVES = {"text/x-amp-html", "text/watch-html", "text/enriched",
                           "text/richtext"}

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""",
                           re.IGNORECASE)


def _unflow(text: str, *, delete_space: bool) -> str:
    """Undo RFC 3676 format=flowed: soft line breaks joined, space-stuffing removed.

    A paragraph's lines are collected and joined once: adding each line to a growing string
    took time with the square of the paragraph's length."""
    out: list[str] = []
    pending: list[str] | None = None  # the lines of a paragraph that goes on
    pending_depth = -1
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.lstrip(">")
        depth = len(line) - len(stripped)
        if stripped.startswith(" "):
            stripped = stripped[1:]
        if pending is not None and depth != pending_depth:
            out.append(">" * pending_depth + (" " if pending_depth else "") + "".join(pending))
            pending = None
        if stripped.endswith(" ") and stripped != "-- ":
            if pending is None:
                pending, pending_depth = [], depth
            pending.append(stripped[:-1] if delete_space else stripped)
            continue
        content = "".join(pending) + stripped if pending is not None else stripped
        out.append(">" * depth + (" " if depth and content else "") + content)
        pending = None
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + "".join(pending))
    return "\n".join(out)


@attrs.define
class _Walk:
    limits: MailLimits
    guesses: Sequence[str]
    keep_remote_images: bool
    started: float
    defects: list[str] = attrs.Factory(list)
    texts: list[str] = attrs.Factory(list)
    htmls: list[str] = attrs.Factory(list)
    attachments: list[ParsedAttachment] = attrs.Factory(list)
    names: set[str] = attrs.Factory(set)
    parts: int = 0
    plain_seen: bool = False
    html_seen: bool = False
    # HTML is rendered as text only where its text is used (not in the sub-walks of
    # multipart/alternative); all parts together get at most the limits' characters and tags.
    render_html: bool = True
    html_left: list[int] = attrs.Factory(list)  # [characters, tags] the renderer may still get
    html_notes: list[str] = attrs.Factory(list)
    first_bound: BoundedHtml | None = None
    first_html: str | None = None

    # ---- limits ------------------------------------------------------------------------
    def spent(self) -> bool:
        return time.monotonic() - self.started > self.limits.time_budget_s

    def tick(self, depth: int) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise _Stop(f"more than {self.limits.max_parts} MIME parts")
        if depth > self.limits.max_depth:
            raise _Stop(f"MIME nesting deeper than {self.limits.max_depth}")
        if time.monotonic() - self.started > self.limits.time_budget_s:
            raise _Stop(f"parsing took longer than {self.limits.time_budget_s:g} s")

    # ---- attachments -------------------------------------------------------------------
    def unique_name(self, wanted: str) -> str:
        name = safe_filename(wanted)
        if name.casefold() not in self.names:
            self.names.add(name.casefold())
            return name
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        suffix = f".{ext}" if ext else ""
        counter = 2
        while True:
            marker = f" ({counter})"
            candidate = safe_filename(stem[: 150 - len(suffix) - len(marker)].rstrip(" .")
                                      + marker + suffix)
            if candidate.casefold() not in self.names:
                self.names.add(candidate.casefold())
                return candidate
            counter += 1
            if counter > 10_000:  # cannot happen within max_parts; never loop forever
                stem, suffix = f"attachment-{len(self.names)}", ""

    def add_attachment(self, part: Message, ctype: str, data: bytes, *,
                       default_name: str | None = None, inline: bool | None = None) -> None:
        filename = decode_param(_param(part, "filename", "content-disposition"),
                                guesses=self.guesses)
        if not filename:
            filename = decode_param(_param(part, "name", "content-type"), guesses=self.guesses)
        if not filename:
            location = _first_raw(part, "content-location")
            if location:
                filename = raw_header_text(location, guesses=self.guesses).strip().split("?")[0]
        if not filename:
            filename = default_name or self.default_name(ctype)
        filename = _clean_line(filename, 400)
        if len(filename) > 150:  # safe_filename keeps 150 characters; the raw mail has all
            self.defects.append("attachment name longer than 150 characters shortened")
        if ctype == "text/html" and not filename.lower().endswith((".html", ".htm",
                                                                    ".html.txt")):
            filename += ".html"
        cid_raw = _first_raw(part, "content-id")
        content_id = None
        if cid_raw:
            content_id = _clean_line(raw_header_text(cid_raw, guesses=self.guesses), 500)
            content_id = content_id.strip().strip("<>").strip() or None
        disposition = _disposition(part)
        if inline is None:
            # an image the HTML refers to by cid: or by its Content-Location is shown inline
            referable = content_id is not None or _first_raw(part, "content-location") is not None
            inline = disposition == "inline" or (
                disposition != "attachment" and referable and ctype.startswith("image/")
            )
        self.attachments.append(ParsedAttachment(
            filename=self.unique_name(filename),
            content_type=ctype if _CONTENT_TYPE.fullmatch(ctype) else "application/octet-stream",
            size=len(data),
            content_id=content_id,
            inline=inline,
            data=data,
        ))

    def type_from_name(self, part: Message) -> str:
        """The type of a part without Content-Type: guessed from its file name, if any."""
        name = decode_param(_param(part, "filename", "content-disposition"),
                            guesses=self.guesses) or ""
        guessed = mimetypes.guess_type(name.strip(), strict=False)[0] if name.strip() else None
        if guessed and _CONTENT_TYPE.fullmatch(guessed):
            return guessed
        return "application/octet-stream"

    @staticmethod
    def default_name(ctype: str) -> str:
        special = {
            "application/pkcs7-signature": "smime.p7s",
            "application/x-pkcs7-signature": "smime.p7s",
            "application/pkcs7-mime": "smime.p7m",
            "application/x-pkcs7-mime": "smime.p7m",
            "application/pgp-signature": "signature.asc",
            "application/pgp-encrypted": "pgp-encrypted.asc",
            "message/delivery-status": "delivery-status.txt",
            "message/disposition-notification": "disposition-notification.txt",
            "text/rfc822-headers": "headers.txt",
            "text/calendar": "invite.ics",
            "application/ms-tnef": "winmail.dat",
            "application/vnd.ms-tnef": "winmail.dat",
            "text/plain": "attachment.txt",
            "text/html": "attachment.html",
        }
        if ctype in special:
            return special[ctype]
        ext = mimetypes.guess_extension(ctype, strict=False) or ".bin"
        return "attachment" + ext

    # ---- text --------------------------------------------------------------------------
    def text_of(self, part: Message, data: bytes) -> str:
        charset = decode_param(_param(part, "charset", "content-type"))
        if not charset and _content_type(part) == "text/html":
            meta = _META_CHARSET.search(data[:4096])
            charset = meta.group(1).decode("ascii") if meta else None
        text = decode_bytes(data, charset, guesses=self.guesses).replace("\x00", "")
        text = text.removeprefix("\ufeff")
        flowed = decode_param(_param(part, "format", "content-type"))
        if flowed and flowed.strip().lower() == "flowed":
            delsp = (decode_param(_param(part, "delsp", "content-type")) or "").strip().lower()
            text = _unflow(text, delete_space=delsp == "yes")
        return text

    def add_plain(self, text: str) -> None:
        text = self.extract_uuencoded(text.replace("\r\n", "\n"))
        self.texts.append(text)
        self.plain_seen = True

    def add_html(self, html: str) -> None:
        self.htmls.append(html)
        self.texts.append(self.render(html) if self.render_html else "")
        self.html_seen = True

    def render(self, html: str) -> str:
        """``html`` as text, within what is left of the HTML limits and the time budget."""
        if not self.html_left:
            self.html_left[:] = [self.limits.max_html_chars, self.limits.max_html_tags]
        chars, tags = self.html_left
        bounded = bound_html(html, max_depth=self.limits.max_html_depth, max_tags=max(tags, 0),
                             max_chars=max(chars, 0))
        if self.first_html is None:
            self.first_html, self.first_bound = html, bounded
        self.html_left[:] = [chars - len(bounded.html), tags - bounded.tags]
        if bounded.notes and not self.html_notes:  # said once, by the bound of all the HTML
            self.html_notes.extend(bounded.notes)
        if self.spent():
            return rough_text(bounded.html)
        return html_to_text(bounded.html)

    def extract_uuencoded(self, text: str) -> str:
        if "begin " not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            out = bytearray()
            try:
                for line in match.group(2).splitlines():
                    if not line.strip() or line.strip() == "`":
                        continue
                    out.extend(binascii.a2b_uu(line))
            except (binascii.Error, ValueError):
                return match.group(0)
            fake = Message()
            self.add_attachment(fake, mimetypes.guess_type(match.group(1).strip())[0]
                                or "application/octet-stream", bytes(out),
                                default_name=match.group(1).strip(), inline=False)
            return ""

        # Only the text up to the last "end" line is searched: a "begin" line after it would
        # be tried against all the rest of the text, and many of them took quadratic time.
        last = None
        for found in _UUE_END.finditer(text):
            last = found
        if last is None:
            return text
        result = _UUE_BLOCK.sub(replace, text[:last.end()]) + text[last.end():]
        if result != text:  # the blank lines around a removed block become one
            result = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", result)
        return result

    # ---- the tree ----------------------------------------------------------------------
    def walk(self, part: Message, depth: int, *, root: bool = False) -> None:
        self.tick(depth)
        ctype = _content_type(part)
        if not ctype:
            ctype = "text/plain" if root else ""
        if part.is_multipart():
            children = _children(part)
            if ctype.startswith("message/"):
                self.add_message(part, children, depth)
                return
            if not ctype.startswith("multipart/"):
                self.defects.append(f"multipart body under {ctype or 'no content type'}")
            self.walk_multipart(part, ctype, children, depth)
            return
        self.walk_leaf(part, ctype, depth)

    def walk_multipart(self, part: Message, ctype: str, children: list[Message],
                       depth: int) -> None:
        if not children:
            self.defects.append(f"{ctype} without parts")
            data = _payload(part, self.defects)
            if data.strip():
                self.add_attachment(part, "application/octet-stream", data)
            return
        if ctype == "multipart/alternative":
            self.walk_alternative(children, depth)
        elif ctype == "multipart/related":
            start = decode_param(_param(part, "start", "content-type"))
            root_index = 0
            if start:
                for index, child in enumerate(children):
                    cid = _first_raw(child, "content-id") or ""
                    if cid.strip() == start.strip():
                        root_index = index
            for index, child in enumerate(children):
                if index == root_index:
                    self.walk(child, depth + 1)
                else:
                    self.tick(depth + 1)
                    self.leaf_as_attachment(child, depth + 1)
        elif ctype == "multipart/signed":
            self.walk(children[0], depth + 1)
            for child in children[1:]:
                self.tick(depth + 1)
                self.leaf_as_attachment(child, depth + 1)
        elif ctype == "multipart/encrypted":
            for child in children:
                self.tick(depth + 1)
                self.leaf_as_attachment(child, depth + 1)
        else:
            for child in children:
                self.walk(child, depth + 1)

    def walk_alternative(self, children: list[Message], depth: int) -> None:
        plain: str | None = None
        html: str | None = None
        redundant: list[Message] = []
        for child in children:
            ctype = _content_type(child) or "text/plain"
            attached = _disposition(child) == "attachment"
            if child.is_multipart() and ctype.startswith("multipart/"):
                sub = _Walk(self.limits, self.guesses, self.keep_remote_images, self.started,
                            names=self.names, parts=self.parts, render_html=False)
                sub.walk(child, depth + 1)
                self.parts = sub.parts
                self.defects.extend(sub.defects)
                self.attachments.extend(sub.attachments)
                if html is None and sub.htmls:
                    html = "\n".join(sub.htmls)
                if plain is None and sub.plain_seen and not sub.htmls:
                    plain = "\n".join(sub.texts)
                continue
            self.tick(depth + 1)
            if ctype in _REDUNDANT_ALTERNATIVES and not attached:
                redundant.append(child)  # another rendering of the same text
                continue
            if ctype == "text/plain" and not attached and plain is None:
                plain = self.text_of(child, _payload(child, self.defects))
            elif ctype == "text/html" and not attached and html is None:
                html = self.text_of(child, _payload(child, self.defects))
            else:
                self.leaf_as_attachment(child, depth + 1)
        if plain is not None and not plain.strip() and html is not None:
            plain = None  # an empty text/plain next to real HTML: the HTML is the body
        if plain is not None:
            self.add_plain(plain)
            if html is not None:
                self.htmls.append(html)
        elif html is not None:
            self.add_html(html)
        else:
            for child in redundant:  # nothing better: keep what there is
                self.leaf_as_attachment(child, depth + 1)

    def walk_leaf(self, part: Message, ctype: str, depth: int) -> None:
        encoding = (_first_raw(part, "content-transfer-encoding") or "").strip().lower()
        if encoding in _UUENCODE_CTES:
            self.add_uuencoded_part(part)
            return
        disposition = _disposition(part)
        file_name = bool(_param(part, "filename", "content-disposition"))
        has_name = file_name or bool(_param(part, "name", "content-type"))
        # Apple Mail sends attached .txt files as "inline; filename=notes.txt": a file name in
        # the disposition makes it a file, whatever the disposition says
        body_like = disposition != "attachment" and (
            (disposition == "inline" and not file_name) or not has_name)
        if ctype == "text/plain" and body_like:
            self.add_plain(self.text_of(part, _payload(part, self.defects)))
        elif ctype == "text/html" and body_like:
            self.add_html(self.text_of(part, _payload(part, self.defects)))
        else:
            if not ctype:
                self.defects.append("part without Content-Type kept as an attachment")
            self.leaf_as_attachment(part, depth)

    def add_uuencoded_part(self, part: Message) -> None:
        """A part sent with ``Content-Transfer-Encoding: x-uuencode``: always a file, named
        by its parameters or else by its ``begin`` line."""
        raw = part.get_payload()
        begin = _UUE_BEGIN.search(raw) if isinstance(raw, str) else None
        name = raw_header_text(begin.group(1).strip(), guesses=self.guesses) if begin else None
        ctype = _content_type(part) or "text/plain"
        if ctype.startswith("text/"):  # the declared text is the encoding, not the file
            guessed = mimetypes.guess_type(name, strict=False)[0] if name else None
            ctype = (guessed if guessed and _CONTENT_TYPE.fullmatch(guessed)
                     else "application/octet-stream")
        if ctype == "text/html":
            ctype = "application/octet-stream"  # never rendered as a body
        self.add_attachment(part, ctype, _payload(part, self.defects), default_name=name,
                            inline=False)

    def leaf_as_attachment(self, part: Message, depth: int) -> None:
        ctype = _content_type(part) or self.type_from_name(part)
        if part.is_multipart():
            children = _children(part)
            if ctype.startswith("message/"):
                self.add_message(part, children, depth)
                return
            # a multipart where a leaf was expected: keep every leaf below it
            for child in children:
                self.tick(depth + 1)
                self.leaf_as_attachment(child, depth + 1)
            return
        self.add_attachment(part, ctype, _payload(part, self.defects))

    def add_message(self, part: Message, children: list[Message], depth: int) -> None:
        """A forwarded mail (message/rfc822): kept whole as an ``.eml`` attachment."""
        ctype = _content_type(part) or "message/rfc822"
        if ctype not in {"message/rfc822", "message/global"}:
            # message/delivery-status and friends: header blocks, kept as text
            blocks: list[bytes] = []
            for child in children:
                try:
                    blocks.append(child.as_bytes(policy=compat32))
                except Exception:
                    self.defects.append(f"{ctype} block could not be serialised")
            self.add_attachment(part, ctype, b"\n".join(blocks))
            return
        inner = children[0] if children else None
        data = b""
        subject = ""
        if inner is not None:
            self.count_nested(inner, depth + 1)
            try:
                data = inner.as_bytes(policy=compat32)
            except Exception:
                try:
                    data = str(inner).encode("utf-8", "surrogateescape")
                except Exception:
                    data = b""
                    self.defects.append("forwarded message could not be serialised")
            subject = _clean_line(decode_header_value(_first_raw(inner, "subject") or "",
                                                      guesses=self.guesses), 100)
            encoding = (_first_raw(part, "content-transfer-encoding") or "").strip().lower()
            if encoding in {"base64", "quoted-printable"}:
                # not allowed by RFC 2046, sent anyway: the stdlib parsed the encoded text
                data = _decode_transfer(data, encoding)
                try:
                    nested = BytesHeaderParser(policy=compat32).parsebytes(data)
                    subject = _clean_line(decode_header_value(
                        _first_raw(nested, "subject") or "", guesses=self.guesses), 100)
                except Exception:
                    subject = ""
        self.add_attachment(part, "message/rfc822", data,
                            default_name=(subject or "forwarded message") + ".eml")

    def count_nested(self, msg: Message, depth: int) -> None:
        self.tick(depth)
        if msg.is_multipart():
            for child in _children(msg):
                self.count_nested(child, depth + 1)


def _headers(msg: Message, guesses: Sequence[str]) -> tuple[tuple[str, str], ...]:
    result: list[tuple[str, str]] = []
    for name, value in msg.raw_items():
        decoded = decode_header_value(value, guesses=guesses)
        result.append((_clean_line(raw_header_text(str(name)), 200),
                       _CONTROL.sub("", decoded.replace("\r", "").replace("\n", " "))))
    return tuple(result)


def _header_guesses(msg: Message, guesses: Sequence[str]) -> tuple[str, ...]:
    """The guess list for raw 8-bit headers: UTF-8, then the charset the first text part
    declares (a client that writes raw headers writes them in its own charset: GBK spam,
    latin-1 mailers), then the configured guesses."""
    for index, part in enumerate(msg.walk()):
        if index > 50:
            break
        if _content_type(part).startswith("text/") or (index == 0 and not part.is_multipart()):
            codec = normalise_charset(decode_param(_param(part, "charset", "content-type")))
            if codec and codec not in {"ascii", "utf-8"}:
                return tuple(dict.fromkeys(("utf-8", codec, *guesses)))
            if codec:
                break
    return tuple(guesses)


def _envelope(msg: Message, raw: bytes, guesses: Sequence[str],
              defects: list[str]) -> ParsedMail:
    """The header-derived fields of a ParsedMail (body fields left empty)."""
    from_values = _raw_values(msg, "from")
    if len(from_values) > 1:
        defects.append("more than one From header")
    sender: Address | None = None
    for header in ("from", "reply-to", "sender", "return-path"):
        for value in _raw_values(msg, header):
            found, _dropped = _addresses([value], guesses)
            if found:
                sender = found[0]
                break
        if sender is not None:
            if header != "from":
                defects.append(f"no usable From header; sender taken from {header}")
            break
    if sender is None:
        defects.append("no sender address")
    lenient, _dropped = _addresses(from_values, guesses)
    identity = sender_identity(from_values, also=[a.address for a in lenient],
                               guesses=guesses)
    if identity.address is not None:  # the strict reading wins; the lenient one's name
        sender = Address(identity.address,
                         lenient[0].name if lenient else _clean_line(identity.name, 300))
    lists: dict[str, tuple[Address, ...]] = {}
    for header in ("to", "cc", "reply-to"):
        found, dropped = _addresses(_raw_values(msg, header), guesses)
        if dropped:
            defects.append(f"unparseable address in {header.title()}")
        lists[header] = tuple(found)
    subject = _first_raw(msg, "subject")
    raw_id = _first_raw(msg, "message-id")
    message_id = _normalise_msg_id(raw_id)
    if raw_id is not None and message_id is None:
        defects.append("empty Message-ID")
    elif raw_id is not None and message_id is not None and message_id != raw_id.strip():
        defects.append("malformed Message-ID normalised")
    in_reply_to = _first_raw(msg, "in-reply-to")
    parent: str | None = None
    if in_reply_to is not None:
        ids = _msg_id_list(in_reply_to)
        parent = ids[0] if ids else _normalise_msg_id(in_reply_to)
    references: list[str] = []
    for value in _raw_values(msg, "references"):
        references.extend(_msg_id_list(value))
    return ParsedMail(
        raw=raw,
        from_address=sender.address if sender else None,
        from_name=sender.name if sender else "",
        to=lists["to"],
        cc=lists["cc"],
        reply_to=lists["reply-to"],
        subject=_clean_line(decode_header_value(subject or "", guesses=guesses), 1000),
        message_id=message_id,
        in_reply_to=parent,
        references=tuple(dict.fromkeys(references))[-500:],
        date=_parse_date(_first_raw(msg, "date"), defects),
        headers=_headers(msg, guesses),
        sender_problem=identity.problem,
    )


def parse_mail(
    data: bytes,
    *,
    limits: MailLimits = MailLimits(),  # noqa: B008 - frozen, so sharing it is safe
    guesses: Sequence[str] = DEFAULT_GUESSES,
    keep_remote_images: bool = False,
) -> ParsedMail:
    """Parse one raw mail. Never raises: whatever goes wrong becomes ``defects`` or a
    ``quarantine_reason`` on the result, and ``raw`` always holds the exact input."""
    raw = _as_bytes(data)
    try:
        return _parse(raw, limits, tuple(guesses), keep_remote_images)
    except Exception as exc:
        return ParsedMail(raw=raw, defects=(f"parser failure: {type(exc).__name__}",),
                          quarantine_reason="the mail could not be parsed")


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    return b""


def _headers_only(body: bytes, limits: MailLimits, guesses: Sequence[str],
                  defects: list[str], reason: str, raw: bytes) -> ParsedMail:
    head = body[: min(_header_section_length(body), limits.max_header_bytes)]
    envelope = ParsedMail(raw=raw)
    try:
        msg = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n")
        envelope = _envelope(msg, raw, guesses, defects)
    except Exception:
        defects.append("headers could not be read")
    return attrs.evolve(envelope, defects=tuple(dict.fromkeys(defects)),
                        quarantine_reason=reason)


def _parse(raw: bytes, limits: MailLimits, guesses: tuple[str, ...],
           keep_remote_images: bool) -> ParsedMail:
    started = time.monotonic()
    body, defects = _strip_leading_junk(raw[: limits.max_header_bytes * 4]
                                        if len(raw) > limits.max_bytes else raw)
    body, repaired = _repair_folding(body)
    if repaired:
        defects.append("broken header folding repaired")
    if len(raw) > limits.max_bytes:
        return _headers_only(body, limits, guesses, defects,
                             f"larger than {limits.max_bytes} bytes", raw)
    # Past the other limits the mail is read as far as they allow, and what was left out is
    # said in ``truncated``: the raw bytes hold all of it.
    truncated: list[str] = []
    if _header_section_length(body) > limits.max_header_bytes:
        body, trimmed = _trim_header_section(body, limits.max_header_bytes)
        truncated.append(trimmed)
    body, cut = _cut_parts(body, limits.max_parts)
    if cut is not None:
        truncated.append(cut)
    try:
        msg = BytesParser(policy=compat32).parsebytes(body)
    except RecursionError:
        return _headers_only(body, limits, guesses, defects,
                             f"MIME nesting deeper than {limits.max_depth}", raw)
    envelope = _envelope(msg, raw, _header_guesses(msg, guesses), defects)
    walk = _Walk(limits, guesses, keep_remote_images, started, defects=defects)
    reason: str | None = None
    try:
        walk.walk(msg, 0, root=True)
    except _Stop as stop:
        truncated.append(f"{stop}: the parts after that were not read")
    except RecursionError:
        reason = f"MIME nesting deeper than {limits.max_depth}"
    for defect in msg.defects:
        walk.defects.append(type(defect).__name__)
    texts = (t.replace("\r\n", "\n").replace("\r", "\n").strip("\n") for t in walk.texts)
    body_text = "\n\n".join(t for t in texts if t.strip())
    html_original = "\n".join(walk.htmls) if walk.htmls else None
    body_html = _safe_html(html_original, walk, keep_remote_images)
    truncated.extend(dict.fromkeys(walk.html_notes))
    attachments = _mark_referenced_inline(walk.attachments, html_original)
    content_type = "text/html" if html_original is not None else "text/plain"
    new_text = ""
    if body_text and walk.spent():
        new_text = body_text[:100_000]
        walk.defects.append(f"parsing took longer than {limits.time_budget_s:g} s: quoted "
                            "history not cut")
    elif body_text:
        new_text = new_reply_text(body_text)
    if walk.spent():
        walk.defects.append(f"parsing took longer than {limits.time_budget_s:g} s")
    return attrs.evolve(
        envelope,
        content_type=content_type,
        body_text=body_text,
        body_html=body_html,
        html_original=html_original,
        new_text=new_text,
        attachments=attachments,
        defects=tuple(dict.fromkeys(walk.defects)),
        truncated=tuple(truncated),
        quarantine_reason=reason,
    )


def _safe_html(html: str | None, walk: _Walk, keep_remote_images: bool) -> str | None:
    """The sanitised HTML body: the sanitiser gets the HTML within the limits (flattened and
    cut past them, with a note); once the time budget is spent it gets nothing, and the text
    is what the mail shows."""
    if html is None:
        return None
    limits = walk.limits
    if walk.spent():  # the notes of the first HTML part cut for the renderer, if any, stay
        walk.html_notes.append(f"parsing took longer than {limits.time_budget_s:g} s: the HTML "
                               "was not sanitised for display (the text is shown)")
        return None
    if walk.first_html is html and walk.first_bound is not None and len(walk.htmls) == 1:
        bounded = walk.first_bound  # the one part, bounded already for the renderer
    else:
        bounded = bound_html(html, max_depth=limits.max_html_depth,
                             max_tags=limits.max_html_tags, max_chars=limits.max_html_chars)
    walk.html_notes[:] = bounded.notes  # what was cut of all the HTML, said once
    return sanitise_html(bounded.html, keep_remote_images=keep_remote_images)


_CID_REFERENCE = re.compile(r"""cid:([^"'\s<>()]{1,500})""", re.IGNORECASE)


def _mark_referenced_inline(attachments: Sequence[ParsedAttachment],
                            html: str | None) -> tuple[ParsedAttachment, ...]:
    """An image the HTML shows through ``cid:`` is inline, even when the sender's client
    labelled its part ``attachment`` (Outlook does)."""
    if not html or "cid:" not in html.lower():
        return tuple(attachments)
    referenced = {urllib.parse.unquote(m).strip().lower()
                  for m in _CID_REFERENCE.findall(html[:5_000_000])}
    return tuple(
        attrs.evolve(a, inline=True)
        if not a.inline and a.content_id and a.content_id.lower() in referenced else a
        for a in attachments
    )
