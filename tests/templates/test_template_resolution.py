"""The resolution rule: language first, then the most specific incident type."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.domain.templates import (
    MessageTemplate,
    TemplateKind,
    incident_type_chain,
    language_chain,
    resolve_template,
)

LANGUAGES = ["cs", "de", "sk", "en"]
TYPES = [None, "complaint", "complaint/damaged", "complaint/damaged/glass", "billing"]


def reply(key: str, language: str, incident_type: str | None) -> MessageTemplate:
    return MessageTemplate(key=key, kind=TemplateKind.REPLY, language=language,
                           incident_type=incident_type, name=f"{key}-{language}",
                           subject="s", body_text=f"{language} {incident_type}")


templates_st = st.lists(
    st.builds(reply, st.sampled_from(["thanks", "delay"]), st.sampled_from(LANGUAGES),
              st.sampled_from(TYPES)),
    max_size=20,
)
languages_st = st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=4, unique=True)


def test_chains() -> None:
    assert incident_type_chain("complaint/damaged") == ("complaint/damaged", "complaint", None)
    assert incident_type_chain(None) == (None,)
    assert language_chain("sk", None, "cs", "sk", "de") == ("sk", "cs", "de", "en")
    assert language_chain() == ("en",)
    assert language_chain("en", "cs") == ("en", "cs")


def test_most_specific_type_wins_within_a_language() -> None:
    found = [reply("thanks", "cs", t) for t in (None, "complaint", "complaint/damaged")]
    pick = resolve_template(found, key="thanks", incident_type="complaint/damaged/glass",
                            languages=["cs"])
    assert pick is not None
    assert pick.incident_type == "complaint/damaged"
    pick = resolve_template(found, key="thanks", incident_type="billing", languages=["cs"])
    assert pick is not None
    assert pick.incident_type is None


def test_the_language_outranks_the_incident_type() -> None:
    found = [reply("thanks", "en", "complaint/damaged"), reply("thanks", "cs", None)]
    pick = resolve_template(found, key="thanks", incident_type="complaint/damaged",
                            languages=language_chain("cs"))
    assert pick is not None
    assert (pick.language, pick.incident_type) == ("cs", None)


def test_no_candidate_no_template() -> None:
    assert resolve_template([reply("thanks", "cs", "billing")], key="thanks",
                            incident_type="complaint", languages=["cs", "en"]) is None


@given(templates_st, st.sampled_from(TYPES), languages_st, st.sampled_from(["thanks", "delay"]))
def test_resolution_is_the_first_applicable_in_chain_order(
        templates: list[MessageTemplate], incident_type: str | None, languages: list[str],
        key: str) -> None:
    pick = resolve_template(templates, key=key, incident_type=incident_type,
                            languages=languages)
    chain = incident_type_chain(incident_type)
    ranked = sorted(
        (languages.index(t.language), chain.index(t.incident_type), t.identity)
        for t in templates
        if t.key == key and t.language in languages and t.incident_type in chain
    )
    if not ranked:
        assert pick is None
        return
    assert pick is not None
    assert pick.key == key
    assert pick.identity == ranked[0][2]


@given(templates_st, st.sampled_from(TYPES), languages_st)
def test_a_template_never_applies_to_a_sibling_type(
        templates: list[MessageTemplate], incident_type: str | None,
        languages: list[str]) -> None:
    pick = resolve_template(templates, key="thanks", incident_type=incident_type,
                            languages=languages)
    if pick is not None and pick.incident_type is not None:
        assert incident_type is not None
        assert (incident_type == pick.incident_type
                or incident_type.startswith(pick.incident_type + "/"))


@given(templates_st, st.sampled_from(TYPES), languages_st)
def test_adding_a_global_english_template_always_gives_an_answer(
        templates: list[MessageTemplate], incident_type: str | None,
        languages: list[str]) -> None:
    fallback = reply("thanks", "en", None)
    pick = resolve_template([*templates, fallback], key="thanks",
                            incident_type=incident_type, languages=language_chain(*languages))
    assert pick is not None
    assert pick.language in language_chain(*languages)


@given(templates_st, st.sampled_from(TYPES[1:]), languages_st)
def test_a_more_specific_template_in_the_chosen_language_takes_over(
        templates: list[MessageTemplate], incident_type: str, languages: list[str]) -> None:
    pick = resolve_template(templates, key="thanks", incident_type=incident_type,
                            languages=languages)
    exact = reply("thanks", languages[0], incident_type)
    assert resolve_template([*templates, exact], key="thanks", incident_type=incident_type,
                            languages=languages) == exact
    if pick is not None and pick.language == languages[0]:
        assert pick.incident_type in incident_type_chain(incident_type)
