"""The knowledge-base article: versions and revisions, validation, and the scoring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from helpdesk_core.domain.knowledge import (
    KbArticle,
    KbChange,
    KbState,
    KbVisibility,
    suggest,
    tokens,
)
from helpdesk_core.errors import ValidationError

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _article(key: str = "descaling", *, language: str = "cs", title: str = "Odvápnění kávovaru",
             body: str = "Spusťte program odvápnění.", **fields: object) -> KbArticle:
    article, _ = KbArticle.draft(id=f"id-{key}", key=key, title=title, body=body,
                                 language=language, by="eva", at=T0, **fields)  # type: ignore[arg-type]
    return attrs.evolve(article, state=KbState.PUBLISHED)


def test_every_change_is_a_new_version_with_its_revision() -> None:
    article, created = KbArticle.draft(id="a1", key="returns", title="Vrácení zboží",
                                       body="Do 14 dnů.", language="CS", by="eva", at=T0)
    assert (article.version, article.state, article.language) == (1, KbState.DRAFT, "cs")
    assert created.change is KbChange.CREATED
    assert created.article == article
    edited, revision = article.edit(by="adam", at=T0 + timedelta(hours=1),
                                    body="Do 14 dnů od převzetí.", title="Vrácení zboží")
    assert edited.version == 2
    assert edited.updated_by == "adam"
    assert revision.fields == ("body",)
    assert revision.by == "adam"
    assert revision.version == 2
    assert edited.created_at == T0
    assert edited.created_by == "eva"
    published, revision = edited.publish(by="eva", at=T0 + timedelta(hours=2))
    assert published.is_public is False  # internal by default
    assert revision.change is KbChange.PUBLISHED
    with pytest.raises(ValidationError):
        published.publish(by="eva", at=T0)
    draft, _ = published.unpublish(by="eva", at=T0)
    assert draft.state is KbState.DRAFT
    assert draft.version == 4
    assert draft.updated_at == T0 + timedelta(hours=2)  # time never runs backwards
    archived, _ = draft.archive(by="eva", at=T0 + timedelta(days=1))
    with pytest.raises(ValidationError):
        archived.archive(by="eva", at=T0)
    with pytest.raises(ValidationError) as nothing:
        archived.edit(by="eva", at=T0, title="Vrácení zboží")
    assert nothing.value.field == "article"


@pytest.mark.parametrize(("fields", "field"), [
    ({"key": "Not A Slug"}, "key"),
    ({"key": ""}, "key"),
    ({"title": "  "}, "title"),
    ({"body": ""}, "body"),
    ({"language": "xx"}, "language"),
    ({"category": "Shipping//x"}, "category"),
    ({"visibility": "secret"}, "visibility"),
    ({"tags": ["a b c", "bad tag!"]}, "tag"),
    ({"related_tickets": ["HD 1"]}, "related_tickets"),
    ({"attachments": ["file.pdf"]}, "attachments"),
])
def test_bad_fields_are_refused_naming_the_field(fields: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"id": "a1", "key": "k", "title": "T", "body": "B",
                                 "language": "en", "by": "eva", "at": T0, **fields}
    with pytest.raises(ValidationError) as refused:
        KbArticle.draft(**values)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_any_is_a_language_and_public_needs_published() -> None:
    article, _ = KbArticle.draft(id="a", key="contact", title="Contact", body="+420",
                                 language="ANY", by="eva", at=T0, visibility="public")
    assert article.language == "any"
    assert article.visibility is KbVisibility.PUBLIC
    assert not article.is_public
    assert article.publish(by="eva", at=T0)[0].is_public


def test_tokens_fold_case_and_diacritics_and_drop_stop_words() -> None:
    assert tokens("Dobrý den, ZÁSILKA je poškozená!", "cs") == ["zasilka", "poskozena"]
    assert tokens("Die Rücksendung für den Föhn", "de") == ["rucksendung", "fohn"]
    assert tokens("Straße", "de") == ["strasse"]


def test_diacritics_free_queries_and_inflections_match() -> None:
    parcel = _article("parcel", title="Poškozená zásilka", body="Zásilku vyfoťte.")
    password = _article("password", title="Zapomenuté heslo", body="Nové heslo nastavíte.")
    [first, *_] = suggest([parcel, password], "zasilka prisla poskozena", language="cs")
    assert first.article.key == "parcel"
    assert set(first.matched) == {"zasilka", "poskozena"}


def test_german_compounds_match_their_parts() -> None:
    descaling = _article("entkalken", language="de", title="Maschine entkalken",
                         body="Entkalkung mit Entkalker.")
    returns = _article("returns", language="de", title="Rücksendung",
                       body="Etikett im Kundenkonto.")
    [first, *_] = suggest([descaling, returns], "Frage zur Kaffeemaschinenentkalkung",
                          language="de")
    assert first.article.key == "entkalken"
    assert "kaffeemaschinenentkalkung" in first.matched
    [first, *_] = suggest([descaling, returns], "Rucksendeetikett fehlt", language="de")
    assert first.article.key == "returns"


def test_only_the_language_and_any_take_part() -> None:
    cs = _article("cs", title="Heslo", body="Heslo.")
    de = _article("de", language="de", title="Passwort Heslo", body="Heslo.")
    anything = _article("any", language="any", title="Heslo hotline", body="Heslo.")
    assert {s.article.key for s in suggest([cs, de, anything], "heslo", language="cs-CZ")} \
        == {"cs", "any"}
    assert len(suggest([cs, de, anything], "heslo")) == 3
    assert suggest([cs, de], "", language="cs") == []
    assert suggest([cs, de], "heslo", language="cs", limit=0) == []
