"""Dates, times, numbers and amounts in the template's language, for every language CLDR knows.

Through the facade: French, Polish and Hungarian messages are written in their own conventions
(they were English), an unknown language is written like English, and a value a filter cannot
write is a TemplateError naming the filter and the line. Properties: for any locale Babel knows
(and tags it does not), any instant and any amount in range, every filter writes something and
never raises; out of range, a rendering fails only with a TemplateError.

The expected strings are CLDR's, as Babel writes them; ``NB`` is a no-break space (U+00A0) and
``NNB`` a narrow no-break space (U+202F), which French groups digits with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.localedata import locale_identifiers
from babel.numbers import list_currencies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk, MessageTemplate, TemplateError, TemplateKind, hookimpl
from helpdesk_core.templates import render_source
from helpdesk_core.templates.localise import (
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_percent,
    format_time,
)

NB, NNB = "\u00a0", "\u202f"
PETRA = Actor.agent("petra", "Petra Malá")
MakeHelpdesk = Callable[..., Helpdesk]

# The ticket is opened at the fake clock's 1 December 2026 09:30 UTC (10:30 in Prague, where
# the conftest shows dates) and falls due on 3 December 16:00 UTC (17:00 in Prague).
SOURCE = ("{{ ticket.created_at|date }} | {{ ticket.created_at|date('short') }} | "
          "{{ ticket.created_at|date('full') }} | {{ sla.due_at|datetime }} | "
          "{{ sla.due_at|time }} | {{ 1234567.5|number }} | {{ 0.125|percent }} | "
          "{{ 1234.5|money }} | {{ 1234.5|money(code) }}")
EXPECTED = {
    "fr": ("1 décembre 2026 | 1 déc. 2026 | mardi 1 décembre 2026 | 3 décembre 2026, 17:00 | "
           f"17:00 | 1{NNB}234{NNB}567,5 | 12,5{NB}% | 1{NNB}234,50{NB}€ | "
           f"1{NNB}234,50{NB}€"),
    "pl": ("1 grudnia 2026 | 1 gru 2026 | wtorek, 1 grudnia 2026 | 3 grudnia 2026 17:00 | "
           f"17:00 | 1{NB}234{NB}567,5 | 12,5% | 1{NB}234,50{NB}€ | 1{NB}234,50{NB}zł"),
    "hu": ("2026. december 1. | 2026. dec. 1. | 2026. december 1., kedd | "
           f"2026. december 3. 17:00 | 17:00 | 1{NB}234{NB}567,5 | 12,5% | 1{NB}234,50{NB}EUR | "
           f"1{NB}235{NB}Ft"),  # the forint is written without decimals
}
CURRENCY = {"fr": "EUR", "pl": "PLN", "hu": "HUF"}


def template(language: str, body: str, key: str = "dates") -> MessageTemplate:
    return MessageTemplate(key=key, kind=TemplateKind.REPLY, language=language,
                           name=f"{key} {language}", subject="Re: {{ ticket.subject }}",
                           body_text=body)


def ticket(helpdesk: Helpdesk) -> str:
    number = helpdesk.tickets.open_from_web_form(
        {"email": "jana@example.cz", "message": "Konvice dorazila rozbitá.",
         "subject": "Rozbitá konvice"}).number
    helpdesk.tickets.set_due(number, datetime(2026, 12, 3, 16, 0, tzinfo=UTC), actor=PETRA)
    return number


# -- through the facade ---------------------------------------------------------------------


@pytest.mark.parametrize("language", EXPECTED)
def test_french_polish_and_hungarian_are_written_in_their_own_conventions(
        helpdesk: Helpdesk, language: str) -> None:
    number = ticket(helpdesk)
    body = "{% set code = '" + CURRENCY[language] + "' %}" + SOURCE
    shown = helpdesk.templates.preview(number, template(language, body), agent=PETRA)
    assert shown.text == EXPECTED[language]
    helpdesk.templates.save(template(language, body), actor=PETRA)
    rendered = helpdesk.templates.render(number, "dates", language=language, agent=PETRA)
    assert rendered.text == EXPECTED[language]


def test_a_date_printed_as_it_is_follows_the_language_too(helpdesk: Helpdesk) -> None:
    number = ticket(helpdesk)
    shown = helpdesk.templates.preview(number, template("fr", "{{ sla.due_at }}"))
    assert shown.text == "3 décembre 2026, 17:00"


def test_a_language_babel_does_not_know_is_written_like_english(helpdesk: Helpdesk) -> None:
    number = ticket(helpdesk)
    # Fijian is an ISO 639-1 language (a template may be written in it) without CLDR formats.
    shown = helpdesk.templates.preview(number, template("fj", SOURCE.replace("(code)", "")))
    assert shown.text == ("1 December 2026 | 1 Dec 2026 | Tuesday, 1 December 2026 | "
                          "3 December 2026, 17:00 | 17:00 | 1,234,567.5 | 12.5% | €1,234.50 | "
                          "€1,234.50")


def test_pendulum_patterns_keep_working_with_names_in_any_language(helpdesk: Helpdesk) -> None:
    number = ticket(helpdesk)
    body = "{{ ticket.created_at|date('dddd D. MMMM YYYY [v] H:mm') }}"
    assert helpdesk.templates.preview(number, template("cs", body)).text == (
        "úterý 1. prosince 2026 v 10:30")
    assert helpdesk.templates.preview(number, template("hu", body)).text == (
        "kedd 1. december 2026 v 10:30")
    assert helpdesk.templates.preview(number, template("pl", "{{ ticket.created_at|date('LL') }}"
                                                       )).text == "1 grudnia 2026"


def test_a_shop_names_its_currency_once_for_every_template(make_helpdesk: MakeHelpdesk) -> None:
    class Shop:
        @hookimpl
        def helpdesk_template_globals(self, language: str) -> dict[str, Any]:
            return {"currency": "CZK", "total": {"amount": "1299", "currency": "EUR"}}

    desk = make_helpdesk(Shop())
    number = ticket(desk)
    body = "{{ 1234.5|money }} / {{ total|money }} / {{ 1234.5|money('PLN') }}"
    assert desk.templates.preview(number, template("cs", body)).text == (
        f"1{NB}234,50{NB}Kč / 1{NB}299,00{NB}€ / 1{NB}234,50{NB}PLN")


def test_a_missing_value_prints_nothing(helpdesk: Helpdesk) -> None:
    number = ticket(helpdesk)
    body = ("[{{ order|date }}][{{ order|datetime }}][{{ order|time }}][{{ order|number }}]"
            "[{{ order|percent }}][{{ order|money }}]")
    assert helpdesk.templates.preview(number, template("cs", body)).text == "[][][][][][]"


@pytest.mark.parametrize(("body", "message"), [
    ("{{ ticket.subject|date }}", "|date: 'Rozbitá konvice' is not a date or date-time"),
    ("{{ ticket.number|number }}", "|number: 'HD-2026-000001' is not a number"),
    ("{{ '1E+99999999'|number }}", "|number: a number of more than 30 digits is too large"),
    ("{{ (10 ** 40)|money }}", "|money: a number of more than 30 digits is too large"),
    ("{{ ticket.subject|time }}", "|time: 'Rozbitá konvice' is not a date or date-time"),
    ("{% set s = 'medum' %}{{ now|date(s) }}", "|date: unknown style 'medum'"),
    ("{% set c = 'Kč' %}{{ 1|money(c) }}", "|money: 'Kč' is not a currency code"),
    ("{% set total = {'amount': 5, 'currency': 'CZK'} %}{{ total|money('EUR') }}",
     "|money: the amount is in CZK, not EUR"),
])
def test_a_value_a_filter_cannot_write_is_a_template_error_naming_the_filter(
        helpdesk: Helpdesk, body: str, message: str) -> None:
    number = ticket(helpdesk)
    with pytest.raises(TemplateError) as info:
        helpdesk.templates.preview(number, template("cs", body))
    problem = info.value.problems[0]
    assert (problem.part, problem.line) == ("text", 1)
    assert message in problem.message


@pytest.mark.parametrize(("body", "message"), [
    ("{{ now|date('medum') }}", "|date: unknown style 'medum'"),
    ("{{ now|datetime(style='lang') }}", "|datetime: unknown style 'lang'"),
    ("{{ now|time('shrt') }}", "|time: unknown style 'shrt'"),
    ("{{ 12|money('Kč') }}", "|money: 'Kč' is not a currency code"),
    ("{{ 12|money(currency='euro') }}", "|money: 'euro' is not a currency code"),
])
def test_a_misspelt_style_or_currency_is_refused_when_saved(helpdesk: Helpdesk, body: str,
                                                            message: str) -> None:
    with pytest.raises(TemplateError) as info:
        helpdesk.templates.save(template("cs", body))
    assert [(p.part, p.line) for p in info.value.problems] == [("text", 1)]
    assert message in info.value.problems[0].message
    assert helpdesk.templates.list() == []


def test_styles_patterns_and_the_new_filters_are_accepted_when_saved(helpdesk: Helpdesk) -> None:
    body = ("{{ now|date('medium') }} {{ now|date('full') }} {{ now|date('dddd') }} "
            "{{ now|date('D. M. [ve] H:mm') }} {{ now|time }} {{ now|time('medium') }} "
            "{{ 0.2|percent(1) }} {{ 3|money('huf') }} {{ 2.5|number(2) }}")
    helpdesk.templates.save(template("cs", body))
    number = ticket(helpdesk)
    assert helpdesk.templates.render(number, "dates").text == (
        f"1. 12. 2026 úterý 1. prosince 2026 úterý 1. 12. ve 10:30 10:30 10:30:00 "
        f"20,0{NB}% 3{NB}HUF 2,50")


# -- properties -------------------------------------------------------------------------------

LOCALES = [*sorted(locale_identifiers()), "xx", "en-US", "pt-BR", "EN", "", "../../etc", "c"]
ZONES = ["UTC", "Europe/Prague", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu",
         "America/St_Johns", "Australia/Lord_Howe"]
STYLES = ["short", "medium", "long", "full", "dddd D. MMMM YYYY", "LLLL", "Do MMM YY hh:mm A"]
CURRENCIES = sorted(list_currencies())

locales = st.sampled_from(LOCALES)
zones = st.sampled_from(ZONES)
# Instants a ticket can carry, naive ones (taken as UTC) included.
instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31),
                        timezones=st.sampled_from([None, UTC, ZoneInfo("Asia/Tokyo")]))
amounts = st.decimals(min_value=-10**15, max_value=10**15, allow_nan=False,
                      allow_infinity=False)
decimals = st.none() | st.integers(min_value=0, max_value=10)
LOCALE_SETTINGS = settings(deadline=None, max_examples=300,
                           suppress_health_check=[HealthCheck.too_slow])


@LOCALE_SETTINGS
@given(locales, instants, zones, st.sampled_from(STYLES))
def test_dates_and_times_are_written_in_every_locale(language: str, instant: datetime,
                                                    zone: str, style: str) -> None:
    for write in (format_date, format_datetime, format_time):
        text = write(instant, language=language, timezone=zone, style=style)
        assert text.strip(), (write.__name__, language, style)
    day = format_date(instant.date(), language=language, timezone=zone, style=style)
    assert day.strip()


@LOCALE_SETTINGS
@given(locales, amounts | st.integers(-10**20, 10**20) | st.floats(-1e20, 1e20), decimals,
       st.sampled_from(CURRENCIES))
def test_numbers_and_amounts_are_written_in_every_locale(language: str, amount: Any,
                                                        places: int | None,
                                                        currency: str) -> None:
    number = format_number(amount, language=language, decimals=places)
    assert any(c.isdigit() for c in number)
    assert format_percent(amount, language=language, decimals=places).strip()
    money = format_money(amount, currency, language=language)
    assert any(c.isdigit() for c in money)


@settings(deadline=None, max_examples=200)
@given(st.sampled_from(["cs", "fr", "hu", "en", "xx"]),
       st.datetimes(timezones=st.sampled_from([None, UTC, ZoneInfo("Pacific/Kiritimati")]))
       | st.dates(),
       st.decimals(allow_nan=True, allow_infinity=True) | st.floats() | st.integers()
       | st.text(max_size=30), zones, st.sampled_from([*STYLES, "", "x", "[", "\\"]))
def test_out_of_range_values_fail_only_with_a_template_error(
        language: str, moment: datetime | date, amount: Any, zone: str, style: str) -> None:
    context = {"language": language, "timezone": zone, "moment": moment, "amount": amount,
               "style": style}
    for source in ("{{ moment|date(style) }}", "{{ moment|datetime(style) }}",
                   "{{ moment|time(style) }}", "{{ moment }}", "{{ amount|number }}",
                   "{{ amount|number(3) }}", "{{ amount|percent }}", "{{ amount|money }}",
                   "{{ amount|date }}"):
        problems = []
        try:
            render_source(source, context)
        except TemplateError as error:
            problems = error.problems
        if problems and source != "{{ moment }}":  # a filter says which one refused it
            assert problems[0].message.startswith("|"), problems


def test_the_fallback_and_the_british_default_are_the_same_as_before() -> None:
    moment = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    for language in ("en", "xx", "", "not a language"):
        assert format_datetime(moment, language=language, timezone="Europe/Prague") == (
            "7 December 2026, 17:00")
    assert format_datetime(moment, language="en-US", timezone="Europe/Prague") == (
        f"December 7, 2026, 5:00{NNB}PM")
    assert format_date(moment + timedelta(hours=8), language="cs",
                       timezone="Pacific/Kiritimati") == "8. prosince 2026"
    assert format_money(Decimal("2.345"), "EUR", language="de") == f"2,35{NB}€"
    assert format_number("0.000012345", language="cs") == "0,000012345"


def test_amounts_round_half_away_from_zero_and_never_show_minus_zero() -> None:
    assert format_number(2.345, language="en", decimals=2) == "2.35"
    assert format_number(-0.001, language="en", decimals=2) == "0.00"
    assert format_money(-0.001, "EUR", language="de") == f"0,00{NB}€"
    assert format_money(1234.5, "HUF", language="hu") == f"1{NB}235{NB}Ft"
    assert format_number("1234.50", language="cs") == f"1{NB}234,50"  # the places it has
