"""Validated intake requests: what a web form or a staff member hands to the helpdesk.

Form fields arrive as untrusted strings; :meth:`WebFormSubmission.parse` is the only way in and
turns them into clean values or a :class:`ValidationError` naming the field.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

import attrs

from helpdesk_core.domain.contacts import normalize_email
from helpdesk_core.domain.values import Channel, clean_line, clean_text, optional_language
from helpdesk_core.errors import ValidationError

__all__ = ["MAX_MESSAGE", "StaffVia", "WebFormSubmission", "validate_language"]

MAX_MESSAGE = 100_000
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$")


def validate_language(value: object) -> str | None:
    """A language code (``cs``, ``de``, ``pt-BR`` ...) normalised, or None when none is given;
    see :func:`helpdesk_core.domain.values.language_tag`."""
    return optional_language(value)


class StaffVia(enum.Enum):
    """How a request reached the staff member who types it in."""

    PHONE = "phone"
    IN_STORE = "in_store"
    RETURN = "return"  # a parcel sent back with a note
    OTHER = "other"

    @property
    def channel(self) -> Channel:
        return Channel.PHONE if self is StaffVia.PHONE else Channel.STAFF

    @classmethod
    def of(cls, value: object) -> StaffVia:
        """``value`` as a StaffVia (its text, ``"phone"``, too); else ValidationError."""
        try:
            return value if isinstance(value, cls) else cls(value)
        except ValueError:
            known = ", ".join(v.value for v in cls)
            raise ValidationError(f"{value!r} is not one of {known}", field="via") from None


@attrs.frozen
class WebFormSubmission:
    email: str
    name: str
    message: str
    subject: str
    order_number: str | None = None
    language: str | None = None

    @classmethod
    def parse(cls, fields: Mapping[str, object]) -> WebFormSubmission:
        """Validate raw form fields (``email``, ``name``, ``message``, optional ``subject``,
        ``order_number``, ``language``); unknown fields are ignored."""
        if not isinstance(fields, Mapping):
            raise ValidationError("the form's fields must be a mapping of names to values",
                                  field="fields")
        message = clean_text(fields.get("message"), field="message", max_length=MAX_MESSAGE)
        # A field left out or null is empty; anything else must be text (0 is no subject).
        subject_raw = fields.get("subject")
        subject = clean_line("" if subject_raw is None else subject_raw, field="subject",
                             max_length=200, required=False)
        if not subject:
            first_line = message.split("\n", 1)[0]
            subject = first_line[:80].rstrip() + ("…" if len(first_line) > 80 else "")
        order_raw = fields.get("order_number")
        order_number = None
        if order_raw not in (None, ""):
            if not isinstance(order_raw, str) or not _ORDER_NUMBER.match(order_raw.strip()):
                raise ValidationError("not an order number", field="order_number")
            order_number = order_raw.strip()
        return cls(
            email=normalize_email(fields.get("email"), field="email"),
            name=clean_line("" if (name := fields.get("name")) is None else name, field="name",
                            max_length=200, required=False),
            message=message,
            subject=subject,
            order_number=order_number,
            language=validate_language(fields.get("language")),
        )
