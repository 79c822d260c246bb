"""Charset and header decoding: aliases, fallbacks, RFC 2047 and RFC 2231 edge cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.mail.decode import (
    decode_bytes,
    decode_header_value,
    decode_param,
    normalise_charset,
)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("ISO-8859-1", "cp1252"),
        ("latin-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("ks_c_5601-1987", "cp949"),
        ("iso-2022-jp", "iso2022_jp_2"),
        ("UTF-7", "utf-7"),
        ("windows-1250", "cp1250"),
        ("Windows-1252", "cp1252"),
        ("cp-1250", "cp1250"),
        ('"utf-8"', "utf-8"),
        ("iso-8859-2", "iso8859-2"),
    ],
)
def test_charset_aliases(label: str, codec: str) -> None:
    assert normalise_charset(label) == codec


@pytest.mark.parametrize("label", ["unknown-8bit", "x-unknown", "", "base64", "rot13",
                                   "no-such-charset", "utf-8\x00", None, 42, "a" * 100])
def test_unusable_charset_labels(label: object) -> None:
    assert normalise_charset(label) is None


def test_decode_bytes_order_declared_then_guesses_then_replacement() -> None:
    text = "Příliš žluťoučký kůň"
    assert decode_bytes(text.encode("iso-8859-2"), "iso-8859-2") == text
    assert decode_bytes(text.encode("windows-1250"), None) == text  # utf-8 fails, cp1250 fits
    assert decode_bytes(text.encode(), "us-ascii") == text  # wrong label, utf-8 guess fits
    assert decode_bytes(b"\x81\x83", None, guesses=("utf-8",)) == "\ufffd\ufffd"
    assert decode_bytes(b"", "bogus") == ""


def test_custom_guess_list() -> None:
    data = "Привет".encode("koi8-r")
    assert decode_bytes(data, None, guesses=("utf-8", "koi8-r")) == "Привет"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?UTF-8?Q?a_b?=", "a b"),
        ("=?utf-8?b?w6k=?=", "é"),
        ("=?utf-8?b?w6k?=", "é"),  # missing padding
        ("=?utf-8*cs?q?=C5=A1?=", "š"),  # RFC 2231 language tag in an encoded word
        ("x =?utf-8?q?a?= =?utf-8?q?b?= y", "x ab y"),
        ("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
        ("=?iso-8859-2?q?=E8?= =?utf-8?q?=C4=8D?=", "čč"),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("plain =? text ?=", "plain =? text ?="),
        ("=?bogus?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
    ],
)
def test_encoded_words(raw: str, expected: str) -> None:
    assert decode_header_value(raw) == expected


def test_raw_8bit_header_from_the_stdlib_parser() -> None:
    raw = "Žádost".encode("windows-1250").decode("ascii", "surrogateescape")
    assert decode_header_value(raw) == "Žádost"
    # iso-8859-2 and windows-1250 overlap; the guess list decides which wins
    raw = "Žádost".encode("iso-8859-2").decode("ascii", "surrogateescape")
    assert decode_header_value(raw, guesses=("utf-8", "iso-8859-2")) == "Žádost"


def test_rfc2231_params() -> None:
    assert decode_param(("utf-8", "", "p\xc5\x99\xc3\xadloha.pdf")) == "příloha.pdf"
    assert decode_param(("", "", "plain.txt")) == "plain.txt"
    assert decode_param('"=?utf-8?q?fa=C4=8Dtura?=.pdf"') == "fačtura.pdf"
    assert decode_param(None) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["", "=?utf-8?q?", "=?x?b?", "?=", "\udcc5"]))
def test_decode_header_value_never_raises_and_returns_clean_text(text: str, extra: str) -> None:
    value = decode_header_value(extra + text + extra)
    value.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.one_of(st.none(), st.text(max_size=20)))
def test_decode_bytes_never_raises(data: bytes, charset: str | None) -> None:
    decode_bytes(data, charset).encode("utf-8")


def test_lone_surrogates_from_utf7_are_replaced() -> None:
    assert decode_bytes(b"+2AA-", "utf-7") == "\ufffd"
    assert decode_header_value("=?utf-7?q?+2AA-?=") == "\ufffd"


@pytest.mark.parametrize(("text", "label", "written_as"), [
    # Short Czech or Slovak capitals whose iso-8859-2 bytes happen to be valid UTF-8 stay as
    # they were labelled (C9 A9 would otherwise read as the IPA letter U+0269).
    ("ÉŠ", "iso-8859-2", "iso-8859-2"),
    ("ÚŽASNÉ ŘŠ", "iso-8859-2", "iso-8859-2"),
    ("Éš", "iso-8859-2", "iso-8859-2"),
    # UTF-8 labelled as a Latin charset is still recognised.
    ("Grüße aus Köln", "iso-8859-1", "utf-8"),
    ("žluťoučký kůň", "iso-8859-2", "utf-8"),
    ("Danke 😊", "iso-8859-1", "utf-8"),
    ("Здравствуйте, как дела", "iso-8859-1", "utf-8"),
    ("Preis: 20 €", "windows-1252", "utf-8"),
])
def test_utf8_mislabelled_as_latin_is_told_from_latin_that_looks_like_utf8(
        text: str, label: str, written_as: str) -> None:
    assert decode_bytes(text.encode(written_as), label) == text
