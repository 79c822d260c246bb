"""Message templates as values, and the rule that picks one for a ticket.

A template is identified by ``(key, language, incident_type)``; ``incident_type`` None means
"for every incident type". Staff write reply templates and text blocks under their own keys;
system templates (acknowledgement, resolution, escalation, SLA warning and their SMS variants)
use the kind's name as key, so the helpdesk can find them.

Resolution (:func:`resolve_template`) tries languages in order first and incident types from the
most specific second: a Czech customer gets a Czech text for the whole category rather than an
English one written for the exact subcategory.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

import attrs

from helpdesk_core.domain.values import base_language, clean_line, ensure_utc, language_tag
from helpdesk_core.errors import ValidationError

__all__ = [
    "FALLBACK_LANGUAGE",
    "MAX_TEMPLATE_SOURCE",
    "MessageTemplate",
    "TemplateKind",
    "TemplateProblem",
    "incident_type_chain",
    "language_chain",
    "resolve_template",
    "template_order",
]

FALLBACK_LANGUAGE = "en"
MAX_TEMPLATE_SOURCE = 64_000  # characters per part; a longer template is a mistake

_KEY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,79}")
_INCIDENT_TYPE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}(/[a-z0-9][a-z0-9_-]{0,39}){0,3}")


class TemplateKind(enum.Enum):
    """What a template is for. Every kind but ``reply`` and ``text_block`` is a system
    template, found by the helpdesk under the key equal to the kind's value."""

    REPLY = "reply"
    TEXT_BLOCK = "text_block"
    ACKNOWLEDGEMENT = "acknowledgement"
    RESOLUTION = "resolution"
    ESCALATION = "escalation"
    SLA_WARNING = "sla_warning"
    MERGE_NOTICE = "merge_notice"
    SMS_ACKNOWLEDGEMENT = "sms_acknowledgement"
    SMS_REPLY = "sms_reply"
    SMS_RESOLUTION = "sms_resolution"
    SMS_SLA_WARNING = "sms_sla_warning"

    @property
    def is_system(self) -> bool:
        return self not in (TemplateKind.REPLY, TemplateKind.TEXT_BLOCK, TemplateKind.SMS_REPLY)

    @property
    def is_sms(self) -> bool:
        return self.value.startswith("sms_")

    @property
    def has_subject(self) -> bool:
        """SMS and text blocks (fragments pasted into a reply) have no subject."""
        return not self.is_sms and self is not TemplateKind.TEXT_BLOCK


def _language(value: object) -> str:
    # As tickets and contacts keep it: a known language, optionally with script and region
    # (a pt-BR template is chosen before the pt one for a pt-BR ticket).
    return language_tag(value, field="language")


def _incident_type(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _INCIDENT_TYPE.fullmatch(value):
        raise ValidationError("must be an incident-type key such as complaint/damaged",
                              field="incident_type")
    return value


def _source(field: str, *, required: bool) -> Callable[[object], str]:
    def convert(value: object) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValidationError("must be text", field=field)
        if required and not value.strip():
            raise ValidationError("must not be empty", field=field)
        if len(value) > MAX_TEMPLATE_SOURCE:
            raise ValidationError(f"longer than {MAX_TEMPLATE_SOURCE} characters", field=field)
        return value.replace("\r\n", "\n")

    return convert


def _text_source(value: object) -> str:
    return _source("body_text", required=True)(value)


def _subject_source(value: object) -> str:
    return _source("subject", required=False)(value)


def _optional_html(value: object) -> str | None:
    return None if value is None else _source("body_html", required=True)(value)


def _name(value: object) -> str:
    return clean_line(value, field="name", max_length=200)


@attrs.frozen
class MessageTemplate:
    """A reply template, text block or system template in one language.

    ``subject``, ``body_text`` and ``body_html`` are Jinja sources, checked by
    :func:`helpdesk_core.templates.check_template` before they are stored.
    """

    key: str
    kind: TemplateKind
    language: str = attrs.field(converter=_language)
    name: str = attrs.field(converter=_name)
    body_text: str = attrs.field(converter=_text_source)
    subject: str = attrs.field(default="", converter=_subject_source)
    body_html: str | None = attrs.field(default=None, converter=_optional_html)
    incident_type: str | None = attrs.field(default=None, converter=_incident_type)
    updated_at: datetime | None = None
    updated_by: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise ValidationError("must be 1-80 lower-case letters, digits, '_', '.', '-'",
                                  field="key")
        if not isinstance(self.kind, TemplateKind):
            raise ValidationError("unknown template kind", field="kind")
        system_keys = {k.value for k in TemplateKind if k.is_system}
        if self.kind.is_system and self.key != self.kind.value:
            raise ValidationError(f"a {self.kind.value} template has the key "
                                  f"{self.kind.value!r}", field="key")
        if not self.kind.is_system and self.key in system_keys:
            raise ValidationError(f"{self.key!r} is reserved for system templates", field="key")
        if self.kind.has_subject and not self.subject.strip():
            raise ValidationError("must not be empty", field="subject")
        if not self.kind.has_subject and self.subject:
            raise ValidationError(f"a {self.kind.value} template has no subject",
                                  field="subject")
        if self.body_html is not None and self.kind.is_sms:
            raise ValidationError("an SMS template has no HTML part", field="body_html")
        if self.updated_at is not None:
            object.__setattr__(self, "updated_at", ensure_utc(self.updated_at,
                                                              field="updated_at"))
        if self.updated_by is not None:
            object.__setattr__(self, "updated_by",
                               clean_line(self.updated_by, field="updated_by", max_length=200))

    @property
    def identity(self) -> tuple[str, str, str | None]:
        """What a store keys the template by."""
        return (self.key, self.language, self.incident_type)

    def parts(self) -> Iterator[tuple[str, str]]:
        """(part name, source) of every part that is present: subject, text, html."""
        if self.kind.has_subject:
            yield "subject", self.subject
        yield "text", self.body_text
        if self.body_html is not None:
            yield "html", self.body_html

    def stamped(self, *, at: datetime, by: str | None) -> MessageTemplate:
        return attrs.evolve(self, updated_at=at, updated_by=by)


@attrs.frozen
class TemplateProblem:
    """One reason a template was refused: the part (subject, text, html), the line in that
    part (None when it concerns the whole part) and what is wrong."""

    part: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.part}, line {self.line}" if self.line is not None else self.part
        return f"{where}: {self.message}"


def template_order(template: MessageTemplate) -> tuple[str, str, str]:
    """The order templates are listed in: key, language, incident type (None first)."""
    return (template.key, template.language, template.incident_type or "")


def language_chain(*preferred: str | None) -> tuple[str, ...]:
    """The languages to try, in order: the given ones (requested, the ticket's or customer's,
    the deployment's default), each regional form followed by its language (``pt-BR``,
    ``pt``), without gaps or repeats, then English."""
    chain = dict.fromkeys(t for p in preferred if p for t in (p, base_language(p)))
    chain.setdefault(FALLBACK_LANGUAGE)
    return tuple(chain)


def incident_type_chain(incident_type: str | None) -> tuple[str | None, ...]:
    """``complaint/damaged`` → (``complaint/damaged``, ``complaint``, None)."""
    chain: list[str | None] = []
    current = incident_type or None
    while current:
        chain.append(current)
        current = current.rpartition("/")[0] or None
    chain.append(None)
    return tuple(chain)


def resolve_template(
    templates: Iterable[MessageTemplate],
    *,
    key: str,
    incident_type: str | None,
    languages: Iterable[str],
) -> MessageTemplate | None:
    """The template with ``key`` for the first language of ``languages`` that has one,
    and within it the most specific incident type (the type, its ancestors, then global)."""
    candidates = {t.identity[1:]: t for t in templates if t.key == key}
    types = incident_type_chain(incident_type)
    for language in languages:
        for type_key in types:
            found = candidates.get((language, type_key))
            if found is not None:
                return found
    return None
