"""excerpt(): a customer's text fitted to a limit the library sets, never refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.article import Cut, excerpt
from helpdesk_core.domain.values import clean_line, clean_text

LIMITS = st.integers(min_value=1, max_value=400)
ANY_TEXT = st.text(max_size=1200)
# blanks, line breaks, combining marks, bidi controls, BOM, lone surrogates, wide characters
AWKWARD = st.lists(st.sampled_from(
    ["a", "é", "e\u0301", " ", "\n", "\r\n", "\t", "\u202e", "\ufeff", "\x00", "\ud800",
     "\udfff", "😀", "\u2028", "字", ".", "-", "word "]), max_size=600).map("".join)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(ANY_TEXT, AWKWARD), limit=LIMITS, line=st.booleans())
def test_an_excerpt_always_fits_and_is_clean(value: str, limit: int, line: bool) -> None:
    text, cut = excerpt(value, limit=limit, what="body", line=line)
    assert len(text) <= limit
    clean = clean_line if line else clean_text
    assert clean(text, field="body", max_length=limit, required=False) == text
    text.encode("utf-8")  # nothing a database or encoder refuses
    whole, _ = excerpt(value, limit=10**9, what="body", line=line)
    if cut is None:
        assert text == whole
    else:
        assert cut.what == "body"
        assert cut.length == len(whole) > limit
        assert 0 <= cut.kept <= limit
        assert whole.startswith(text[:cut.kept])


@settings(max_examples=100, deadline=None)
@given(value=st.text(min_size=1, max_size=300), limit=st.integers(min_value=300))
def test_what_fits_is_only_cleaned(value: str, limit: int) -> None:
    text, cut = excerpt(value, limit=limit, what="body")
    assert cut is None
    if not any("\ud800" <= c <= "\udfff" for c in value):  # exactly what clean_text gives
        assert text == clean_text(value, field="body", max_length=limit, required=False)


@pytest.mark.parametrize(("value", "limit", "line", "expected", "kept"), [
    ("short", 10, False, "short", None),
    ("word " * 30, 60, False, "word " * 6 + "word\n\n[… 115 more characters]", 34),
    ("x" * 100, 60, False, "x" * 35 + "\n\n[… 65 more characters]", 35),
    ("x" * 100, 40, False, "x" * 40, 40),  # no room for the note
    ("Re: " + "reklamace " * 60, 30, True, "Re: reklamace reklamace…", 23),
    ("a" * 50, 10, True, "a" * 9 + "…", 9),
    ("  padded  \n", 5, False, "padde", 5),
    ("\ud800 lone", 20, False, "\ufffd lone", None),
    ("", 5, False, "", None),
])
def test_excerpt_examples(value: str, limit: int, line: bool, expected: str,
                          kept: int | None) -> None:
    text, cut = excerpt(value, limit=limit, what="x", line=line)
    assert text == expected
    assert (cut.kept if cut else None) == kept


def test_a_cut_says_what_was_kept() -> None:
    assert str(Cut("subject", 812, 500)) == "subject: 500 of 812 characters kept"
    assert str(Cut("attachments", 612, 500, "files")) == "attachments: 500 of 612 files kept"
