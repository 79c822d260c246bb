"""The value an inbound mail becomes: frozen, decoded, sanitised, safe to store and show."""

from __future__ import annotations

from datetime import datetime

import attrs

from helpdesk_core.domain.article import AttachmentMeta

__all__ = ["Address", "MailLimits", "ParsedAttachment", "ParsedMail"]


@attrs.frozen
class Address:
    """One mailbox: ``address`` is ``local@domain`` (never empty), ``name`` the display name."""

    address: str
    name: str = ""


@attrs.frozen
class ParsedAttachment:
    """A MIME leaf that is not body text, as the mail describes it: ``content_type`` and
    ``inline`` are what the sender declared. ``filename`` is safe and unique within the
    mail."""

    filename: str
    content_type: str
    size: int
    content_id: str | None = None
    inline: bool = False
    data: bytes = attrs.field(default=b"", repr=False)

    def meta(self, blob_key: str) -> AttachmentMeta:
        """What an article stores about this attachment once its bytes are in ``blob_key``:
        see :meth:`AttachmentMeta.received` for the type it is served as."""
        return AttachmentMeta.received(blob_key=blob_key, filename=self.filename,
                                       declared_type=self.content_type, size=self.size,
                                       head=self.data[:16], content_id=self.content_id,
                                       inline=self.inline)


@attrs.frozen
class MailLimits:
    """How much of a mail the parser reads. A mail over ``max_bytes`` is quarantined unread;
    past the other limits it is read as far as they allow and ``ParsedMail.truncated`` says
    what was left out (the raw bytes keep all of it).

    The ``max_html_*`` limits bound what the HTML sanitiser and the HTML-to-text renderer are
    given, for all HTML parts of a mail together: at most ``max_html_chars`` characters,
    ``max_html_tags`` elements and ``max_html_depth`` levels of nesting. HTML beyond them is
    flattened (deeper elements and elements past the count become their text) and cut, with a
    note in ``truncated``; ``html_original`` and the raw bytes keep it whole. Every step after
    the MIME walk checks ``time_budget_s`` first and takes a cheaper way once it is spent."""

    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 20
    max_header_bytes: int = 256 * 1024
    time_budget_s: float = 5.0
    max_html_depth: int = attrs.field(default=128, validator=attrs.validators.ge(1))
    max_html_tags: int = attrs.field(default=50_000, validator=attrs.validators.ge(1))
    max_html_chars: int = attrs.field(default=1_000_000, validator=attrs.validators.ge(1))


@attrs.frozen
class ParsedMail:
    """A parsed inbound mail.

    ``raw`` is the exact input. ``headers`` holds every top-level header in order as
    ``(name, decoded value)`` (use :meth:`header` / :meth:`header_all`), so auto-reply and
    bounce detection (``Auto-Submitted``, ``Precedence``, ``X-Autoreply``, ``List-Id``,
    ``Return-Path`` ...) can work from the original values. ``content_type`` is the type the
    sender composed the main body in: ``text/html`` when the mail carries an HTML body (alone
    or as the rich side of multipart/alternative), else ``text/plain``. ``body_text`` is always
    text (the text/plain part when there is one, else the HTML rendered as text);
    ``body_html`` is sanitised and ``html_original`` is the HTML as sent. ``new_text`` is the
    reply without quoted history and signature. ``truncated`` says what the parser left out
    to stay within its :class:`MailLimits` (header fields of an oversized header section, MIME
    parts past the limits of count, depth or time). ``quarantine_reason`` is set when the mail
    is larger than ``max_bytes`` or could not be parsed at all; the other fields then hold what
    could be extracted safely.

    ``from_address`` is the author when ``sender_problem`` is None: the one address a strict
    reading of the one From header yields (:mod:`helpdesk_core.mail.identity`). Otherwise
    ``sender_problem`` says why nobody can tell who wrote the mail, and ``from_address`` is
    only the best guess of a lenient reading (From, else Reply-To, Sender, Return-Path), good
    for showing and for loop rules but never for deciding whose mail it is.
    """

    raw: bytes = attrs.field(repr=False)
    from_address: str | None = None
    from_name: str = ""
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    subject: str = ""
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    date: datetime | None = None
    content_type: str = "text/plain"
    body_text: str = attrs.field(default="", repr=False)
    body_html: str | None = attrs.field(default=None, repr=False)
    html_original: str | None = attrs.field(default=None, repr=False)
    new_text: str = attrs.field(default="", repr=False)
    attachments: tuple[ParsedAttachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    defects: tuple[str, ...] = ()
    truncated: tuple[str, ...] = ()
    quarantine_reason: str | None = None
    sender_problem: str | None = None

    @property
    def sender(self) -> Address | None:
        """The sender as an :class:`Address` (after the From → Reply-To → Sender →
        Return-Path fallback), or None when the mail names nobody."""
        if self.from_address is None:
            return None
        return Address(self.from_address, self.from_name)

    @property
    def author(self) -> str | None:
        """The address that wrote the mail, or None when ``sender_problem`` says why nobody
        can tell."""
        return self.from_address if self.sender_problem is None else None

    @property
    def quarantined(self) -> bool:
        return self.quarantine_reason is not None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        key = name.lower()
        for header_name, value in self.headers:
            if header_name.lower() == key:
                return value
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        """Every value of header ``name`` (case-insensitive), in order."""
        key = name.lower()
        return tuple(value for header_name, value in self.headers if header_name.lower() == key)
