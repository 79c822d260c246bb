"""Small value types shared by the whole model: priorities, channels, actors, host links.

Everything here is frozen and validated on construction; inbound data (form fields, mail
headers, host ids) is hostile until a constructor here has accepted it.
"""

from __future__ import annotations

import enum
import functools
import math
import re
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any

import attrs

from helpdesk_core.errors import ValidationError

__all__ = [
    "MAX_TAG",
    "Actor",
    "ActorKind",
    "Channel",
    "CustomValue",
    "EntityKind",
    "EntityRef",
    "Priority",
    "base_language",
    "clean_line",
    "clean_text",
    "ensure_utc",
    "language_tag",
    "name_line",
    "new_id",
    "optional_language",
    "optional_name_line",
    "tag_set",
    "validate_custom_fields",
    "validate_tag",
]


def new_id() -> str:
    """A random, globally unique identifier (32 hex characters)."""
    return uuid.uuid4().hex


def ensure_utc(value: datetime, *, field: str = "at") -> datetime:
    """Accept only timezone-aware instants and normalise them to UTC.

    Naive datetimes are refused rather than guessed: a wrong guess moves SLA deadlines by hours.
    """
    if not isinstance(value, datetime):
        raise ValidationError("must be a datetime", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("must be timezone-aware", field=field)
    return value.astimezone(UTC)


# C0/C1 controls except TAB and LF, plus the Unicode line/paragraph separators and BOM; kept
# out of stored text because they break mail headers, CSV exports and terminals.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: object, *, field: str, max_length: int, required: bool = True) -> str:
    """Normalise multi-line text: NFC, CRLF → LF, control characters dropped, length checked."""
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    if _SURROGATE.search(value):  # half of a UTF-16 pair: no encoder or database takes it
        raise ValidationError("contains a lone surrogate, which is not text", field=field)
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text).strip()
    if required and not text:
        raise ValidationError("must not be empty", field=field)
    if len(text) > max_length:
        raise ValidationError(f"longer than {max_length} characters", field=field)
    return text


# Bidi embedding/override/isolate controls: in a one-line value shown inside other text (a queue
# row, a mail header) an unterminated one reorders what follows it ("Trojan Source" spoofing).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean_line(value: object, *, field: str, max_length: int, required: bool = True) -> str:
    """Like :func:`clean_text` for one-line values (names, subjects): whitespace runs fold,
    bidi controls are dropped."""
    text = clean_text(value, field=field, max_length=max_length * 4, required=False)
    text = " ".join(_BIDI.sub("", text).split())
    if required and not text:
        raise ValidationError("must not be empty", field=field)
    if len(text) > max_length:
        raise ValidationError(f"longer than {max_length} characters", field=field)
    return text


class Priority(enum.Enum):
    """Ticket priority. ``rank`` orders the queue: 0 is the most urgent."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        return _RANK_PRIORITY[rank]


_PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
_RANK_PRIORITY = {rank: priority for priority, rank in _PRIORITY_RANK.items()}


class Channel(enum.Enum):
    """Where a ticket or an article came from."""

    EMAIL = "email"
    WEB_FORM = "web_form"
    STAFF = "staff"
    PHONE = "phone"
    SMS = "sms"
    CHAT = "chat"
    API = "api"


class ActorKind(enum.Enum):
    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


@attrs.frozen
class Actor:
    """Who did something: an agent, a customer (contact) or the system itself."""

    kind: ActorKind
    id: str | None = None
    name: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, None, name)

    @classmethod
    def agent(cls, agent_id: str, name: str = "") -> Actor:
        return cls(ActorKind.AGENT, clean_line(agent_id, field="agent", max_length=200), name)

    @classmethod
    def customer(cls, contact_id: str | None, name: str = "") -> Actor:
        return cls(ActorKind.CUSTOMER, contact_id, name)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "id": self.id, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(ActorKind(data["kind"]), data.get("id"), data.get("name", ""))


class EntityKind(enum.Enum):
    """Kinds of host records a ticket can link to."""

    ORDER = "order"
    INVOICE = "invoice"
    PRODUCT = "product"
    DELIVERY = "delivery"
    RMA = "rma"
    CONTRACT = "contract"
    TICKET = "ticket"  # another ticket of this helpdesk (system "helpdesk", id = its number)


_REF_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@#-]{0,127}")
# ``:`` separates the system from the id in ``str()``, so a system may not contain one.
_REF_SYSTEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@#-]{0,127}")


@attrs.frozen(order=True)
class EntityRef:
    """A typed, validated pointer to a record in a host system: ``order@eshop:2026-00042``.

    ``system`` names the host system (an ERP can hold orders from several shops), ``id`` is the
    host's own key. Both are restricted to a safe alphabet so that a link can be shown in a UI,
    put in a URL or a mail header without escaping surprises.
    """

    kind: EntityKind
    system: str
    id: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.kind, EntityKind):
            raise ValidationError("unknown entity kind", field="link.kind")
        for name, pattern, alphabet in (("system", _REF_SYSTEM, "._/@#-"),
                                         ("id", _REF_PART, "._:/@#-")):
            value = getattr(self, name)
            if not isinstance(value, str) or not pattern.fullmatch(value):
                raise ValidationError(
                    f"must be 1-128 characters of letters, digits and {alphabet}",
                    field=f"link.{name}",
                )

    def __str__(self) -> str:
        return f"{self.kind.value}@{self.system}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> EntityRef:
        """Inverse of ``str()``."""
        if not isinstance(text, str):
            raise ValidationError("not a link", field="link")
        kind, sep, rest = text.partition("@")
        system, sep2, ident = rest.partition(":")
        if not (sep and sep2):
            raise ValidationError(f"not a link: {text!r}", field="link")
        try:
            entity_kind = EntityKind(kind)
        except ValueError:
            raise ValidationError(f"unknown entity kind {kind!r}", field="link.kind") from None
        return cls(entity_kind, system, ident)


MAX_TAG = 64
# A letter, digit or underscore, then those and . : / + - (no spaces: they become hyphens).
_TAG = re.compile(r"\w[\w.:/+-]*")
# A run of whitespace, with the hyphens around it: one hyphen ("vip - customer": vip-customer).
_TAG_GAP = re.compile(r"-*\s[\s-]*")


def validate_tag(tag: object) -> str:
    """A tag as it is stored and compared: compatibility-normalised (NFKC, so full-width
    and ligature forms count as their plain letters), case-folded, trimmed, every run of
    whitespace one hyphen (``"  VIP   Customer "`` → ``vip-customer``).

    Refused with a ValidationError on the field ``tag``: no text, nothing left after
    trimming, more than :data:`MAX_TAG` characters, or characters other than letters,
    digits and ``_ . : / + -`` (control and formatting characters among them), or a first
    character that is not a letter, digit or ``_``. A returned tag is always valid, and
    normalising it again returns it unchanged.
    """
    if not isinstance(tag, str):
        raise ValidationError("must be text", field="tag")
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", tag).casefold())
    text = _TAG_GAP.sub("-", text.strip())
    if not text:
        raise ValidationError("must not be empty", field="tag")
    if len(text) > MAX_TAG:
        raise ValidationError(f"{tag[:MAX_TAG]!r}… is longer than {MAX_TAG} characters",
                              field="tag")
    if not _TAG.fullmatch(text):
        raise ValidationError(
            f"invalid tag {tag[:MAX_TAG]!r}: letters, digits and _ . : / + - only, starting with a "
            "letter, digit or _", field="tag")
    return text


def tag_set(values: object) -> frozenset[str]:
    """Converter for attrs fields holding tags."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise ValidationError("must be a collection of tags", field="tags")
    return frozenset(validate_tag(t) for t in values)


# A language subtag of two letters, an optional script (four letters) and an optional region
# (two letters or three digits), joined by hyphens or underscores: cs, CS, pt_BR, zh-Hant-TW.
_LANGUAGE_SHAPE = re.compile(r"[A-Za-z]{2}(?:[-_][A-Za-z]{4})?(?:[-_](?:[A-Za-z]{2}|[0-9]{3}))?")
_LANGUAGE_EXAMPLE = "a language code such as cs, de or pt-BR"


@functools.cache
def _cldr() -> tuple[frozenset[str], frozenset[str], frozenset[str], dict[str, str]]:
    """The ISO 639-1 languages, scripts and regions the Unicode CLDR knows (through Babel),
    and the current codes of withdrawn two-letter ones (iw → he). Read once, when the first
    language is checked, so that importing the model loads no locale data."""
    from babel import Locale
    from babel.core import get_global

    english = Locale("en")
    languages = frozenset(code for code in english.languages
                          if isinstance(code, str) and len(code) == 2)
    scripts = frozenset(english.scripts) - {"Zzzz"}  # "unknown script"
    regions = frozenset(english.territories) - {"ZZ"}  # "unknown region"
    aliases = {old: new for old, new in get_global("language_aliases").items()
               if len(old) == 2 and len(new) == 2 and new in languages}
    return languages, scripts, regions, aliases


def language_tag(value: object, *, field: str = "language") -> str:
    """A language as the helpdesk keeps it: the BCP 47 tag of an ISO 639-1 language, with an
    optional script and region — ``cs``, ``pt-BR``, ``zh-Hant-TW``.

    Case is normalised (``CS`` → ``cs``, ``pt_br`` and ``PT-BR`` → ``pt-BR``), underscores
    become hyphens, a withdrawn code becomes its successor (``iw`` → ``he``). The language,
    script and region must be ones the Unicode CLDR knows (``xx`` and ``cs-XX`` are not);
    anything else — extensions, variants, private use, three-letter languages — is a
    ValidationError on ``field``.
    """
    if not isinstance(value, str):
        raise ValidationError(f"must be {_LANGUAGE_EXAMPLE}", field=field)
    text = value.strip()
    if not _LANGUAGE_SHAPE.fullmatch(text):
        raise ValidationError(f"{value[:40]!r} is not {_LANGUAGE_EXAMPLE}", field=field)
    languages, scripts, regions, aliases = _cldr()
    first, *rest = re.split("[-_]", text)
    language = aliases.get(first.lower(), first.lower())
    if language not in languages:
        raise ValidationError(f"{first!r} is not an ISO 639-1 language ({_LANGUAGE_EXAMPLE})",
                              field=field)
    parts = [language]
    for part in rest:
        if len(part) == 4:
            if part.title() not in scripts:
                raise ValidationError(f"{part!r} in {text!r} is not a script", field=field)
            parts.append(part.title())
        elif part.upper() not in regions:
            raise ValidationError(f"{part!r} in {text!r} is not a region", field=field)
        else:
            parts.append(part.upper())
    return "-".join(parts)


def optional_language(value: object, *, field: str = "language") -> str | None:
    """:func:`language_tag`, with None and empty text meaning "not said"."""
    if value is None or value == "":
        return None
    return language_tag(value, field=field)


def base_language(tag: str) -> str:
    """The language of a tag without script and region: ``pt-BR`` → ``pt``."""
    return tag.partition("-")[0]


def name_line(value: object) -> str:
    """Converter for required names (200 characters, one line)."""
    return clean_line(value, field="name", max_length=200)


def optional_name_line(value: object) -> str:
    return clean_line(value, field="name", max_length=200, required=False)


CustomValue = str | int | float | bool | None
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def validate_custom_fields(fields: dict[str, Any]) -> dict[str, CustomValue]:
    """Custom fields are a flat map of snake_case names to JSON scalars."""
    if not isinstance(fields, dict):
        raise ValidationError("must be a mapping", field="custom_fields")
    result: dict[str, CustomValue] = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise ValidationError(f"invalid field name {name!r}", field="custom_fields")
        if isinstance(value, str):
            value = clean_text(value, field=f"custom_fields.{name}", max_length=4000,
                               required=False)
        elif isinstance(value, float) and not math.isfinite(value):  # not JSON, not in SQL JSON
            raise ValidationError("NaN and infinity are not values", field=f"custom_fields.{name}")
        elif value is not None and not isinstance(value, bool | int | float):
            raise ValidationError("must be text, a number, true/false or null",
                                  field=f"custom_fields.{name}")
        result[name] = value
    return result

