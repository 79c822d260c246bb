"""Numbers as telephone systems report them, turned into E.164 or into "unknown caller".

Providers disagree on the format: Twilio sends ``+4930123456``, sipgate ``4930123456`` (the
international number without "+"), PBXs ``004930123456`` or the national ``030123456``; a
withheld number arrives as ``anonymous``, ``restricted``, an empty field or a pseudo-number.
None of that may crash a webhook: anything that is not a valid number is an unknown caller.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["WITHHELD", "caller_number"]

# Words for a number the caller withheld or the network did not deliver.
WITHHELD = frozenset({
    "", "+", "anonymous", "restricted", "unknown", "unavailable", "private", "withheld",
    "blocked", "unknown caller", "no caller id", "clir",
})
# Twilio reports withheld numbers as the keypad spelling of these words.
_PSEUDO = frozenset({
    "+266696687",  # ANONYMOUS
    "+7378742833",  # RESTRICTED
    "+86282452253",  # UNAVAILABLE
    "+2562533",  # BLOCKED
})
_SEPARATORS = re.compile(r"[\s\-./()\u00a0]")
_URI = re.compile(r"(?:sips?|tel):([^@;]*)", re.IGNORECASE)
_MAX_LENGTH = 64


def caller_number(raw: object, *, default_region: str | None = None) -> str | None:
    """The number in E.164, or None for a withheld, unknown or malformed one. Never raises.

    ``default_region`` (ISO 3166 code such as ``"DE"``) is the region of the line the call came
    in on: it is used for national numbers (``030 123456``). A run of digits that does not start
    with ``0`` is read as an international number without its "+" first (the sipgate format),
    and only then as a national number; ``00`` is the international prefix.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_LENGTH:
        return None
    text = raw.strip()
    uri = _URI.match(text)
    if uri:
        text = uri.group(1)
    if text.casefold() in WITHHELD:
        return None
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        if not text[1:].isdecimal() or not text[1:].isascii():
            return None
        return _valid(text, None)
    if not (text.isdecimal() and text.isascii()):
        return None
    if not text.startswith("0"):
        international = _valid("+" + text, None)
        if international is not None:
            return international
    return _valid(text, default_region) if default_region else None


def _valid(text: str, region: str | None) -> str | None:
    if text in _PSEUDO:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    except Exception:  # hostile input must never crash a webhook  # pragma: no cover
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
