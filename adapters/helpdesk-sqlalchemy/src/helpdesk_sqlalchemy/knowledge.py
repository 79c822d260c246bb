"""The knowledge base on SQLAlchemy Core: the newest version of each article in
``kb_articles``, every version in ``kb_revisions``.

Saving is ``UPDATE … WHERE id = ? AND version = ?`` (the version the new one follows): no
row updated means the article moved on (ConcurrencyError) or does not exist (NotFound). The
revisions' primary key ``(article_id, version)`` holds even against a writer that skipped the
check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import RowMapping

from helpdesk_core.domain.article import AttachmentMeta
from helpdesk_core.domain.knowledge import KbArticle, KbRevision, KbState, KbVisibility
from helpdesk_core.errors import ConcurrencyError, NotFound, ValidationError
from helpdesk_sqlalchemy.engine import UnitRepository, guarded
from helpdesk_sqlalchemy.tables import kb_articles, kb_revisions

__all__ = ["SqlAlchemyKnowledgeBase"]

_BY_ID = select(kb_articles).where(kb_articles.c.id == bindparam("id"))
_BY_KEY = select(kb_articles).where(kb_articles.c.key == bindparam("key"))
_KEY_OWNER = select(kb_articles.c.id).where(kb_articles.c.key == bindparam("key"))
_EXISTS = select(kb_articles.c.version).where(kb_articles.c.id == bindparam("id"))
_REVISIONS = (select(kb_revisions)
              .where(kb_revisions.c.article_id == bindparam("id"))
              .order_by(kb_revisions.c.version))
_SAVE = (update(kb_articles)
         .where(kb_articles.c.id == bindparam("b_id"),
                kb_articles.c.version == bindparam("b_version")))


def _values(article: KbArticle) -> dict[str, Any]:
    """The columns of one version (without the id)."""
    return {"key": article.key, "version": article.version, "title": article.title,
            "body": article.body, "language": article.language, "category": article.category,
            "visibility": article.visibility.value, "state": article.state.value,
            "tags": sorted(article.tags), "related_tickets": list(article.related_tickets),
            "attachments": [a.to_dict() for a in article.attachments],
            "created_at": article.created_at, "created_by": article.created_by,
            "updated_at": article.updated_at, "updated_by": article.updated_by}


def _article(article_id: str, row: RowMapping) -> KbArticle:
    return KbArticle(
        id=article_id, key=row["key"], title=row["title"], body=row["body"],
        language=row["language"], created_at=row["created_at"], created_by=row["created_by"],
        updated_at=row["updated_at"], updated_by=row["updated_by"], category=row["category"],
        visibility=KbVisibility(row["visibility"]), state=KbState(row["state"]),
        tags=row["tags"], related_tickets=row["related_tickets"],
        attachments=tuple(AttachmentMeta.from_dict(a) for a in row["attachments"]),
        version=row["version"])


def _revision_values(revision: KbRevision) -> dict[str, Any]:
    return {"article_id": revision.article.id, **_values(revision.article),
            "change": revision.change.value, "fields": list(revision.fields)}


class SqlAlchemyKnowledgeBase(UnitRepository):
    def _key_taken(self, article: KbArticle) -> bool:
        owner = self._conn().execute(_KEY_OWNER, {"key": article.key}).scalar()
        return owner is not None and owner != article.id

    @guarded
    def add(self, revision: KbRevision) -> None:
        article = revision.article
        if article.version != 1:
            raise ValidationError("a new article is version 1", field="version")
        if self._key_taken(article):
            raise ValidationError(f"another article has the key {article.key!r}", field="key")
        conn = self._conn()
        try:
            conn.execute(insert(kb_articles), {"id": article.id, **_values(article)})
        except sa_exc.IntegrityError:
            if self._key_taken(article):  # another writer took the key meanwhile
                raise ValidationError(f"another article has the key {article.key!r}",
                                      field="key") from None
            raise
        conn.execute(insert(kb_revisions), _revision_values(revision))

    @guarded
    def save(self, revision: KbRevision) -> None:
        article = revision.article
        conn = self._conn()
        values = _values(article)
        del values["key"], values["created_at"], values["created_by"]  # never change
        result = conn.execute(_SAVE.values(**values),
                              {"b_id": article.id, "b_version": article.version - 1})
        if result.rowcount != 1:
            stored = conn.execute(_EXISTS, {"id": article.id}).scalar()
            if stored is None:
                raise NotFound(f"no knowledge-base article {article.id!r}")
            raise ConcurrencyError(f"knowledge-base article {article.key} is at version "
                                   f"{stored}, not {article.version - 1}")
        conn.execute(insert(kb_revisions), _revision_values(revision))

    @guarded
    def get(self, article_id: str) -> KbArticle:
        row = self._conn().execute(_BY_ID, {"id": article_id}).mappings().first()
        if row is None:
            raise NotFound(f"no knowledge-base article {article_id!r}")
        return _article(row["id"], row)

    @guarded
    def get_by_key(self, key: str) -> KbArticle:
        row = self._conn().execute(_BY_KEY, {"key": key}).mappings().first()
        if row is None:
            raise NotFound(f"no knowledge-base article {key!r}")
        return _article(row["id"], row)

    @guarded
    def revisions(self, article_id: str) -> list[KbRevision]:
        rows = self._conn().execute(_REVISIONS, {"id": article_id}).mappings()
        return [KbRevision(article=_article(r["article_id"], r), change=r["change"],
                           fields=tuple(r["fields"])) for r in rows]

    @guarded
    def list(self, *, category: str | None = None, languages: Sequence[str] | None = None,
             visibility: KbVisibility | None = None,
             states: Sequence[KbState] | None = None) -> list[KbArticle]:
        c = kb_articles.c
        conditions: list[Any] = []
        if category is not None:
            conditions.append(or_(c.category == category,
                                  c.category.startswith(f"{category}/", autoescape=True)))
        if languages is not None:
            if not languages:
                return []
            conditions.append(c.language.in_(list(languages)))
        if visibility is not None:
            conditions.append(c.visibility == visibility.value)
        if states is not None:
            if not states:
                return []
            conditions.append(c.state.in_([s.value for s in states]))
        query = select(kb_articles).where(and_(True, *conditions)).order_by(c.key)
        return [_article(r["id"], r) for r in self._conn().execute(query).mappings()]
