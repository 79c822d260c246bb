"""Personal data of one contact: finding it in stored values, replacing it, exporting it.

Pure: nothing here reads storage. The service gathers what is stored about a contact and
hands it here; :class:`Scrubber` says what each stored value becomes once the contact's name,
e-mail addresses and phone numbers are replaced by placeholders, and
:class:`PersonalDataExport` turns what was gathered into a JSON document or a zip file.

What is replaced, in every text, recursively through JSON values:

- each e-mail address of the contact (any letter case) by ``erased-<short>@erased.invalid``
  (still shaped like an address, so code that expects one keeps working);
- the contact's full name, then each word of it (whole words, any letter case), by
  ``erased-<short>``;
- each phone number of the contact, in E.164 and as people type it (``+420 601 234 567``,
  ``601 234 567``, ``00420601234567`` ...), by ``[erased]``.

``<short>`` is the first eight characters of the SHA-256 of the contact's id: stable, so an
erasure run twice writes the same values, and not the id itself.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import IO, Any

import attrs
import phonenumbers

from helpdesk_core.domain.article import Article, AttachmentMeta
from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.mailbox import AutomaticSender, MessageRecord, StagedMail
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.values import Actor

__all__ = [
    "ERASED",
    "ErasureReport",
    "ExportedFile",
    "PersonalDataExport",
    "Scrubber",
    "erased_name",
    "is_erased",
]

#: What a phone number, and any other replaced text without a shape of its own, becomes.
ERASED = "[erased]"
_PHONE_REGIONS = ("CZ", "SK", "DE", "AT", "PL", "GB", "US")
_MIN_WORD = 2


def _short(contact_id: str) -> str:
    return hashlib.sha256(contact_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def erased_name(contact_id: str) -> str:
    """The name an erased contact gets: ``erased-<short>``."""
    return f"erased-{_short(contact_id)}"


def erased_email(contact_id: str) -> str:
    return f"erased-{_short(contact_id)}@erased.invalid"


def is_erased(contact: Contact) -> bool:
    """Whether ``contact`` is the record an erasure leaves: the placeholder name, no address,
    no number."""
    return (contact.name == erased_name(contact.id) and not contact.emails
            and not contact.phones)


def _phone_forms(e164: str) -> set[str]:
    """The ways a number is commonly written, for a literal match."""
    forms = {e164, e164.lstrip("+"), "00" + e164.lstrip("+")}
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    for style in (phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                  phonenumbers.PhoneNumberFormat.NATIONAL):
        written = phonenumbers.format_number(number, style)
        forms |= {written, written.replace(" ", ""), written.replace(" ", "-")}
    national = str(number.national_number)
    if len(national) >= 6:
        forms.add(national)
    return {f for f in forms if len(f) >= 6}


@attrs.frozen
class Scrubber:
    """Replaces one contact's name, addresses and numbers in stored values."""

    contact_id: str
    emails: tuple[str, ...]
    names: tuple[str, ...]  # the full name first, then its words
    phones: frozenset[str]  # E.164
    _pattern: re.Pattern[str] | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        parts: list[str] = []
        for email in sorted(self.emails, key=len, reverse=True):
            parts.append(f"(?P<e{len(parts)}>{re.escape(email)})")
        for form in sorted(set().union(*(_phone_forms(p) for p in self.phones)),
                           key=len, reverse=True):
            parts.append(f"(?P<p{len(parts)}>(?<![0-9]){re.escape(form)}(?![0-9]))")
        for name in self.names:
            parts.append(f"(?P<n{len(parts)}>(?<!\\w){re.escape(name)}(?!\\w))")
        pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        object.__setattr__(self, "_pattern", pattern)

    @classmethod
    def for_contact(cls, contact: Contact, *, also: Iterable[str] = ()) -> Scrubber:
        """For ``contact``; ``also``: more addresses of theirs (as a ticket knows them)."""
        name = " ".join(contact.name.split())
        words = [w for w in re.split(r"[\s,]+", name) if len(w) >= _MIN_WORD]
        names = tuple(dict.fromkeys([name, *words] if name else words))
        emails = tuple(dict.fromkeys(e.casefold() for e in (*contact.emails, *also) if e))
        return cls(contact.id, emails, names, frozenset(contact.phones))

    @property
    def name(self) -> str:
        return erased_name(self.contact_id)

    @property
    def email(self) -> str:
        return erased_email(self.contact_id)

    def _replace(self, match: re.Match[str]) -> str:
        group = match.lastgroup or "x"
        if group.startswith("e"):
            return self.email
        if group.startswith("n"):
            return self.name
        return ERASED

    def text(self, value: str) -> str:
        """``value`` with every mention replaced."""
        if self._pattern is not None:
            value = self._pattern.sub(self._replace, value)
        if self.phones and any(c.isdigit() for c in value):
            value = self._numbers(value)
        return value

    def _numbers(self, value: str) -> str:
        """Numbers written in a way no literal form matches (``+420-601 234-567``)."""
        for region in _PHONE_REGIONS:
            spans = [m for m in phonenumbers.PhoneNumberMatcher(value, region)
                     if phonenumbers.format_number(
                         m.number, phonenumbers.PhoneNumberFormat.E164) in self.phones]
            for found in reversed(spans):
                value = value[:found.start] + ERASED + value[found.end:]
        return value

    def value(self, value: Any) -> Any:
        """A JSON-like value with every text in it (keys too) replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        return value

    def mentions(self, value: Any) -> bool:
        """Whether ``value`` contains anything this scrubber replaces."""
        return bool(self.value(value) != value)

    def actor(self, actor: Actor) -> Actor:
        name = self.text(actor.name)
        if actor.id == self.contact_id and actor.name:
            name = self.name
        return attrs.evolve(actor, name=name)

    def attachment(self, meta: AttachmentMeta) -> AttachmentMeta:
        return attrs.evolve(meta, filename=self.text(meta.filename))

    def article(self, article: Article) -> Article:
        return attrs.evolve(
            article, author=self.actor(article.author), body_text=self.text(article.body_text),
            subject=self.text(article.subject),
            attachments=tuple(self.attachment(a) for a in article.attachments),
            meta={k: self.text(v) for k, v in article.meta.items()})

    def event(self, event: TicketEvent) -> TicketEvent:
        return attrs.evolve(event, actor=self.actor(event.actor), old=self.value(event.old),
                            new=self.value(event.new), data=self.value(event.data))

    def outbox(self, message: OutboxMessage) -> OutboxMessage:
        return attrs.evolve(
            message, sender=self.text(message.sender),
            recipients=tuple(self.text(r) for r in message.recipients),
            subject=self.text(message.subject), body_text=self.text(message.body_text),
            body_html=None if message.body_html is None else self.text(message.body_html),
            headers={k: self.text(v) for k, v in message.headers.items()},
            last_error=None if message.last_error is None else self.text(message.last_error),
            attachments=tuple(self.attachment(a) for a in message.attachments),
            results={self.text(k): self.text(v) for k, v in message.results.items()},
            cc=tuple(self.text(c) for c in message.cc),
            reply_to=None if message.reply_to is None else self.text(message.reply_to),
            sender_name=self.text(message.sender_name))

    def staged(self, mail: StagedMail) -> StagedMail:
        return attrs.evolve(
            mail, reason=None if mail.reason is None else self.text(mail.reason),
            outcome=None if mail.outcome is None else self.text(mail.outcome),
            ack_error=None if mail.ack_error is None else self.text(mail.ack_error))

    def contact(self, contact: Contact) -> Contact:
        """The record an erasure leaves: the placeholder name, no addresses, no numbers."""
        return attrs.evolve(contact, name=self.name, emails=(), phones=())


def blob_keys(article: Article) -> set[str]:
    """The blobs an article names: its attachments and the raw, HTML and text copies of the
    mail it was made from (``raw_blob``, ``html_blob``, ``text_blob`` in ``meta``)."""
    keys = {a.blob_key for a in article.attachments}
    keys |= {v for k, v in article.meta.items() if k.endswith("_blob") and v}
    return keys


@attrs.frozen
class ErasureReport:
    """What an erasure did. ``already_erased``: the contact had been erased before, and
    nothing was written. ``blobs_kept``: keys of blobs the erasure deleted from the database
    but that the blob store still holds (a blob store outside the database); the host
    deletes those itself."""

    contact_id: str
    tickets: tuple[str, ...] = ()
    articles: int = 0
    events: int = 0
    outbox_messages: int = 0
    staged_mails: int = 0
    automatic_senders: int = 0
    blobs_deleted: int = 0
    portal_links_revoked: int = 0
    blobs_kept: tuple[str, ...] = ()
    already_erased: bool = False


@attrs.frozen
class ExportedFile:
    """One file of an export: an attachment of an article, or a raw mail."""

    path: str  # inside the zip: files/<article or staged id>/<filename>
    filename: str
    content_type: str
    data: bytes = attrs.field(repr=False)
    article_id: str | None = None


def _plain(value: Any) -> Any:
    """Values as JSON has them: datetimes ISO 8601, enums their value, attrs classes their
    fields, bytes base64."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))
                if not f.name.startswith("_")}
    return value


@attrs.frozen
class PersonalDataExport:
    """Everything stored about one contact, as gathered by ``helpdesk.privacy.export``.

    ``tickets`` are snapshots (``Ticket.snapshot()``) of every ticket whose customer or
    participant the contact is; ``articles`` the public articles of those tickets and every
    article the contact wrote; ``files`` the bytes of their attachments (and of the raw
    mails staged from them).
    """

    contact: Contact
    exported_at: datetime
    tickets: tuple[dict[str, Any], ...] = ()
    articles: tuple[Article, ...] = ()
    events: tuple[TicketEvent, ...] = ()
    outbox: tuple[OutboxMessage, ...] = ()
    messages: tuple[MessageRecord, ...] = ()
    automatic_senders: tuple[AutomaticSender, ...] = ()
    staged_mail: tuple[StagedMail, ...] = ()
    files: tuple[ExportedFile, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The export as JSON values; files are listed (path, name, type, size, SHA-256),
        their bytes are in the zip."""
        return {
            "format": "helpdesk-personal-data/1",
            "exported_at": _plain(self.exported_at),
            "contact": _plain(self.contact),
            "tickets": _plain(self.tickets),
            "articles": _plain(self.articles),
            "events": [{**_plain(e), "actor": e.actor.to_dict()} for e in self.events],
            "outbox": _plain(self.outbox),
            "messages": _plain(self.messages),
            "automatic_senders": _plain(self.automatic_senders),
            "staged_mail": _plain(self.staged_mail),
            "files": [{"path": f.path, "filename": f.filename, "content_type": f.content_type,
                       "size": len(f.data), "sha256": hashlib.sha256(f.data).hexdigest(),
                       "article_id": f.article_id} for f in self.files],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=True)

    def write_zip(self, target: str | IO[bytes]) -> None:
        """A zip file: ``personal-data.json`` and every file under its ``path``."""
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("personal-data.json", self.to_json())
            for file in self.files:
                archive.writestr(file.path, file.data)

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.write_zip(buffer)
        return buffer.getvalue()
