"""``helpdesk.kb``: the knowledge base — articles with their versions, and suggestions."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.article import AttachmentMeta
from helpdesk_core.domain.knowledge import (
    KbArticle,
    KbRevision,
    KbState,
    KbSuggestion,
    KbVisibility,
)
from helpdesk_core.domain.values import Actor, ActorKind
from helpdesk_core.facade.arguments import checked, in_range
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.knowledge import Knowledge

__all__ = ["KnowledgeSection"]

MOST_SUGGESTIONS = 100


def _customer(actor: Actor | None) -> bool:
    return actor is not None and actor.kind is ActorKind.CUSTOMER


@checked
class KnowledgeSection:
    def __init__(self, *, guard: Guard, knowledge: Knowledge) -> None:
        self._guard = guard
        self._knowledge = knowledge

    # -- reading -------------------------------------------------------------------------

    def get(self, article: str, *, actor: Actor | None = None) -> KbArticle:
        """The newest version, by id or key; NotFound for a customer unless it is public
        and published."""
        self._guard.check(actor, Action.READ_KB)
        return self._knowledge.get(article, public_only=_customer(actor))

    def list(self, *, category: str | None = None, language: str | None = None,
             visibility: KbVisibility | str | None = None, state: KbState | str | None = None,
             actor: Actor | None = None) -> list[KbArticle]:
        """Articles ordered by key, filtered; a customer gets public, published ones only."""
        self._guard.check(actor, Action.READ_KB)
        return self._knowledge.list(category=category, language=language,
                                    visibility=visibility, state=state,
                                    public_only=_customer(actor))

    def revisions(self, article: str, *, actor: Actor | None = None) -> builtins.list[KbRevision]:
        """Every version, oldest first: who, when, what changed."""
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.revisions(article)

    def suggest(self, ticket: str | None = None, *, text: str | None = None,
                language: str | None = None, limit: int = 5,
                actor: Actor | None = None) -> builtins.list[KbSuggestion]:
        """Published articles ranked for ticket ``ticket`` or for ``text``, with the words
        that matched; a customer gets public ones, and only for a ticket of theirs."""
        self._guard.check(actor, Action.READ_KB)
        if ticket is not None:
            self._guard.check(actor, Action.READ_TICKET, ticket)
        return self._knowledge.suggest(
            ticket=ticket, text=text, language=language,
            limit=in_range(limit, field="limit", most=MOST_SUGGESTIONS),
            public_only=_customer(actor))

    # -- writing -------------------------------------------------------------------------

    def create(self, *, key: str, title: str, body: str, language: str, actor: Actor,
               category: str | None = None, visibility: KbVisibility | str = "internal",
               tags: Sequence[str] = (), related_tickets: Sequence[str] = (),
               attachments: Sequence[AttachmentMeta] = ()) -> KbArticle:
        """A new draft article, version 1."""
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.create(key=key, title=title, body=body, language=language,
                                      actor=actor, category=category,
                                      visibility=visibility, tags=tags,
                                      related_tickets=related_tickets, attachments=attachments)

    def edit(self, article: str, *, actor: Actor, expected_version: int | None = None,
             title: str | None = None, body: str | None = None, language: str | None = None,
             category: str | None = None, visibility: KbVisibility | str | None = None,
             tags: Sequence[str] | None = None,
             related_tickets: Sequence[str] | None = None) -> KbArticle:
        """The next version with the named fields changed; the old one stays a revision."""
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.edit(article, actor=actor, expected_version=expected_version,
                                    title=title, body=body, language=language,
                                    category=category, visibility=visibility, tags=tags,
                                    related_tickets=related_tickets)

    def publish(self, article: str, *, actor: Actor,
                expected_version: int | None = None) -> KbArticle:
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.publish(article, actor=actor, expected_version=expected_version)

    def unpublish(self, article: str, *, actor: Actor,
                  expected_version: int | None = None) -> KbArticle:
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.unpublish(article, actor=actor,
                                         expected_version=expected_version)

    def archive(self, article: str, *, actor: Actor,
                expected_version: int | None = None) -> KbArticle:
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.archive(article, actor=actor, expected_version=expected_version)

    def attach(self, article: str, *, data: bytes, filename: str, actor: Actor,
               content_type: str = "application/octet-stream",
               expected_version: int | None = None) -> KbArticle:
        """Store a file and add it to the article (a new version)."""
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.attach(article, data=data, filename=filename, actor=actor,
                                      content_type=content_type,
                                      expected_version=expected_version)

    def from_reply(self, ticket: str, article: str, *, key: str, actor: Actor,
                   title: str | None = None, language: str | None = None,
                   category: str | None = None, visibility: KbVisibility | str = "internal",
                   tags: Sequence[str] = ()) -> KbArticle:
        """A draft article made from an agent's reply or note on a ticket."""
        self._guard.check(actor, Action.MANAGE_KB)
        return self._knowledge.from_reply(ticket, article, key=key, actor=actor, title=title,
                                          language=language, category=category,
                                          visibility=visibility, tags=tags)
