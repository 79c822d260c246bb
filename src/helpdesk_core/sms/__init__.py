"""SMS text rules: GSM 03.38 vs UCS-2, segment counts, transliteration, the sending policy.

Pure like the domain: text in, values out, no network. Adapters (``helpdesk-sms``) and the SMS
use cases build on it.
"""

from __future__ import annotations

from helpdesk_core.sms.delivery import DeliveryStatus
from helpdesk_core.sms.policy import PreparedSms, SmsPolicy
from helpdesk_core.sms.segments import (
    GSM_BASIC,
    GSM_EXTENSION,
    Encoding,
    encoding_for,
    is_gsm7,
    segment_count,
    septets,
    split_segments,
    transliterate,
    utf16_units,
)

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "DeliveryStatus",
    "Encoding",
    "PreparedSms",
    "SmsPolicy",
    "encoding_for",
    "is_gsm7",
    "segment_count",
    "septets",
    "split_segments",
    "transliterate",
    "utf16_units",
]
