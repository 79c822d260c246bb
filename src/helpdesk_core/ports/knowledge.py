"""The knowledge base's articles and every revision of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from helpdesk_core.domain.knowledge import KbArticle, KbRevision, KbState, KbVisibility

__all__ = ["KnowledgeBase"]


class KnowledgeBase(Protocol):
    """Knowledge-base articles (the newest version of each) and their revisions.

    Every write comes with the revision that records it; the article's ``version`` is the
    revision's, and versions of one article are 1, 2, 3 … without gaps.
    """

    def add(self, revision: KbRevision) -> None:
        """Store a new article (``revision.article``, version 1) and its first revision.
        A key another article has is a ValidationError on ``key``; an id that exists a
        StorageError."""

    def save(self, revision: KbRevision) -> None:
        """Store the next version of an article and its revision: only if the stored article
        is still at ``revision.version - 1``, else ConcurrencyError and nothing written
        (also when another unit saves the same version first). A missing article is
        NotFound."""

    def get(self, article_id: str) -> KbArticle:
        """The newest version; NotFound when there is none."""

    def get_by_key(self, key: str) -> KbArticle:
        """The newest version of the article with this key; NotFound when there is none."""

    def revisions(self, article_id: str) -> list[KbRevision]:
        """Every revision of the article, oldest first; empty when there is no article."""

    def list(self, *, category: str | None = None, languages: Sequence[str] | None = None,
             visibility: KbVisibility | None = None,
             states: Sequence[KbState] | None = None) -> list[KbArticle]:
        """The newest versions, ordered by key: in ``category`` or below it (``shipping``
        takes ``shipping/damage``), in one of ``languages`` (exact tags, ``any`` included
        only when named), of ``visibility``, in one of ``states``; None: no filter."""
