"""The sending policy: transliterate to stay in GSM-7, and a cap on segments per message."""

from __future__ import annotations

import attrs

from helpdesk_core.domain.values import optional_language
from helpdesk_core.errors import ConfigurationError, SmsTooLong, ValidationError
from helpdesk_core.sms.segments import Encoding, encoding_for, segment_count, transliterate

__all__ = ["MAX_CONCATENATED", "PreparedSms", "SmsPolicy"]

MAX_CONCATENATED = 255  # the concatenation header numbers parts with one octet


@attrs.frozen
class PreparedSms:
    """The text as it will be sent, with its encoding and segment count."""

    text: str
    encoding: Encoding
    segments: int
    transliterated: bool = False


def _check_cap(_instance: object, _attribute: object, value: int) -> None:
    if not 1 <= value <= MAX_CONCATENATED:
        raise ValidationError(f"must be between 1 and {MAX_CONCATENATED}",
                              field="max_segments")


def _policy_language(value: object) -> str | None:
    try:
        return optional_language(value)
    except ValidationError as exc:
        raise ConfigurationError(f"SmsPolicy {exc}") from exc


@attrs.frozen
class SmsPolicy:
    """
    transliterate   replace characters outside the GSM alphabet (``č → c``, ``„ → "``) so that
                    a Czech or Slovak text fits 160/153 characters per segment instead of 70/67
    max_segments    the most segments one message may take; a longer one is refused with
                    SmsTooLong (every segment is charged as one SMS)
    language        passed to :func:`transliterate`
    """

    transliterate: bool = False
    max_segments: int = attrs.field(default=6, validator=_check_cap)
    language: str | None = attrs.field(default=None, converter=_policy_language)

    def prepare(self, text: str, *, language: str | None = None) -> PreparedSms:
        """The text to send; raises SmsTooLong when it needs more than ``max_segments``."""
        transliterated = False
        if self.transliterate and encoding_for(text) is Encoding.UCS2:
            text = transliterate(text, language or self.language)
            transliterated = True
        encoding = encoding_for(text)
        segments = segment_count(text)
        if segments > self.max_segments:
            raise SmsTooLong(segments=segments, limit=self.max_segments,
                             encoding=encoding.value)
        return PreparedSms(text=text, encoding=encoding, segments=segments,
                           transliterated=transliterated)
