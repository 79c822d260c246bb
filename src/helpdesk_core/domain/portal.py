"""The customer portal's rules: signed ticket links, what a customer is shown, the limits.

**Signed links.** A link lets a customer without an account open one ticket. Its token is
``<link id>.<nonce>.<mac>``, every part URL-safe base64 without padding:

- ``link id``: 96 random bits, the key the link's record is stored under;
- ``nonce``: 144 random bits (``secrets``), so the token is unguessable on its own;
- ``mac``: HMAC-SHA256, with the deployment's secret, over the version, the link id, the
  nonce, the ticket id, the contact id, the digest of the contact's e-mail and the expiry.

The record (:class:`PortalLink`) keeps the SHA-256 of the token, never the token: whoever reads
the table cannot open a link. Opening compares the token's hash and recomputes the MAC from
the record with ``hmac.compare_digest`` (time independent of where the bytes differ), so a
token cut short, with one byte changed, or made with another secret is refused; so is one
whose record was revoked or expired, whose contact's first e-mail address is no longer the one
it was issued to (the digest is keyed too, so the table does not reveal addresses), or whose
ticket was merged since. :func:`link_refusal` says which; the facade raises ``LinkRefused``.

See docs/explanation/portal-links.md for why it is built like this.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta, tzinfo
from urllib.parse import quote

import attrs

from helpdesk_core.domain.access import Action, transition_action
from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.contacts import normalize_email
from helpdesk_core.domain.ratelimit import RateRule
from helpdesk_core.domain.status import StatusCategory, Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import ConfigurationError, ValidationError

__all__ = [
    "MIN_SECRET_LENGTH",
    "OpenedLink",
    "PortalArticle",
    "PortalAttachment",
    "PortalDownload",
    "PortalLimits",
    "PortalLink",
    "PortalTicket",
    "PortalUpload",
    "attachment_id",
    "customer_move",
    "email_digest",
    "issue_link",
    "link_refusal",
    "parse_attachment_id",
    "parse_token",
    "promise_words",
    "token_hash",
]

VERSION = "hd1"
MIN_SECRET_LENGTH = 32
_ID_BYTES, _NONCE_BYTES = 12, 18
_TOKEN = re.compile(r"([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})")
_ATTACHMENT = re.compile(r"([0-9A-Za-z_-]{1,64})~([0-9]{1,4})")


def _check_secret(secret: str | None) -> bytes:
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"signed portal links need Settings.portal_secret: at least {MIN_SECRET_LENGTH} "
            "characters, the same in every process of the deployment "
            "(secrets.token_urlsafe(32) makes one)")
    return secret.encode("utf-8", "surrogatepass")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@attrs.frozen
class PortalLink:
    """A signed link's record: never the token, only its SHA-256 (``token_hash``)."""

    id: str
    token_hash: str
    ticket_id: str
    contact_id: str
    email_digest: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def revoked(self, at: datetime) -> PortalLink:
        return self if self.revoked_at is not None else attrs.evolve(self, revoked_at=at)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def email_digest(secret: str | None, email: str | None) -> str:
    """A keyed digest of the address (normalised), or of "no address"."""
    key = _check_secret(secret)
    try:
        value = normalize_email(email) if email else ""
    except ValidationError:  # a stored address is normalised; anything else stays as it is
        value = str(email).strip().lower()
    return hmac.new(key, b"email\x00" + value.encode("utf-8"), hashlib.sha256).hexdigest()


def _mac(key: bytes, link_id: str, nonce: str, ticket_id: str, contact_id: str,
         digest: str, expires_at: datetime) -> str:
    fields = (VERSION, link_id, nonce, ticket_id, contact_id, digest,
              str(int(expires_at.timestamp())))
    message = "\x00".join(fields).encode("utf-8", "surrogatepass")
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def issue_link(*, secret: str | None, ticket_id: str, contact_id: str, email: str | None,
               issued_at: datetime, ttl: timedelta) -> tuple[str, PortalLink]:
    """A new token and the record to store for it (whole seconds: every store keeps them)."""
    key = _check_secret(secret)
    issued_at = issued_at.replace(microsecond=0)
    expires_at = issued_at + timedelta(seconds=int(ttl.total_seconds()))
    link_id = _b64(secrets.token_bytes(_ID_BYTES))
    nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
    digest = email_digest(secret, email)
    mac = _mac(key, link_id, nonce, ticket_id, contact_id, digest, expires_at)
    token = f"{link_id}.{nonce}.{mac}"
    return token, PortalLink(id=link_id, token_hash=token_hash(token), ticket_id=ticket_id,
                             contact_id=contact_id, email_digest=digest,
                             issued_at=issued_at, expires_at=expires_at)


def parse_token(token: object) -> tuple[str, str, str] | None:
    """The token's link id, nonce and MAC; None for anything that is not shaped like one."""
    if not isinstance(token, str):
        return None
    match = _TOKEN.fullmatch(token)
    return None if match is None else (match[1], match[2], match[3])


def link_refusal(token: str, link: PortalLink | None, *, secret: str | None,
                 current_email_digest: str, merged: bool, now: datetime) -> str | None:
    """Why ``token`` does not open ``link`` (the record stored under its id), or None.

    The checks that compare secrets run in constant time and run even when there is no
    record, so the time an answer takes says as little as possible."""
    key = _check_secret(secret)
    parts = parse_token(token)
    if parts is None:
        return "invalid"
    link_id, nonce, mac = parts
    stored = link if link is not None and link.id == link_id else None
    expected_hash = stored.token_hash if stored is not None else "0" * 64
    same_token = hmac.compare_digest(token_hash(token), expected_hash)
    if stored is None:
        expected_mac = _mac(key, link_id, nonce, "", "", "", now)
    else:
        expected_mac = _mac(key, link_id, nonce, stored.ticket_id, stored.contact_id,
                            stored.email_digest, stored.expires_at)
    same_mac = hmac.compare_digest(mac, expected_mac)
    if stored is None or not (same_token and same_mac):
        return "invalid"
    if stored.revoked_at is not None:
        return "revoked"
    if now >= stored.expires_at:
        return "expired"
    if not hmac.compare_digest(stored.email_digest, current_email_digest):
        return "email_changed"
    if merged:
        return "merged"
    return None


# -- limits -----------------------------------------------------------------------------------


def _rule(value: object) -> RateRule:
    if isinstance(value, RateRule):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return RateRule(*value)
    raise ConfigurationError("a portal limit must be a RateRule(calls, per)")


def _longest(instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta) or not timedelta(minutes=1) <= value <= timedelta(
            days=3660):
        raise ConfigurationError("longest_link must be a duration from a minute to ten years")


@attrs.frozen
class PortalLimits:
    """How often one caller key (the client's address, as the host passes it) may call what
    a stranger can call, and the longest a link may live.

    ``open_link``: every attempt to open a link; ``failed_links``: failed attempts — when they
    are used up, every ``open_link`` of that caller is refused until one comes back, right
    tokens too (guessing stops being worth it); ``open_ticket``: tickets opened through the
    portal; ``reply``: customers' replies. ``largest_upload``: the bytes of one reply's files
    together.
    """

    open_link: RateRule = attrs.field(factory=lambda: RateRule(60, timedelta(minutes=1)),
                                      converter=_rule)
    failed_links: RateRule = attrs.field(factory=lambda: RateRule(10, timedelta(minutes=15)),
                                         converter=_rule)
    open_ticket: RateRule = attrs.field(factory=lambda: RateRule(5, timedelta(hours=1)),
                                        converter=_rule)
    reply: RateRule = attrs.field(factory=lambda: RateRule(30, timedelta(hours=1)),
                                  converter=_rule)
    longest_link: timedelta = attrs.field(default=timedelta(days=90), validator=_longest)
    largest_upload: int = attrs.field(default=25 * 1024 * 1024)


def check_ttl(ttl: timedelta, limits: PortalLimits) -> timedelta:
    if not timedelta(minutes=1) <= ttl <= limits.longest_link:
        raise ValidationError(f"must be from a minute to {limits.longest_link}", field="ttl")
    return ttl


# -- what a customer sees ---------------------------------------------------------------------


@attrs.frozen
class PortalAttachment:
    """An attachment as the portal shows it: an opaque ``id`` to download it by, never the
    blob key."""

    id: str
    filename: str
    content_type: str
    size: int
    disposition: str


@attrs.frozen
class PortalArticle:
    """A public message: ``from_customer`` tells the customer's side from the helpdesk's."""

    id: str
    from_customer: bool
    author: str
    text: str
    created_at: datetime
    attachments: tuple[PortalAttachment, ...] = ()

    @classmethod
    def of(cls, article: Article) -> PortalArticle:
        return cls(id=article.id, from_customer=article.direction is Direction.INBOUND,
                   author=article.author.name,
                   text=article.body_text, created_at=article.created_at,
                   attachments=tuple(
                       PortalAttachment(id=attachment_id(article.id, i), filename=a.filename,
                                        content_type=a.content_type, size=a.size,
                                        disposition=a.disposition)
                       for i, a in enumerate(article.attachments)))


@attrs.frozen
class PortalTicket:
    """A ticket as its customer sees it: the status in words, the SLA promise in words
    (None when there is none), and ``continues_as`` — the number of the ticket a merged one
    continues as."""

    number: str
    subject: str
    status: str
    created_at: datetime
    updated_at: datetime
    promise: str | None = None
    continues_as: str | None = None

    @classmethod
    def of(cls, ticket: Ticket, workflow: Workflow, *, promise: str | None = None,
           continues_as: str | None = None) -> PortalTicket:
        status = workflow.statuses.get(ticket.status)
        words = (status.label if status is not None and status.label
                 else ticket.status.replace("_", " "))
        return cls(number=ticket.number, subject=ticket.subject, status=words,
                   created_at=ticket.created_at, updated_at=ticket.updated_at,
                   promise=promise, continues_as=continues_as)


@attrs.frozen
class PortalDownload:
    """An attachment's bytes with how to serve them (``AttachmentMeta``'s serving rules)."""

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    filename: str
    content_type: str
    disposition: str

    @property
    def headers(self) -> dict[str, str]:
        """The response headers: type, disposition with the safe name (RFC 6266), nosniff."""
        ascii_name = self.filename.encode("ascii", "replace").decode().replace('"', "'")
        return {
            "Content-Type": self.content_type,
            "Content-Disposition": (f'{self.disposition}; filename="{ascii_name}"; '
                                    f"filename*=UTF-8''{quote(self.filename)}"),
            "X-Content-Type-Options": "nosniff",
            "Content-Length": str(len(self.data)),
        }

    @classmethod
    def of(cls, meta: AttachmentMeta, data: bytes) -> PortalDownload:
        return cls(data=data, filename=meta.filename, content_type=meta.content_type,
                   disposition=meta.disposition)


@attrs.frozen
class PortalUpload:
    """A file a customer sends with a reply; served later by what its bytes are (see
    ``AttachmentMeta.received``), never by the type the browser claimed."""

    filename: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>" if isinstance(d, bytes)
                              else repr(d))
    content_type: str = "application/octet-stream"

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.filename, str):
            raise ValidationError("must be text", field="files.filename")
        if not isinstance(self.data, bytes):
            raise ValidationError("must be bytes", field="files.data")
        if not isinstance(self.content_type, str):
            raise ValidationError("must be text", field="files.content_type")


@attrs.frozen
class OpenedLink:
    """What an opened link answers: the customer ``actor`` to call ``helpdesk.portal`` as
    (for this ticket only: the link proves nothing about others), the ticket, and until when
    the link opens."""

    actor: Actor
    ticket: PortalTicket
    expires_at: datetime


_MOVES = {Action.REOPEN: (StatusCategory.OPEN,),
          Action.CLOSE: (StatusCategory.CLOSED, StatusCategory.RESOLVED)}


def customer_move(workflow: Workflow, current: str, action: Action) -> str | None:
    """The status a customer's reopen or close moves a ticket in ``current`` to: a move the
    workflow allows that the access policy names ``action`` (close prefers closed to
    resolved); None when there is none."""
    targets = [s for s in workflow.allowed_targets(current)
               if transition_action(workflow, current, s.key) is action]
    for category in _MOVES.get(action, ()):
        for status in targets:
            if status.category is category:
                return status.key
    return None


def attachment_id(article_id: str, index: int) -> str:
    return f"{article_id}~{index}"


def parse_attachment_id(value: str) -> tuple[str, int] | None:
    match = _ATTACHMENT.fullmatch(value) if isinstance(value, str) else None
    return None if match is None else (match[1], int(match[2]))


# -- the SLA promise in words -----------------------------------------------------------------


def _duration_words(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} business hour{'s' if hours != 1 else ''}"
    return f"{minutes} business minute{'s' if minutes != 1 else ''}"


def _when(due: datetime, now: datetime, zone: tzinfo) -> str:
    local = due.astimezone(zone)
    if timedelta(0) <= due - now < timedelta(days=6):
        return local.strftime("%a %H:%M")
    return local.strftime("%a %d %b %Y %H:%M")


def promise_words(*, answer: tuple[timedelta | None, datetime | None] | None,
                  resolve: tuple[timedelta | None, datetime | None] | None,
                  due_at: datetime | None, now: datetime, zone: tzinfo) -> str | None:
    """What the helpdesk promises, e.g. "we answer within 4 business hours; due Tue 09:00".

    ``answer`` and ``resolve`` are the (duration, due) of an open response and resolution
    clock, when there is one; ``due_at`` the ticket's due date, said when no clock runs."""
    for verb, clock in (("answer", answer), ("aim to resolve this", resolve)):
        if clock is None:
            continue
        duration, due = clock
        parts = []
        if duration is not None:
            parts.append(f"we {verb} within {_duration_words(duration)}")
        if due is not None:
            parts.append(f"due {_when(due, now, zone)}")
        if parts:
            return "; ".join(parts)
    if due_at is not None:
        return f"due {_when(due_at, now, zone)}"
    return None
