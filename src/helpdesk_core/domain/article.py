"""Articles: the communication log of a ticket (messages in, messages out, internal notes)."""

from __future__ import annotations

import enum
import posixpath
import re
import unicodedata
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.typecheck import check_fields
from helpdesk_core.domain.values import Actor, Channel, clean_line, clean_text, ensure_utc, new_id
from helpdesk_core.errors import ValidationError

__all__ = ["DOWNLOAD_TYPE", "INLINE_TYPES", "Article", "AttachmentMeta", "Cut", "Direction",
           "excerpt", "image_type", "safe_filename"]

MAX_BODY = 1_000_000
MAX_SUBJECT = 500


class Direction(enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u2028\u2029\u202a-\u202e\u2066-\u2069]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}
_RISKY_EXT = {".html", ".htm", ".xhtml", ".svg", ".js", ".hta", ".exe", ".bat", ".cmd", ".scr"}


def safe_filename(name: object, *, fallback: str = "attachment") -> str:
    """Make a hostile file name safe to show and to store.

    Drops any directory part, control and bidi-override characters and characters Windows
    forbids; refuses device names; neutralises extensions a browser or OS would execute or
    render (``invoice.html`` → ``invoice.html.txt``); caps the length at 150 characters.
    """
    text = name if isinstance(name, str) else ""
    text = unicodedata.normalize("NFC", text).replace("\\", "/")
    text = posixpath.basename(text)
    text = _UNSAFE_NAME.sub("_", text).strip(" .")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if stem.split(".")[0].casefold() in _RESERVED:
        stem = "_" + stem
    if not stem:
        stem, ext = (fallback, ext) if ext else (fallback, "")
    suffix = f".{ext}" if ext else ""
    if suffix.casefold() in _RISKY_EXT:
        suffix += ".txt"
    room = 150 - len(suffix)
    if room < 1:
        suffix = suffix[:20]
        room = 150 - len(suffix)
    if len(stem) > room:  # a cut must not leave a trailing space or dot (Windows drops them)
        stem = stem[:room].rstrip(" .")
    return stem + suffix


# Image types no browser runs anything in: the only types a received file may be shown inline
# as. SVG (scripts), HTML, XML and everything else are served as downloads.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
                          "image/avif"})
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
                 "image/x-png": "image/png", "image/x-ms-bmp": "image/bmp",
                 "image/x-bmp": "image/bmp"}
_CONTENT_TYPE = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]+")
DOWNLOAD_TYPE = "application/octet-stream"


def image_type(head: bytes) -> str | None:
    """The inline image type whose signature ``head`` (a file's first bytes) starts with, or
    None: the bytes, not a name or a declared type, say what a file is."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM") and len(head) >= 14:
        return "image/bmp"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def _media_type(value: object) -> str | None:
    """``type/subtype`` in lower case without parameters, or None when it is not one."""
    if not isinstance(value, str):
        return None
    bare = value.split(";", 1)[0].strip().lower()
    return bare if _CONTENT_TYPE.fullmatch(bare) else None


@attrs.frozen
class AttachmentMeta:
    """What the ticket knows about an attachment; the bytes live in the BlobStore.

    ``content_type`` is the type to serve the bytes as. A file received from outside (made with
    :meth:`received`) keeps its type only when it is an inline image type
    (:data:`INLINE_TYPES`) and its bytes are that image; anything else — SVG, HTML, XHTML, XML,
    scripts, a PDF, a file that only claims to be an image — is ``application/octet-stream``,
    with the type its sender declared in ``declared_type`` (for showing, never for serving).
    ``disposition`` is how to serve it: ``inline`` only for an inline image type marked
    ``inline``, else ``attachment``.
    """

    blob_key: str
    filename: str = attrs.field(converter=safe_filename)
    content_type: str = DOWNLOAD_TYPE
    size: int = 0
    content_id: str | None = None
    inline: bool = False
    declared_type: str | None = None

    def __attrs_post_init__(self) -> None:
        check_fields(self, prefix="attachment")
        if self.size < 0:
            raise ValidationError("size must not be negative", field="attachment.size")
        if not _CONTENT_TYPE.fullmatch(self.content_type.lower()):
            raise ValidationError("bad content type", field="attachment.content_type")
        if self.declared_type is not None and _media_type(self.declared_type) is None:
            raise ValidationError("bad content type", field="attachment.declared_type")

    @classmethod
    def received(cls, *, blob_key: str, filename: object, declared_type: object, size: int,
                 head: bytes, content_id: str | None = None,
                 inline: bool = False) -> AttachmentMeta:
        """A file someone sent (a mail's part): served as what its bytes are, when that is an
        inline image type and its sender said so; otherwise as a download. ``head`` is the
        file's first bytes (a dozen are enough)."""
        declared = _media_type(declared_type)
        claimed = _TYPE_ALIASES.get(declared or "", declared)
        sniffed = image_type(head)
        if claimed in INLINE_TYPES and sniffed is not None:
            content_type = sniffed
        else:
            content_type, inline = DOWNLOAD_TYPE, False
        return cls(blob_key=blob_key, filename=filename, content_type=content_type, size=size,
                   content_id=content_id, inline=inline,
                   declared_type=declared if declared != content_type else None)

    @property
    def disposition(self) -> str:
        """``inline`` or ``attachment``: the ``Content-Disposition`` to serve the file with."""
        if self.inline and self.content_type.lower() in INLINE_TYPES:
            return "inline"
        return "attachment"

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttachmentMeta:
        return cls(**data)


@attrs.frozen
class Article:
    """One message or note on a ticket. Internal notes are never public."""

    id: str
    ticket_id: str
    direction: Direction
    channel: Channel
    author: Actor
    public: bool
    body_text: str
    created_at: datetime
    subject: str = ""
    attachments: tuple[AttachmentMeta, ...] = ()
    external_id: str | None = None
    meta: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def create(
        cls,
        *,
        ticket_id: str,
        direction: Direction,
        channel: Channel,
        author: Actor,
        body_text: str,
        at: datetime,
        public: bool | None = None,
        subject: str = "",
        attachments: tuple[AttachmentMeta, ...] = (),
        external_id: str | None = None,
        meta: dict[str, str] | None = None,
        article_id: str | None = None,
    ) -> Article:
        if public is None:
            public = direction is not Direction.INTERNAL
        if direction is Direction.INTERNAL and public:
            raise ValidationError("an internal note cannot be public", field="public")
        return cls(
            id=article_id or new_id(),
            ticket_id=ticket_id,
            direction=direction,
            channel=channel,
            author=author,
            public=public,
            body_text=clean_text(body_text, field="body", max_length=MAX_BODY),
            created_at=ensure_utc(at),
            subject=clean_line(subject, field="subject", max_length=MAX_SUBJECT, required=False),
            attachments=tuple(attachments),
            external_id=external_id,
            meta=dict(meta or {}),
        )


# -- excerpts ------------------------------------------------------------------------------

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_UNLIMITED = 1 << 60


@attrs.frozen
class Cut:
    """What was cut from a value to fit a limit: ``kept`` of ``length`` (characters, or
    whatever ``unit`` names) were kept of ``what``."""

    what: str
    length: int
    kept: int
    unit: str = "characters"

    def __str__(self) -> str:
        return f"{self.what}: {self.kept} of {self.length} {self.unit} kept"


def excerpt(value: str, *, limit: int, what: str, line: bool = False) -> tuple[str, Cut | None]:
    """``value`` cleaned as :func:`clean_text` (or, with ``line``, :func:`clean_line`) would
    clean it, and cut to at most ``limit`` characters instead of being refused.

    Never raises: half of a UTF-16 pair becomes U+FFFD. A cut text ends with a note of how
    much more there was (``[… 1234 more characters]``), a cut line with ``…``; both are cut
    at a blank near the limit when there is one. The result is accepted unchanged by
    ``clean_text``/``clean_line`` with ``max_length=limit``. The :class:`Cut` says what was
    cut, or is None when everything was kept.
    """
    clean = clean_line if line else clean_text
    text = _LONE_SURROGATE.sub("\ufffd", value)
    cleaned = clean(text, field=what, max_length=_UNLIMITED, required=False)
    if len(cleaned) <= limit:
        return cleaned, None
    # the note is sized for the most that can be cut; a shorter number only makes it shorter
    tail = "…" if line else f"\n\n[… {len(cleaned)} more characters]"
    if len(tail) >= limit // 2:  # no room for a note: a plain cut
        tail = ""
    head = cleaned[:limit - len(tail)]
    blank = max(head.rfind(" "), head.rfind("\n"))
    if blank > max(len(head) - 200, 0):
        head = head[:blank]
    head = head.rstrip()
    if tail and not line:
        tail = f"\n\n[… {len(cleaned) - len(head)} more characters]"
    result = clean(head + tail, field=what, max_length=_UNLIMITED, required=False)
    if len(result) > limit:  # pragma: no cover - a prefix of normalised text stays normalised
        result = clean(cleaned[:limit], field=what, max_length=_UNLIMITED,
                       required=False)[:limit].rstrip()
    return result, Cut(what, len(cleaned), len(head))
