"""Ticket numbers: rendering, finding them again in mail subjects, configuration errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import TicketNumberFormat
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.testing.strategies import instants

FAST = settings(max_examples=80, deadline=None)
MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

separators = st.sampled_from(["", "-", "/", "#", ".", "_", "-T"])
seq_fields = st.sampled_from(["{seq}", "{seq:d}"]) | st.integers(1, 9).map(
    lambda n: f"{{seq:0{n}d}}"
)


@st.composite
def number_formats(draw: st.DrawFn) -> TicketNumberFormat:
    prefix = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,6}", fullmatch=True)) + draw(
        st.sampled_from(["", "-", "#", "/"])
    )
    parts = []
    if draw(st.booleans()):
        parts.append("{prefix}")
    if draw(st.booleans()):
        parts += [draw(st.sampled_from(["{year}", "{year:04d}"])), draw(separators)]
    parts += [draw(seq_fields), draw(st.sampled_from(["", "", "-", "/x"]))]
    if parts[0] != "{prefix}" and draw(st.booleans()):
        parts.insert(0, draw(st.sampled_from(["T", "#", "REQ-"])))
    return TicketNumberFormat(prefix=prefix, pattern="".join(parts))


@FAST
@given(fmt=number_formats(), seq=st.integers(1, 10**9), at=instants(4000))
def test_every_rendered_number_is_found_in_a_reply_subject(fmt, seq, at):
    number = fmt.render(seq=seq, created_at=at)
    pattern = fmt.regex()
    subject = f"Re: AW: [{number}] text"
    assert number in [m.group(0) for m in pattern.finditer(subject)]
    assert pattern.search(subject.upper()) is not None  # case does not matter
    # never inside a longer number, at either end
    assert number not in [m.group(0) for m in pattern.finditer(f"Re: [{number}7] text")]
    assert number not in [m.group(0) for m in pattern.finditer(f"Re: [7{number}] text")]
    assert number not in [m.group(0) for m in pattern.finditer(f"Re: [X{number}] text")]


@FAST
@given(fmt=number_formats(), a=st.integers(1, 10**6), b=st.integers(1, 10**6))
def test_different_sequence_values_render_different_numbers(fmt, a, b):
    if a != b:
        assert fmt.render(seq=a, created_at=MARCH) != fmt.render(seq=b, created_at=MARCH)


def test_default_format():
    fmt = TicketNumberFormat()
    assert fmt.render(seq=42, created_at=MARCH) == "HD-2026-000042"
    assert fmt.render(seq=1234567, created_at=MARCH) == "HD-2026-1234567"
    found = fmt.regex().findall("AW: Re: [hd-2026-000042] Reklamace, see also HD-2025-000007.")
    assert found == ["hd-2026-000042", "HD-2025-000007"]
    assert fmt.regex().findall("XHD-2026-000042 HD-2026-0000421 HD-2026-00004") == [
        "HD-2026-0000421", "HD-2026-00004"
    ]


def test_short_format():
    fmt = TicketNumberFormat(prefix="T-", pattern="{prefix}{seq}")
    assert fmt.render(seq=42, created_at=MARCH) == "T-42"
    assert fmt.regex().findall("[T-42] and T-420 but not AT-42 or B-T-42") == ["T-42", "T-420"]


def test_render_refuses_non_positive_sequence_values():
    with pytest.raises(ValueError, match="start at 1"):
        TicketNumberFormat().render(seq=0, created_at=MARCH)


def test_yearly_scope():
    yearly = TicketNumberFormat()
    assert yearly.yearly
    assert yearly.scope(MARCH) == "ticket:2026"
    assert yearly.scope(datetime(2027, 1, 1, tzinfo=UTC)) == "ticket:2027"
    assert TicketNumberFormat(pattern="{prefix}{year:04d}/{seq}").yearly
    flat = TicketNumberFormat(pattern="{prefix}{seq:05d}")
    assert not flat.yearly
    assert flat.scope(MARCH) == flat.scope(datetime(2030, 6, 1, tzinfo=UTC)) == "ticket"


def test_an_escaped_brace_is_not_the_year():
    # "{{year}}" is literal text: the number does not contain the year, so the sequence must
    # not restart every year (it would hand out the same number twice).
    fmt = TicketNumberFormat(prefix="HD-", pattern="{prefix}{{year}}{seq}")
    assert fmt.render(seq=3, created_at=MARCH) == "HD-{year}3"
    assert not fmt.yearly
    assert fmt.scope(MARCH) == "ticket"


@pytest.mark.parametrize(
    "pattern",
    [
        "{prefix}{year}",  # no sequence
        "HD-42",
        "{prefix}{customer}{seq}",
        "{0}{seq}",
        "{}{seq}",
        "{seq!r}",
        "{seq.real}",
        "{seq[0]}",
        "{seq",
        "seq}",
        "{seq:s}",
        "{seq:x}",  # hex: the regex looks for digits
        "{seq:>6}",  # space padding
        "{seq:6}",
        "{seq:,}",  # 1,234,567
        "{seq:+d}",
        "{seq:.2f}",
        "{prefix:>9}{seq}",
        "{year:x}-{seq}",
        "{year:06d}-{seq}",
        "{seq:{year}}",
    ],
)
def test_invalid_patterns_are_configuration_errors(pattern):
    with pytest.raises(ConfigurationError):
        TicketNumberFormat(prefix="HD-", pattern=pattern)


@pytest.mark.parametrize(
    "prefix", ["1HD", "H D", "HD_", "-", "#", "ABCDEFGHIJKLMNOPQ", "HD\n", "HD-\n", "ŘD-"]
)
def test_invalid_prefixes_are_configuration_errors(prefix):
    with pytest.raises(ConfigurationError, match="prefix"):
        TicketNumberFormat(prefix=prefix)


@pytest.mark.parametrize("prefix", ["", "HD-", "T#", "REQ/", "A1-B2"])
def test_valid_prefixes(prefix):
    fmt = TicketNumberFormat(prefix=prefix, pattern="{prefix}{seq}")
    number = fmt.render(seq=9, created_at=MARCH)
    assert number == f"{prefix}9"
    assert fmt.regex().search(f"Re: {number}").group(0) == number
