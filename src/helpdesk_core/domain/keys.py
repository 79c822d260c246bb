"""Keys and filter values that no stored record can have.

Everything the helpdesk stores under a key — ticket ids and numbers, outbox ids, Message-IDs
and call keys, staged mail's account and key, template keys and languages, contact and
agent ids — is text of at most :data:`MAX_KEY_LENGTH` characters without control characters
(C0, DEL, C1) and without lone surrogates: the writers make sure of it (generated ids,
``validate_tag``, the mail parser's cleaning of Message-IDs, the checks on call ids and
template keys). A key outside that shape therefore names nothing, and the backends would
otherwise disagree about it: PostgreSQL refuses a NUL byte in a parameter (a driver error),
SQLite and the in-memory store find nothing, a megabyte-long key is sent to the server.

So there are two rules, both decided here:

- **a lookup** by a key that :func:`could_exist` refuses finds nothing — ``TicketNotFound``,
  ``None``, an empty list, ``False``, as for any missing key — and reaches no backend
  (:class:`helpdesk_core.services.unit_of_work.Unit` and the templates service apply it);
- **a filter** (a :class:`~helpdesk_core.domain.queue.TicketQuery` field) with such a value is
  a :class:`ValidationError` naming the field when the query is built (:func:`filter_text`):
  a filter is written by a program, and a control character in it is a bug to show.
"""

from __future__ import annotations

import re

from helpdesk_core.errors import ValidationError

__all__ = ["MAX_KEY_LENGTH", "could_exist", "filter_text", "unstorable"]

# The longest key stored: a Message-ID (the parser keeps 900 characters and the brackets),
# with room to spare; every other key is far shorter (ids 32, call ids 200, template keys 80).
MAX_KEY_LENGTH = 1000

# C0 controls, DEL, C1 controls and the UTF-16 surrogates (no encoder takes a lone one).
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """The first character of ``text`` that no key and no filter may contain, or None."""
    found = _UNSTORABLE.search(text)
    return found.group() if found else None


def could_exist(key: object) -> bool:
    """Whether ``key`` could name a stored record: text of at most :data:`MAX_KEY_LENGTH`
    characters, none of them a control character or a lone surrogate."""
    return (isinstance(key, str) and len(key) <= MAX_KEY_LENGTH
            and _UNSTORABLE.search(key) is None)


def filter_text(value: object, *, field: str, max_length: int = MAX_KEY_LENGTH) -> str:
    """``value`` as a filter on text: refused with a ValidationError naming ``field`` unless it
    is text of at most ``max_length`` characters without control characters."""
    if not isinstance(value, str):
        raise ValidationError(f"must be text, not {type(value).__name__}", field=field)
    if len(value) > max_length:
        raise ValidationError(f"longer than {max_length} characters", field=field)
    bad = unstorable(value)
    if bad is not None:
        what = "a lone surrogate" if "\ud800" <= bad <= "\udfff" else "a control character"
        raise ValidationError(f"contains U+{ord(bad):04X}, {what}", field=field)
    return value
