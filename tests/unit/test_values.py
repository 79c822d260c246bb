"""Value types: host links (EntityRef), safe attachment names, actors, attachments."""

from __future__ import annotations

import re
import unicodedata

import pytest
from babel import Locale
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import Actor, ActorKind, AttachmentMeta, EntityKind, EntityRef
from helpdesk_core.domain.article import safe_filename
from helpdesk_core.domain.staff import Agent, skill_match
from helpdesk_core.domain.templates import language_chain
from helpdesk_core.domain.values import (
    MAX_TAG,
    base_language,
    language_tag,
    optional_language,
    validate_tag,
)
from helpdesk_core.errors import ValidationError
from helpdesk_core.testing.strategies import entity_refs

FAST = settings(max_examples=100, deadline=None)

# -- EntityRef ---------------------------------------------------------------------------------

ref_systems = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/@#-]{0,30}", fullmatch=True)
ref_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@#-]{0,30}", fullmatch=True)
any_refs = st.builds(EntityRef, st.sampled_from(list(EntityKind)), ref_systems, ref_ids)


def test_entity_ref_text_form():
    ref = EntityRef(EntityKind.ORDER, "eshop", "2026-00042")
    assert str(ref) == "order@eshop:2026-00042"
    assert EntityRef.parse("order@eshop:2026-00042") == ref
    assert EntityRef.parse("rma@erp:RMA:7/1") == EntityRef(EntityKind.RMA, "erp", "RMA:7/1")


@FAST
@given(ref=any_refs | entity_refs())
def test_entity_ref_str_parse_round_trip(ref):
    assert EntityRef.parse(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    ["", "order", "order@eshop", "eshop:1", "@eshop:1", "issue@eshop:1", "ORDER@eshop:1",
     "order@:1", "order@eshop:", "order@eshop:-1", "order@eshop:a b", "order@eshop:1\n",
     "order@eshop:" + "x" * 129, "order@ops:eu:1" + "\u202e", None, 42, b"order@eshop:1"],
)
def test_invalid_entity_refs_are_refused(text):
    with pytest.raises(ValidationError) as info:
        EntityRef.parse(text)
    assert info.value.field is not None
    assert info.value.field.startswith("link")


@pytest.mark.parametrize(
    ("system", "ident"),
    [("shop:eu", "1"), ("", "1"), ("eshop", ""), ("e shop", "1"), ("eshop", "1\n"),
     ("eshop\n", "1"), ("-shop", "1"), ("eshop", "<script>"), (None, "1"), ("eshop", 7)],
)
def test_entity_ref_parts_are_validated(system, ident):
    with pytest.raises(ValidationError):
        EntityRef(EntityKind.ORDER, system, ident)


def test_entity_ref_kind_must_be_an_entity_kind():
    with pytest.raises(ValidationError) as info:
        EntityRef("order", "eshop", "1")  # type: ignore[arg-type]
    assert info.value.field == "link.kind"


def test_entity_refs_are_ordered_and_hashable():
    a = EntityRef(EntityKind.ORDER, "eshop", "1")
    b = EntityRef(EntityKind.ORDER, "eshop", "2")
    assert sorted([b, a]) == [a, b]
    assert len({a, b, EntityRef.parse(str(a))}) == 2


# -- safe_filename -----------------------------------------------------------------------------

RISKY = (".html", ".htm", ".xhtml", ".svg", ".js", ".hta", ".exe", ".bat", ".cmd", ".scr")
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _assert_safe(result: str) -> None:
    assert result
    assert len(result) <= 150
    assert "/" not in result
    assert "\\" not in result
    assert not any(unicodedata.category(ch) == "Cc" for ch in result)
    assert not BIDI & set(result)
    assert "\u2028" not in result
    assert "\u2029" not in result
    assert not any(ch in result for ch in '<>:"|?*')
    assert not result.casefold().endswith(RISKY)
    assert result == result.strip(" .")


hostile_names = st.text(max_size=300) | st.lists(
    st.sampled_from(["..", "/", "\\", ".", " ", "html", "HTML", "svg", "js", "con", "CON", "a",
                     "\x00", "\x85", "\u202e", "\u2028", ":", "é", "e\u0301", "\ufeff", "lpt1",
                     "x" * 40]),
    max_size=20,
).map("".join)


@FAST
@given(name=hostile_names)
def test_any_name_becomes_a_safe_name(name):
    result = safe_filename(name)
    _assert_safe(result)
    assert safe_filename(result) == result  # idempotent


@FAST
@given(stem=st.text(max_size=200), ext=st.sampled_from([e.lstrip(".") for e in RISKY]),
       case=st.sampled_from([str.lower, str.upper, str.title]))
def test_risky_extensions_are_always_neutralised(stem, ext, case):
    _assert_safe(safe_filename(f"{stem}.{case(ext)}"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system.ini"),
        ("C:\\Users\\jana\\photo.jpg", "photo.jpg"),
        ("CON.txt", "_CON.txt"),
        ("con", "_con"),
        ("lpt1.tar.gz", "_lpt1.tar.gz"),
        ("invoice.html", "invoice.html.txt"),
        ("INVOICE.HTM", "INVOICE.HTM.txt"),
        ("logo.svg", "logo.svg.txt"),
        ("setup.exe", "setup.exe.txt"),
        ("invoice.html.", "invoice.html.txt"),
        ("faktura\u202efdp.exe", "faktura_fdp.exe.txt"),
        ("a\x00b\x85c.txt", "a_b_c.txt"),
        ("...", "attachment"),
        ("", "attachment"),
        ("/", "attachment"),
        ("dir/", "attachment"),
        ("Re\u0301sume\u0301.pdf", "Résumé.pdf"),
    ],
)
def test_safe_filename_examples(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", [None, 42, b"bytes.html", ["x"]])
def test_non_text_names_fall_back(name):
    assert safe_filename(name) == "attachment"
    assert safe_filename(name, fallback="scan") == "scan"


def test_a_cut_does_not_leave_a_trailing_space_or_dot():
    assert safe_filename("a" * 149 + " bcd") == "a" * 149
    cut = safe_filename("x" * 140 + " " * 20 + ".pdf")
    assert cut == "x" * 140 + ".pdf"


def test_long_names_keep_their_extension():
    result = safe_filename("a" * 400 + ".pdf")
    assert len(result) == 150
    assert result.endswith(".pdf")
    odd = safe_filename("a." + "b" * 400)
    assert len(odd) <= 150


# -- attachments and actors --------------------------------------------------------------------


def test_attachment_meta_cleans_the_name_and_checks_the_rest():
    meta = AttachmentMeta(blob_key="k", filename="../x.html", content_type="text/html", size=3)
    assert meta.filename == "x.html.txt"
    assert AttachmentMeta.from_dict(meta.to_dict()) == meta
    with pytest.raises(ValidationError):
        AttachmentMeta(blob_key="k", filename="x", size=-1)


@pytest.mark.parametrize(
    "content_type", ["", "text", "text/", "text/html; charset=utf-8", "text/plain\n",
                     "text/plain\r\nX-Injected: 1", "te xt/plain"],
)
def test_attachment_content_type_is_a_bare_media_type(content_type):
    with pytest.raises(ValidationError) as info:
        AttachmentMeta(blob_key="k", filename="x.txt", content_type=content_type)
    assert info.value.field == "attachment.content_type"


def test_actor_factories_and_round_trip():
    agent = Actor.agent("  agent-7 ", "Eva")
    assert (agent.kind, agent.id, agent.name) == (ActorKind.AGENT, "agent-7", "Eva")
    system = Actor.system("classifier")
    assert (system.kind, system.id, system.name) == (ActorKind.SYSTEM, None, "classifier")
    for actor in (agent, system, Actor.customer("c1", "Jana")):
        assert Actor.from_dict(actor.to_dict()) == actor
    with pytest.raises(ValidationError):
        Actor.agent("")


# -- tags --------------------------------------------------------------------------------------

_TAG_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))


def _tag_or_none(text: str) -> str | None:
    try:
        return validate_tag(text)
    except ValidationError as refused:
        if refused.field != "tag":
            raise
        return None


@FAST
@given(text=st.text(_TAG_CHARS, max_size=80))
def test_a_normalised_tag_is_valid_and_normalising_it_again_changes_nothing(text):
    tag = _tag_or_none(text)
    if tag is None:
        return
    assert validate_tag(tag) == tag
    assert 1 <= len(tag) <= MAX_TAG
    assert re.fullmatch(r"\w[\w.:/+-]*", tag)
    assert not any(c.isspace() or unicodedata.category(c).startswith("C") for c in tag)


@FAST
@given(words=st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.]{0,8}", fullmatch=True),
                      min_size=1, max_size=5),
       gaps=st.lists(st.sampled_from([" ", "  ", "\t", " - ", "\u00a0", "\n "]),
                     min_size=4, max_size=4))
def test_whitespace_between_words_becomes_one_hyphen_and_case_does_not_matter(words, gaps):
    spaced = words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=False))
    expected = "-".join(w.lower() for w in words)
    assert validate_tag(f"  {spaced} ") == expected
    assert validate_tag(spaced.upper()) == validate_tag(spaced.lower()) == expected


@pytest.mark.parametrize(("given_", "stored"), [
    ("  VIP   Customer ", "vip-customer"), ("vip - customer", "vip-customer"),
    ("Rückgabe", "rückgabe"), ("\uff36\uff29\uff30", "vip"), ("a--b", "a--b"), ("x" * 64, "x" * 64),
    ("b2b:eu/cz", "b2b:eu/cz"),
])
def test_tags_are_normalised(given_, stored):
    assert validate_tag(given_) == stored


@pytest.mark.parametrize("tag", ["", " \t ", "x" * 65, "nul\x00", "bell\x07", "zero\u200bwidth",
                                 "rtl\u202eoverride", "-dash", ".dot", "semi;colon", None, 7])
def test_odd_tags_are_refused(tag):
    with pytest.raises(ValidationError) as refused:
        validate_tag(tag)
    assert refused.value.field == "tag"


# -- languages ---------------------------------------------------------------------------------

_CANONICAL = re.compile(r"[a-z]{2}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?")
_ENGLISH = Locale("en")
_LANGUAGES = sorted(c for c in _ENGLISH.languages if len(c) == 2)
_SCRIPTS = sorted(set(_ENGLISH.scripts) - {"Zzzz"})
_REGIONS = sorted(set(_ENGLISH.territories) - {"ZZ"})


def _language_or_none(text: object) -> str | None:
    try:
        return language_tag(text)
    except ValidationError as refused:
        if refused.field != "language":
            raise
        return None


@FAST
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
       | st.from_regex(r"[A-Za-z]{2}([-_][A-Za-z]{4})?([-_]([A-Za-z]{2}|[0-9]{3}))?",
                       fullmatch=True))
def test_a_language_is_refused_or_canonical_and_normalising_it_again_changes_nothing(text):
    tag = _language_or_none(text)
    if tag is None:
        return
    assert _CANONICAL.fullmatch(tag)
    assert language_tag(tag) == tag
    assert base_language(tag) in _LANGUAGES


@FAST
@given(language=st.sampled_from(_LANGUAGES), script=st.none() | st.sampled_from(_SCRIPTS),
       region=st.none() | st.sampled_from(_REGIONS), data=st.data())
def test_every_spelling_of_a_known_language_is_the_same_tag(language, script, region, data):
    parts = [p for p in (language, script, region) if p]
    expected = language_tag("-".join(parts))
    spelt = [data.draw(st.sampled_from([p.lower(), p.upper(), p.title()])) for p in parts]
    separator = data.draw(st.sampled_from(["-", "_"]))
    assert language_tag(f" {separator.join(spelt)} ") == expected
    assert _CANONICAL.fullmatch(expected)


@pytest.mark.parametrize("text", ["xx", "qq", "cs-XX", "cs-ZZ", "sr-Qaaa", "fil", "x-klingon",
                                  "en-US-posix", "de-CH-1996", "c1", "", " ", None, 7,
                                  "\uff43\uff53"])
def test_unknown_or_malformed_languages_are_refused(text):
    with pytest.raises(ValidationError) as refused:
        language_tag(text)
    assert refused.value.field == "language"
    assert _language_or_none(text) is None
    assert optional_language(None) is None
    assert optional_language("") is None


def test_a_regional_language_falls_back_to_its_language():
    assert language_chain("pt-BR", "cs-CZ", None, "cs", "en") == ("pt-BR", "pt", "cs-CZ",
                                                                   "cs", "en")
    speaks_pt = Agent("joao", languages=("pt",))
    assert skill_match(speaks_pt, language="pt-BR", tags=(), incident_type=None) == [
        "language:pt-BR"]
    speaks_br = Agent("ana", languages=("pt_BR",))
    assert skill_match(speaks_br, language="pt", tags=(), incident_type=None) == []
