"""Dates, numbers and amounts written the way each language writes them.

Dates go through pendulum, whose locales cover cs, de, sk and en. Numbers are formatted here
with a small table instead: pendulum does not format numbers, and Babel (with its CLDR data)
would be a large dependency for four separators and a currency position.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pendulum

__all__ = ["format_date", "format_datetime", "format_money", "format_number"]

NBSP = "\u00a0"

# language → (short date, long date, time)
_PATTERNS: dict[str, tuple[str, str, str]] = {
    "cs": ("D. M. YYYY", "D. MMMM YYYY", "H:mm"),
    "sk": ("D. M. YYYY", "D. MMMM YYYY", "H:mm"),
    "de": ("DD.MM.YYYY", "D. MMMM YYYY", "HH:mm"),
    "en": ("D MMM YYYY", "D MMMM YYYY", "HH:mm"),
}
# language → (thousands separator, decimal separator)
_SEPARATORS: dict[str, tuple[str, str]] = {
    "cs": (NBSP, ","), "sk": (NBSP, ","), "de": (".", ","), "en": (",", "."),
}
_SYMBOLS = {"EUR": "€", "CZK": "Kč", "USD": "$", "GBP": "£"}
_SYMBOL_FIRST_IN_ENGLISH = {"EUR", "USD", "GBP"}


def _lang(language: str) -> str:
    return language if language in _PATTERNS else "en"


def _instance(value: datetime | date, timezone: str) -> pendulum.DateTime | pendulum.Date:
    if isinstance(value, datetime):
        return pendulum.instance(value).in_timezone(timezone)
    return pendulum.Date(value.year, value.month, value.day)


def format_date(value: datetime | date, *, language: str, timezone: str = "UTC",
                style: str = "long") -> str:
    """``style``: ``long`` (1. prosince 2026), ``short`` (1. 12. 2026) or a pendulum pattern."""
    lang = _lang(language)
    short, long, _ = _PATTERNS[lang]
    pattern = {"short": short, "long": long}.get(style, style)
    return _instance(value, timezone).format(pattern, locale=lang)


def format_datetime(value: datetime | date, *, language: str, timezone: str = "UTC",
                    style: str = "long") -> str:
    """The date as in :func:`format_date` followed by the time (1. prosince 2026 14:30)."""
    if not isinstance(value, datetime):
        return format_date(value, language=language, timezone=timezone, style=style)
    lang = _lang(language)
    day = format_date(value, language=lang, timezone=timezone, style=style)
    if style not in ("short", "long"):
        return day
    clock = _instance(value, timezone).format(_PATTERNS[lang][2], locale=lang)
    return f"{day} {clock}"


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a yes/no value is not a number")
    if isinstance(value, float | int | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{type(value).__name__} is not a number")
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def format_number(value: object, *, language: str, decimals: int | None = None) -> str:
    """1 234,5 (cs, sk: no-break space), 1.234,5 (de), 1,234.5 (en)."""
    number = _decimal(value)
    if decimals is not None:
        decimals = max(0, min(int(decimals), 10))
        number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    thousands, point = _SEPARATORS[_lang(language)]
    sign = "-" if number < 0 else ""
    text = f"{abs(number):f}"
    whole, _, fraction = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    result = thousands.join(groups)
    return f"{sign}{result}{point}{fraction}" if fraction else f"{sign}{result}"


def format_money(value: object, currency: str = "EUR", *, language: str) -> str:
    """Two decimals and the currency: 1 234,50 Kč, 1.234,50 €, €1,234.50, CHF 1,234.50."""
    amount = format_number(value, language=language, decimals=2)
    code = str(currency).upper()[:8]
    symbol = _SYMBOLS.get(code, code)
    if _lang(language) == "en":
        if code in _SYMBOL_FIRST_IN_ENGLISH:
            return f"-{symbol}{amount[1:]}" if amount.startswith("-") else f"{symbol}{amount}"
        return f"{code}{NBSP}{amount}"
    return f"{amount}{NBSP}{symbol}"
