"""Caller numbers: provider formats to E.164, withheld and garbage to None, never an error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.contacts import normalize_phone
from helpdesk_core.telephony import caller_number


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("+4930123456", None, "+4930123456"),
    ("4930123456", None, "+4930123456"),  # sipgate: international without "+"
    ("004930123456", None, "+4930123456"),
    ("0049 30 123456", "CZ", "+4930123456"),
    ("030 123456", "DE", "+4930123456"),  # national, the line's region
    ("030/123456", "DE", "+4930123456"),
    ("+420 601 234 567", None, "+420601234567"),
    ("420601234567", "DE", "+420601234567"),
    ("601 234 567", "CZ", "+420601234567"),
    ("2025550123", "US", "+12025550123"),
    ("sip:+4930123456@sipconnect.sipgate.de", None, "+4930123456"),
    ("tel:+420601234567", None, "+420601234567"),
])
def test_provider_formats_become_e164(raw: str, region: str | None, expected: str) -> None:
    assert caller_number(raw, default_region=region) == expected


@pytest.mark.parametrize("raw", [
    "anonymous", "Anonymous", "ANONYMOUS", "restricted", "unknown", "unavailable", "private",
    "withheld", "+", "", "   ", "+266696687", "+7378742833", "client:petra",
    "0", "00", "+0", "++4930123456", "49 30 abc", "4930123456" * 10, "+٤٩٣٠١٢٣٤٥٦",
    "sip:anonymous@anonymous.invalid", "+49\x0030123456", "+12",
])
def test_withheld_and_garbage_are_unknown(raw: str) -> None:
    assert caller_number(raw, default_region="DE") is None


def test_a_national_number_needs_the_line_region() -> None:
    assert caller_number("030123456", default_region=None) is None
    assert caller_number("030123456", default_region="DE") == "+4930123456"


@pytest.mark.parametrize("raw", [None, 4930123456, b"+4930123456", ["+4930123456"]])
def test_non_text_is_unknown(raw: object) -> None:
    assert caller_number(raw, default_region="DE") is None


@settings(max_examples=400, deadline=None)
@given(raw=st.text(max_size=80), region=st.sampled_from([None, "DE", "CZ", "US", "XX", ""]))
def test_never_raises_and_answers_in_e164(raw: str, region: str | None) -> None:
    number = caller_number(raw, default_region=region)
    if number is not None:
        assert number.startswith("+")
        assert normalize_phone(number, region=None) == number  # stable: a lookup key


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\+?(00)?[1-9][0-9]{6,14}", fullmatch=True))
def test_digit_runs_are_stable(raw: str) -> None:
    number = caller_number(raw, default_region="DE")
    if number is not None:
        assert caller_number(number) == number
        assert caller_number(number[1:]) == number  # the same number in sipgate's format
