"""GSM 03.38 and UCS-2: which encoding a text needs and how many SMS segments it takes.

A single SMS carries 140 octets. In the GSM 7-bit default alphabet that is 160 characters;
characters of the extension table (``€ [ ] { } \\ ^ ~ |`` and form feed) take two septets, an
escape and the character. A text with any character outside both tables is sent as UCS-2:
70 UTF-16 code units, so a character outside the Basic Multilingual Plane (most emoji) counts
two. A longer text is split into parts that each give up room to the concatenation header:
153 septets or 67 code units per part. A part never ends between an escape and its character,
nor between the two halves of a surrogate pair, so the count is made by filling parts, not by
dividing.

Czech and Slovak text almost always needs UCS-2 (``č ř š ž ě ů`` are not in the GSM alphabet),
which more than halves what one SMS holds; :func:`transliterate` turns such text into GSM-7.
"""

from __future__ import annotations

import enum
import unicodedata

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "Encoding",
    "encoding_for",
    "is_gsm7",
    "segment_count",
    "septets",
    "split_segments",
    "transliterate",
    "utf16_units",
]

# The default alphabet in code order (0x00-0x7F); 0x1B is the escape to the extension table
# and is no character of its own.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ" "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7, PART_GSM7 = 160, 153
SINGLE_UCS2, PART_UCS2 = 70, 67


class Encoding(enum.Enum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


def is_gsm7(text: str) -> bool:
    """Every character is in the default alphabet or its extension table."""
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def encoding_for(text: str) -> Encoding:
    return Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2


def septets(text: str) -> int:
    """Length in GSM-7 septets (extension characters count two). The text must be GSM-7."""
    return sum(2 if c in GSM_EXTENSION else 1 for c in text)


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units: characters beyond U+FFFF count two."""
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def _cost(c: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return 2 if c in GSM_EXTENSION else 1
    return 2 if ord(c) > 0xFFFF else 1


def split_segments(text: str) -> list[str]:
    """The parts the text is sent in, filled greedily: what a phone shows as one message.

    An empty text is one (empty) segment.
    """
    encoding = encoding_for(text)
    single, part = ((SINGLE_GSM7, PART_GSM7) if encoding is Encoding.GSM7
                    else (SINGLE_UCS2, PART_UCS2))
    total = sum(_cost(c, encoding) for c in text)
    if total <= single:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    room = part
    for c in text:
        cost = _cost(c, encoding)
        if cost > room:
            parts.append("".join(current))
            current, room = [], part
        current.append(c)
        room -= cost
    parts.append("".join(current))
    return parts


def segment_count(text: str) -> int:
    """How many SMS the text is sent as (1 for an empty text)."""
    encoding = encoding_for(text)
    single = SINGLE_GSM7 if encoding is Encoding.GSM7 else SINGLE_UCS2
    if sum(_cost(c, encoding) for c in text) <= single:
        return 1
    return len(split_segments(text))


# Replacements that Unicode decomposition does not give: letters with a stroke or ligatures
# (no decomposition at all), typographic punctuation (decomposes to nothing ASCII-like, or only
# under NFKD to something that is still outside the GSM alphabet), and spaces of other widths.
_TABLE = {
    # letters
    "\u1e9e": "SS", "\u0110": "D", "\u0111": "d", "\u0141": "L", "\u0142": "l",
    "\u0152": "OE", "\u0153": "oe", "\u013f": "L", "\u0140": "l", "\u0126": "H",
    "\u0127": "h", "\u0131": "i", "\u00de": "Th", "\u00fe": "th", "\u00d0": "D",
    "\u00f0": "d",
    # double quotes: low, curly, reversed, guillemets, the double prime
    **dict.fromkeys("\u201e\u201c\u201d\u201f\u00ab\u00bb\u2033", '"'),
    # single quotes: low, curly, reversed, single guillemets, the prime, grave and acute
    **dict.fromkeys("\u201a\u2018\u2019\u201b\u2039\u203a\u2032`\u00b4", "'"),
    # hyphens, dashes and the minus sign
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2026": "...", "\u2022": "*", "\u00b7": ".", "\u00d7": "x", "\u00f7": ":",
    "\u00a9": "(c)", "\u00ae": "(R)", "\u2122": "TM", "\u00b0": "o", "\u00bd": "1/2",
    "\u00bc": "1/4", "\u00be": "3/4", "\u00a2": "c", "\u20a4": "\u00a3",
    # spaces of other widths, invisible joiners, line and paragraph separators
    **dict.fromkeys("\t\u00a0\u2002\u2003\u2007\u2008\u2009\u200a\u202f", " "),
    **dict.fromkeys("\u200b\u200c\u200d\ufeff", ""),
    "\u2028": "\n", "\u2029": "\n",
}

# Per-language conventions that differ from the generic rules. The Czech, Slovak and German
# letters that would need one (ä ö ü ß, é) are all in the GSM alphabet and are kept as they are,
# so no language needs an entry yet; the hook stays so that one can be added without changing
# callers.
_LANGUAGE_TABLES: dict[str, dict[str, str]] = {}


def _replace(c: str, table: dict[str, str]) -> str:
    if c in GSM_BASIC or c in GSM_EXTENSION:
        return c
    if c in table:
        return table[c]
    if c in _TABLE:
        return _TABLE[c]
    for form in ("NFD", "NFKD"):
        base = "".join(d for d in unicodedata.normalize(form, c) if not unicodedata.combining(d))
        if base and is_gsm7(base):
            return base
        if base and all(ch in _TABLE or is_gsm7(ch) for ch in base):
            return "".join(_TABLE.get(ch, ch) for ch in base)
    return "?"


def transliterate(text: str, language: str | None = None) -> str:
    """The text in the GSM 7-bit alphabet, so that it is not sent as UCS-2.

    Characters already in the GSM alphabet (including ``é ä ö ü ß`` and ``à è ì ò ù``) are kept.
    Letters with diacritics lose them through Unicode decomposition (``č → c``, ``ř → r``,
    ``ů → u``, ``ľ → l``, ``ô → o``); an explicit table covers what decomposition cannot:
    letters with no decomposition (``ł``, ``đ``, ``œ``, capital ``ẞ → SS``), typographic quotes
    and dashes (low and curly quotes to ``"``, en and em dashes to ``-``, the ellipsis to
    ``...``) and non-breaking and other spaces. Anything
    left (other scripts, emoji) becomes ``?``. ``language`` (ISO 639-1) selects a language's
    own conventions where they differ from the generic rules.
    """
    table = _LANGUAGE_TABLES.get((language or "").lower()[:2], {})
    return "".join(_replace(c, table) for c in text)
