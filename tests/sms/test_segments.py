"""Segment counts against an independent encoder, encodings, transliteration, the policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.errors import SmsTooLong, ValidationError
from helpdesk_core.sms import (
    GSM_BASIC,
    GSM_EXTENSION,
    Encoding,
    SmsPolicy,
    encoding_for,
    is_gsm7,
    segment_count,
    split_segments,
    transliterate,
    utf16_units,
)

# The GSM 03.38 default alphabet in code order, written out independently of the module.
GSM_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION_CODES = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                   "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}


def encode(text: str) -> tuple[str, list[list[int]]]:
    """Brute force: every character to its code units (septets with escapes, or UTF-16)."""
    try:
        units = [[0x1B, EXTENSION_CODES[c]] if c in EXTENSION_CODES else [GSM_TABLE.index(c)]
                 for c in text if c != "\x1b"]
        if len(units) == len(text):
            return "gsm7", units
    except ValueError:
        pass
    return "ucs2", [list(c.encode("utf-16-be")[i:i + 2] for i in range(0, len(c.encode(
        "utf-16-be")), 2)) for c in text]  # type: ignore[misc]


def brute_force_segments(text: str) -> int:
    kind, units = encode(text)
    single, part = (160, 153) if kind == "gsm7" else (70, 67)
    if sum(len(u) for u in units) <= single:
        return 1
    parts, used = 1, 0
    for unit in units:  # an escape pair and a surrogate pair never straddle two parts
        if used + len(unit) > part:
            parts, used = parts + 1, 0
        used += len(unit)
    return parts


def test_the_alphabet_tables():
    assert len(GSM_TABLE) == 128
    assert set(GSM_TABLE) - {"\x1b"} == GSM_BASIC
    assert set(EXTENSION_CODES) == GSM_EXTENSION


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("", Encoding.GSM7, 1),
    ("a" * 160, Encoding.GSM7, 1),
    ("a" * 161, Encoding.GSM7, 2),
    ("a" * 306, Encoding.GSM7, 2),
    ("a" * 307, Encoding.GSM7, 3),
    ("€" * 80, Encoding.GSM7, 1),  # 160 septets
    ("€" * 81, Encoding.GSM7, 2),
    ("a" + "€" * 76 + "b" * 2, Encoding.GSM7, 1),
    ("Dobrý den", Encoding.UCS2, 1),  # ý is not in the GSM alphabet (é is)
    ("Grüße aus München, éàè", Encoding.GSM7, 1),
    ("č" * 70, Encoding.UCS2, 1),
    ("č" * 71, Encoding.UCS2, 2),
    ("č" * 134, Encoding.UCS2, 2),
    ("č" * 135, Encoding.UCS2, 3),
    ("😀" * 35, Encoding.UCS2, 1),  # 70 code units
    ("😀" * 36, Encoding.UCS2, 2),
    ("😀" * 34 + "a", Encoding.UCS2, 1),
    ("a" * 66 + "😀" * 2, Encoding.UCS2, 1),
])
def test_known_counts(text, encoding, segments):
    assert encoding_for(text) is encoding
    assert segment_count(text) == segments == brute_force_segments(text)
    assert "".join(split_segments(text)) == text


def test_an_escape_pair_is_never_split():
    text = "a" * 152 + "€" + "b" * 10  # the euro sign would straddle parts 1 and 2
    parts = split_segments(text)
    assert parts[0] == "a" * 152
    assert parts[1].startswith("€")


def test_a_surrogate_pair_is_never_split():
    text = "č" * 66 + "😀" + "x"
    assert utf16_units(text) == 69
    assert segment_count(text + "č" * 2) == 2
    assert split_segments(text + "č" * 2)[1].startswith("😀")


gsm_text = st.text(alphabet=sorted(GSM_BASIC | GSM_EXTENSION), max_size=800)
any_text = st.text(alphabet=st.one_of(
    st.sampled_from(sorted(GSM_BASIC | GSM_EXTENSION)),
    st.sampled_from("áčďěíňóřšťúůýžĺľôŕÁČĎĚÍŇÓŘŠŤÚŮÝŽ„“–…"),  # noqa: RUF001
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
), max_size=600)


@settings(max_examples=300, deadline=None)
@given(gsm_text)
def test_gsm_counts_match_the_brute_force_encoder(text):
    assert encoding_for(text) is Encoding.GSM7
    assert segment_count(text) == brute_force_segments(text)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_any_counts_match_the_brute_force_encoder(text):
    kind, _ = encode(text)
    assert encoding_for(text).value == kind
    assert segment_count(text) == brute_force_segments(text) == len(split_segments(text))
    assert "".join(split_segments(text)) == text


czech_slovak_german = st.text(
    alphabet=st.one_of(
        st.sampled_from("aábcčdďeéěfghiíjklĺľmnňoóôpqrŕřsštťuúůvwxyýzž"
                        "AÁBCČDĎEÉĚFGHIÍJKLĹĽMNŇOÓÔPQRŔŘSŠTŤUÚŮVWXYÝZŽ"
                        "äöüÄÖÜßẞ .,!?-:;()0123456789\n"),
        st.sampled_from("„“”‚‘’–—…\u00a0«»"),  # noqa: RUF001
    ),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(czech_slovak_german, st.sampled_from(["cs", "sk", "de", None]))
def test_transliteration_of_czech_slovak_german_is_gsm7(text, language):
    result = transliterate(text, language)
    assert is_gsm7(result)
    assert result.count("?") == text.count("?")  # every letter had a GSM-7 replacement
    assert transliterate(result, language) == result  # GSM-7 text is left alone


@pytest.mark.parametrize(("text", "expected"), [
    ("Příliš žluťoučký kůň úpěl ďábelské ódy", "Prilis zlutoucky kun upel dabelské ody"),
    ("Ľúbostný list, kôň, vŕba, Ĺ", "Lubostny list, kon, vrba, L"),
    ("Grüße, Straße, GROẞ", "Grüße, Straße, GROSS"),
    ("„Dobrý“ – ‚den‘ … 10\u00a0Kč", "\"Dobry\" - 'den' ... 10 Kc"),  # noqa: RUF001
    ("Łódź, đ, œuvre", "Lodz, d, oeuvre"),
    ("日本 😀", "?? ?"),
])
def test_transliteration_examples(text, expected):
    assert transliterate(text, "cs") == expected


def test_the_policy_transliterates_and_caps():
    text = "Dobrý den, Vaše zásilka čeká na výdejním místě. " * 3
    assert segment_count(text) == 3  # UCS-2: 153 characters need three parts
    plain = SmsPolicy(max_segments=3).prepare(text)
    assert (plain.encoding, plain.segments, plain.transliterated) == (Encoding.UCS2, 3, False)
    short = SmsPolicy(transliterate=True, max_segments=1).prepare(text)
    assert short.encoding is Encoding.GSM7
    assert short.segments == 1
    assert short.text.startswith("Dobry den, Vase zasilka ceka")
    with pytest.raises(SmsTooLong) as caught:
        SmsPolicy(max_segments=2).prepare(text)
    assert (caught.value.segments, caught.value.limit, caught.value.encoding) == (3, 2, "ucs2")
    assert isinstance(caught.value, ValidationError)


@pytest.mark.parametrize("cap", [0, 256])
def test_the_cap_must_be_possible(cap):
    with pytest.raises(ValidationError):
        SmsPolicy(max_segments=cap)


@pytest.mark.parametrize("language", ["xx", "czech", 42])
def test_a_policy_language_nobody_speaks_is_refused_when_configured(language):
    from helpdesk_core.errors import ConfigurationError
    from helpdesk_core.sms.policy import SmsPolicy

    with pytest.raises(ConfigurationError, match="language"):
        SmsPolicy(transliterate=True, language=language)


def test_a_policy_language_is_kept_in_one_form():
    from helpdesk_core.sms.policy import SmsPolicy

    assert SmsPolicy(language="SK").language == "sk"
    assert SmsPolicy().language is None
