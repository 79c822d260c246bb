"""Form-encoded webhook bodies, read defensively."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence

from helpdesk_core.errors import ValidationError

__all__ = ["Form", "first", "parse_form"]

Form = Mapping[str, Sequence[str]]
MAX_FIELDS = 200


def parse_form(body: bytes) -> dict[str, list[str]]:
    """``application/x-www-form-urlencoded`` to a dict of value lists (repeats kept)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("the form is not UTF-8", field="body") from None
    try:
        return urllib.parse.parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS,
                                     strict_parsing=False)
    except ValueError as exc:
        raise ValidationError(f"not a form: {exc}", field="body") from None


def first(form: Form, *names: str) -> str | None:
    """The first value of the first of ``names`` present (``user`` or ``user[]`` ...)."""
    for name in names:
        values = form.get(name)
        if values:
            return values[0]
    return None
