"""Dates, times, numbers, percentages and amounts written the way each language writes them.

Everything comes from the CLDR data that Babel ships, so every language Babel knows (some
seven hundred, with their regional variants) is written its own way: ``7. prosince 2026``,
``7 décembre 2026``, ``7 grudnia 2026``, ``2026. december 7.``; ``1 234,50 Kč``,
``1 234,50 €``, ``1 234,50 zł``, ``1 235 Ft``.

The language is a tag such as ``cs``, ``pl`` or ``pt-BR`` (``_`` works too). A bare ``en`` is
written the British way (``en_GB``: day before month, 24-hour clock), as the helpdesk always
wrote it; ``en-US`` asks for the American one. A tag Babel does not know, or one that is no
tag at all, is written like ``en`` — never an error: which languages a deployment accepts is
decided when templates and tickets are saved, not while a message is being sent.

These functions are what the template filters call (see :mod:`.sandbox`); a template never
sees a Babel object. They raise ``ValueError`` for a value they cannot write (text given to
``date``, an amount that is no number, a currency that is no ISO 4217 code), which a rendering
reports as a :class:`~helpdesk_core.errors.TemplateError` with the part and line.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pendulum
from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers

__all__ = [
    "DATE_STYLES",
    "DEFAULT_CURRENCY",
    "DEFAULT_LOCALE",
    "TIME_STYLES",
    "currency_problem",
    "format_date",
    "format_datetime",
    "format_money",
    "format_number",
    "format_percent",
    "format_time",
    "locale_for",
    "style_problem",
]

DEFAULT_LOCALE = "en_GB"  # a bare "en", and every language Babel does not know
DEFAULT_CURRENCY = "EUR"
# style → the CLDR date format used. CLDR's own "short" date has a two-digit year in many
# languages (cs 07.12.26, de 07.12.26), which a letter to a customer should not carry, so
# "short" stays what it always was here: the compact form with the whole year.
DATE_STYLES: Mapping[str, str] = {
    "short": "medium", "medium": "medium", "long": "long", "full": "full"}
TIME_STYLES: Mapping[str, str] = {
    "short": "short", "medium": "medium", "long": "long", "full": "full"}
MAX_DIGITS = 30  # digits before the decimal point a number may have
MAX_DECIMALS = 20  # decimal places written at most (more are rounded away)

_TAG = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8}){0,3}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
# The pattern tokens of pendulum (``pendulum/formatting/formatter.py``), which the date filters
# have always accepted; ``[text]`` is literal text and ``\\x`` one literal character.
_TOKENS = re.compile(
    r"\[([^\[]*)\]|\\(.)|"
    r"(Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|eo?|E{1,4}|w[o|w]?|W[o|W]?|Qo?"
    r"|YYYY|YY|Y|gg(?:ggg?)?|GG(?:GGG?)?|a|A|hh?|HH?|kk?|mm?|ss?|S{1,9}|x|X|zz?|ZZ?"
    r"|LTS|LT|LL?L?L?)")
_ORDINALS = frozenset({"Do", "DDDo", "Mo", "Qo", "wo", "Wo", "do", "eo"})


# -- languages and time zones -------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _locale(tag: str) -> Locale:
    if not _TAG.fullmatch(tag):
        return Locale.parse(DEFAULT_LOCALE)
    if tag.lower() == "en":
        tag = DEFAULT_LOCALE
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


def locale_for(language: object) -> Locale:
    """The CLDR locale ``language`` is written in: the tag itself if Babel knows it (``fr``,
    ``pt-BR``), British English for a bare ``en``, and :data:`DEFAULT_LOCALE` for anything
    else — an unknown or malformed tag is not an error."""
    return _locale(language if isinstance(language, str) else "")


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{name!r} is not a time zone") from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _local(value: object, timezone: str) -> datetime | date:
    """A date-time in ``timezone`` (a naive one is taken as UTC); a date as it is."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(_zone(timezone))
    if isinstance(value, date):
        return value
    raise ValueError(f"{_shown(value)} is not a date or date-time")


# -- dates and times ------------------------------------------------------------------------


def style_problem(style: str) -> str | None:
    """Why ``style`` is neither a style nor a pattern, or None. A single word that is no style
    name and not made of pattern tokens only (``medum``, ``lang``) is a misspelt style; any
    other text is a pattern, where letters that are no token are written as they are."""
    name = style.strip()
    if name in DATE_STYLES or not name.isalpha() or not _TOKENS.sub("", name):
        return None
    return (f"unknown style {style!r}: use short, medium, long, full or a pattern such as "
            f"'D. MMMM YYYY'")


def _check_style(style: str) -> str | None:
    """The style's name, or None for a pattern; ValueError for a misspelt style."""
    problem = style_problem(style)
    if problem:
        raise ValueError(problem)
    name = style.strip()
    return name if name in DATE_STYLES else None


def _date_text(day: date, style: str, locale: Locale) -> str:
    return babel_dates.format_date(day, DATE_STYLES[style], locale=locale)


def _time_text(moment: datetime, style: str, locale: Locale) -> str:
    return babel_dates.format_time(moment, TIME_STYLES[style], tzinfo=moment.tzinfo,
                                   locale=locale)


def _joined(day: str, clock: str, style: str, locale: Locale) -> str:
    """Date and time joined the way the language joins them (``{1} {0}``, ``{1}, {0}`` ...)."""
    glue = str(locale.datetime_formats[DATE_STYLES[style]]).replace("'", "")
    return glue.replace("{1}", day).replace("{0}", clock)


def format_date(value: object, *, language: str, timezone: str = "UTC",
                style: str = "long") -> str:
    """``style``: ``short``/``medium`` (7. 12. 2026, 7 déc. 2026), ``long`` (7. prosince 2026),
    ``full`` (pondělí 7. prosince 2026) or a pattern (``dddd D. MMMM``). A date-time is
    shown on its day in ``timezone``."""
    locale = locale_for(language)
    local = _local(value, timezone)
    name = _check_style(str(style))
    if name is None:
        return _pattern(local, str(style), locale, timezone)
    day = local.date() if isinstance(local, datetime) else local
    return _date_text(day, name, locale)


def format_time(value: object, *, language: str, timezone: str = "UTC",
                style: str = "short") -> str:
    """The time of a date-time in ``timezone``: ``short`` (17:00, 5:00 PM in en-US),
    ``medium`` (17:00:00), ``long`` and ``full`` (with the zone) or a pattern (``HH:mm``)."""
    locale = locale_for(language)
    local = _local(value, timezone)
    if not isinstance(local, datetime):
        raise ValueError(f"{_shown(value)} is a date without a time")
    name = _check_style(str(style))
    if name is None:
        return _pattern(local, str(style), locale, timezone)
    return _time_text(local, name, locale)


def format_datetime(value: object, *, language: str, timezone: str = "UTC",
                    style: str = "long") -> str:
    """The date as :func:`format_date` writes it and the time (hours and minutes), joined as
    the language joins them: 7. prosince 2026 17:00, 7 décembre 2026, 17:00. A date alone is
    written as a date; a pattern is used as it is."""
    locale = locale_for(language)
    local = _local(value, timezone)
    name = _check_style(str(style))
    if name is None:
        return _pattern(local, str(style), locale, timezone)
    if not isinstance(local, datetime):
        return _date_text(local, name, locale)
    return _joined(_date_text(local.date(), name, locale), _time_text(local, "short", locale),
                   name, locale)


def _pattern(local: datetime | date, pattern: str, locale: Locale, timezone: str) -> str:
    """A pendulum pattern, with names (months, days, am/pm) and the ``L`` formats taken from
    the CLDR data of ``locale`` and every number token from pendulum."""
    moment = (pendulum.instance(local) if isinstance(local, datetime)
              else pendulum.datetime(local.year, local.month, local.day, tz=timezone))

    def token(match: re.Match[str]) -> str:
        literal, escaped, name = match.groups()
        if literal is not None:
            return literal
        if escaped is not None:
            return escaped
        return _token(moment, name, locale)

    return _TOKENS.sub(token, pattern)


def _token(moment: pendulum.DateTime, name: str, locale: Locale) -> str:
    months, days = locale.months["format"], locale.days["format"]
    periods = locale.day_periods["format"]["abbreviated"]
    period = str(periods.get("am" if moment.hour < 12 else "pm", ""))
    named: dict[str, Callable[[], object]] = {
        "MMMM": lambda: months["wide"][moment.month],
        "MMM": lambda: months["abbreviated"][moment.month],
        "dddd": lambda: days["wide"][moment.weekday()],
        "ddd": lambda: days["abbreviated"][moment.weekday()],
        "dd": lambda: days["short"][moment.weekday()],
        "A": lambda: period,
        "a": lambda: period.lower(),
        "e": lambda: str((moment.weekday() - locale.first_week_day) % 7),
        "LT": lambda: _time_text(moment, "short", locale),
        "LTS": lambda: _time_text(moment, "medium", locale),
        "L": lambda: _date_text(moment.date(), "short", locale),
        "LL": lambda: _date_text(moment.date(), "long", locale),
        "LLL": lambda: _joined(_date_text(moment.date(), "long", locale),
                               _time_text(moment, "short", locale), "long", locale),
        "LLLL": lambda: _joined(_date_text(moment.date(), "full", locale),
                                _time_text(moment, "short", locale), "full", locale),
    }
    if name in named:
        return str(named[name]())
    if name in _ORDINALS:
        try:  # pendulum writes ordinals for the few languages it has data for
            return moment.format(name, locale=locale.language)
        except ValueError:  # elsewhere the number and a full stop: 7.
            return f"{moment.format(name[:-1], locale='en')}."
    return moment.format(name, locale="en")


# -- numbers and amounts --------------------------------------------------------------------


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a yes/no value is not a number")
    if isinstance(value, float | int | Decimal):
        try:
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except (ValueError, InvalidOperation):  # an int too long to convert
            raise ValueError(f"a number of more than {MAX_DIGITS} digits is too large"
                             ) from None
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{_shown(value)} is not a number") from None
    else:
        raise ValueError(f"{_shown(value)} is not a number")
    if not number.is_finite():
        raise ValueError("not a finite number")
    if number and number.adjusted() >= MAX_DIGITS:
        raise ValueError(f"a number of more than {MAX_DIGITS} digits is too large")
    return number


def _rounded(number: Decimal, places: int) -> Decimal:
    """``number`` to ``places`` decimal places, halves away from zero (2.345 → 2.35)."""
    with localcontext() as context:
        context.prec = MAX_DIGITS + MAX_DECIMALS + 10
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _places(decimals: object) -> int | None:
    if decimals is None:
        return None
    if isinstance(decimals, bool) or not isinstance(decimals, int | float | str | Decimal):
        raise ValueError("decimals must be a whole number")
    return max(0, min(int(decimals), 10))


def _apply(pattern: babel_numbers.NumberPattern, number: Decimal, places: int | None,
           locale: Locale) -> str:
    """``number`` in ``pattern`` with exactly ``places`` decimals, or as many as it has."""
    pattern = copy.copy(pattern)  # the locale's own pattern objects are shared
    scaled = number.scaleb(pattern.scale)
    if places is None:
        if _exponent(scaled) < -MAX_DECIMALS:
            scaled = _rounded(scaled, MAX_DECIMALS).normalize()
        places = max(-_exponent(scaled), 0)
    else:
        scaled = _rounded(scaled, places)
    scaled = scaled if scaled else abs(scaled)  # -0.001 rounded is 0, not -0
    pattern.frac_prec = (places, places)
    pattern.scale = 0
    with localcontext() as context:  # room for every digit while Babel rounds
        context.prec = MAX_DIGITS + MAX_DECIMALS + 10
        return str(pattern.apply(scaled, locale))


def _exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def format_number(value: object, *, language: str, decimals: int | None = None) -> str:
    """1 234 567,5 (cs: no-break spaces), 1.234.567,5 (de), 1 234 567,5 (fr: narrow no-break
    spaces), 1,234,567.5 (en). ``decimals``: exactly that many places (0-10), rounded half
    away from zero; None: the places the number has."""
    locale = locale_for(language)
    return _apply(locale.decimal_formats[None], _decimal(value), _places(decimals), locale)


def format_percent(value: object, *, language: str, decimals: int | None = None) -> str:
    """A fraction as a percentage: 0.125 → 12,5 % (cs, fr), 12,5% (pl), 12.5% (en)."""
    locale = locale_for(language)
    return _apply(locale.percent_formats[None], _decimal(value), _places(decimals), locale)


def currency_problem(currency: str) -> str | None:
    """Why ``currency`` is not an ISO 4217 code, or None."""
    if _CURRENCY.fullmatch(currency.strip()):
        return None
    return f"{currency!r} is not a currency code (three letters, such as EUR or CZK)"


def _currency(value: object) -> str:
    text = str(value)
    problem = currency_problem(text)
    if problem:
        raise ValueError(problem)
    return text.strip().upper()


def format_money(value: object, currency: str | None = None, *, language: str,
                 default_currency: str = DEFAULT_CURRENCY) -> str:
    """An amount with its currency, in the currency's own decimal places (CZK and EUR two,
    HUF and JPY none), rounded half away from zero: 1 234,50 Kč, 1.234,50 €, €1,234.50.

    ``value`` is a number, or a mapping with ``amount`` and ``currency`` (an amount that
    carries its currency). The currency is the value's own, else ``currency``, else
    ``default_currency``; a ``currency`` that contradicts the value's own is an error,
    since writing the amount in another currency would misstate it."""
    own: str | None = None
    if isinstance(value, Mapping):
        if "amount" not in value:
            raise ValueError("an amount given as a mapping needs 'amount' (and 'currency')")
        own = _currency(value["currency"]) if value.get("currency") is not None else None
        value = value["amount"]
    asked = _currency(currency) if currency is not None else None
    if own is not None and asked is not None and own != asked:
        raise ValueError(f"the amount is in {own}, not {asked}")
    code = own or asked or _currency(default_currency)
    locale = locale_for(language)
    places = babel_numbers.get_currency_precision(code)
    amount = _rounded(_decimal(value), places)
    amount = amount if amount else abs(amount)
    with localcontext() as context:
        context.prec = MAX_DIGITS + MAX_DECIMALS + 10
        return str(babel_numbers.format_currency(amount, code, locale=locale,
                                                 currency_digits=True))
