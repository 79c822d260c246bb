"""Knowledge-base articles: the round trip, every revision kept, the version check, the
unique key and the filters.

Covers :class:`~helpdesk_core.ports.knowledge.KnowledgeBase`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk_core.domain.article import AttachmentMeta
from helpdesk_core.domain.knowledge import (
    KbArticle,
    KbChange,
    KbRevision,
    KbState,
    KbVisibility,
)
from helpdesk_core.domain.values import new_id
from helpdesk_core.errors import ConcurrencyError, NotFound, ValidationError
from helpdesk_core.ports.knowledge import KnowledgeBase
from helpdesk_core.ports.storage import Storage
from helpdesk_core.testing.builders import T0

__all__ = ["TestKnowledgeBase"]

COVERS = (KnowledgeBase,)


def _draft(key: str, *, language: str = "cs", category: str | None = "shipping/damage",
           visibility: KbVisibility = KbVisibility.PUBLIC) -> KbRevision:
    _article, revision = KbArticle.draft(
        id=new_id(), key=key, title=f"Poškozená zásilka {key}",
        body="Vyfoťte obal i obsah a pošlete nám fotky.\nDěkujeme.", language=language,
        by="eva", at=T0, category=category, visibility=visibility, tags=["doprava", "foto"],
        related_tickets=["HD-2026-000001"],
        attachments=[AttachmentMeta(blob_key="b" * 64, filename="navod.pdf",
                                    content_type="application/pdf", size=1234)])
    return revision


def _add(storage: Storage, *revisions: KbRevision) -> None:
    with storage.unit_of_work() as uow:
        for revision in revisions:
            uow.knowledge.add(revision)
        uow.commit()


class TestKnowledgeBase:
    def test_an_article_and_its_revisions_come_back_equal(self, storage: Storage) -> None:
        first = _draft("damaged-parcel")
        _add(storage, first)
        article = first.article
        edited, second = article.edit(by="adam", at=T0 + timedelta(hours=1),
                                      title="Poškozená zásilka: co dělat", tags=["doprava"])
        published, third = edited.publish(by="eva", at=T0 + timedelta(hours=2))
        with storage.unit_of_work() as uow:
            uow.knowledge.save(second)
            uow.knowledge.save(third)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.knowledge.get(article.id) == published
            assert uow.knowledge.get_by_key("damaged-parcel") == published
            revisions = uow.knowledge.revisions(article.id)
            assert revisions == [first, second, third]
            assert [(r.version, r.change, r.by) for r in revisions] == [
                (1, KbChange.CREATED, "eva"), (2, KbChange.EDITED, "adam"),
                (3, KbChange.PUBLISHED, "eva")]
            assert revisions[1].fields == ("tags", "title")
            assert revisions[0].article.title == "Poškozená zásilka damaged-parcel"

    def test_missing_articles_are_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work(read_only=True) as uow:
            with pytest.raises(NotFound):
                uow.knowledge.get("missing")
            with pytest.raises(NotFound):
                uow.knowledge.get_by_key("missing")
            assert uow.knowledge.revisions("missing") == []
            assert uow.knowledge.list() == []
        _article, revision = _draft("a").article.edit(by="eva", at=T0, body="Jinak.")
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.knowledge.save(revision)

    def test_a_stale_version_is_refused_and_writes_nothing(self, storage: Storage) -> None:
        first = _draft("returns")
        _add(storage, first)
        one, two = first.article.edit(by="eva", at=T0, body="Verze dvě.")
        _other, rival = first.article.edit(by="adam", at=T0, body="Jiná verze dvě.")
        with storage.unit_of_work() as uow:
            uow.knowledge.save(two)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.knowledge.save(rival)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.knowledge.get(one.id) == one
            assert [r.version for r in uow.knowledge.revisions(one.id)] == [1, 2]

    def test_a_rolled_back_change_leaves_nothing(self, storage: Storage) -> None:
        first = _draft("rollback")
        with storage.unit_of_work() as uow:
            uow.knowledge.add(first)
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow, pytest.raises(NotFound):
            uow.knowledge.get(first.article.id)

    def test_a_key_belongs_to_one_article(self, storage: Storage) -> None:
        _add(storage, _draft("passwords"))
        with storage.unit_of_work() as uow, pytest.raises(ValidationError) as refused:
            uow.knowledge.add(_draft("passwords"))
            uow.commit()
        assert refused.value.field == "key"
        with storage.unit_of_work(read_only=True) as uow:
            assert len(uow.knowledge.list()) == 1

    def test_the_filters(self, storage: Storage) -> None:
        a = _draft("a-cs", category="shipping")
        b = _draft("b-de", language="de", category="shipping/damage",
                   visibility=KbVisibility.INTERNAL)
        c = _draft("c-any", language="any", category="shippingx")
        d = _draft("d-en", language="en", category=None)
        _add(storage, a, b, c, d)
        published, revision = a.article.publish(by="eva", at=T0)
        with storage.unit_of_work() as uow:
            uow.knowledge.save(revision)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            def keys(**filters: object) -> list[str]:
                return [x.key for x in uow.knowledge.list(**filters)]  # type: ignore[arg-type]

            assert keys() == ["a-cs", "b-de", "c-any", "d-en"]
            assert keys(category="shipping") == ["a-cs", "b-de"]
            assert keys(category="shipping/damage") == ["b-de"]
            assert keys(languages=["cs", "any"]) == ["a-cs", "c-any"]
            assert keys(languages=[]) == []
            assert keys(visibility=KbVisibility.INTERNAL) == ["b-de"]
            assert keys(states=[KbState.PUBLISHED]) == ["a-cs"]
            assert keys(states=[KbState.DRAFT, KbState.ARCHIVED]) == ["b-de", "c-any", "d-en"]
            assert keys(category="shipping", languages=["cs"],
                        visibility=KbVisibility.PUBLIC, states=[KbState.PUBLISHED]) == ["a-cs"]
            assert uow.knowledge.get(published.id) == published
