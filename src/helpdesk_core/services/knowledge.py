"""The knowledge base: articles with every version kept, and suggestions for tickets.

Each command loads an article through a unit, calls the article's method (which returns the
next version and the revision recording it) and commits; the repository refuses a version
that lost a race (ConcurrencyError), and a command without ``expected_version`` is then run
again on the fresh article.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence

import attrs

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.knowledge import (
    KbArticle,
    KbRevision,
    KbState,
    KbSuggestion,
    KbVisibility,
    kb_language,
    suggest,
)
from helpdesk_core.domain.values import Actor, clean_text, new_id
from helpdesk_core.errors import ConcurrencyError, NotFound, ValidationError
from helpdesk_core.ports import BlobStore, Clock
from helpdesk_core.services.unit_of_work import Unit, Units

__all__ = ["Knowledge", "actor_name"]

MAX_QUERY = 20_000  # characters of a text suggestions are computed for


def actor_name(actor: Actor) -> str:
    """How an article's ``created_by``/``updated_by`` names the actor."""
    return actor.id or actor.name or actor.kind.value


def _state(value: KbState | str | None) -> KbState | None:
    if value is None or isinstance(value, KbState):
        return value
    try:
        return KbState(value)
    except ValueError:
        raise ValidationError("must be draft, published or archived", field="state") from None


def _visibility(value: KbVisibility | str | None) -> KbVisibility | None:
    if value is None or isinstance(value, KbVisibility):
        return value
    try:
        return KbVisibility(value)
    except ValueError:
        raise ValidationError("must be internal or public", field="visibility") from None


class Knowledge:
    def __init__(self, *, units: Units, clock: Clock, blob_store: BlobStore) -> None:
        self.units = units
        self.clock = clock
        self.blob_store = blob_store

    # -- reading -----------------------------------------------------------------------

    def get(self, ref: str, *, public_only: bool = False) -> KbArticle:
        """By id or key; an article a customer may not see is NotFound for them."""
        article = self.units.read(lambda unit: unit.knowledge.load(ref))
        if public_only and not article.is_public:
            raise NotFound(f"no knowledge-base article {ref!r}")
        return article

    def revisions(self, ref: str) -> list[KbRevision]:
        return self.units.read(
            lambda unit: unit.knowledge.revisions(unit.knowledge.load(ref).id))

    def list(self, *, category: str | None = None, language: str | None = None,
             visibility: KbVisibility | str | None = None,
             state: KbState | str | None = None, public_only: bool = False) -> list[KbArticle]:
        languages = None if language is None else [kb_language(language)]
        wanted_visibility = _visibility(visibility)
        wanted_state = _state(state)
        if public_only:
            if wanted_visibility not in (None, KbVisibility.PUBLIC) or \
                    wanted_state not in (None, KbState.PUBLISHED):
                return []
            wanted_visibility, wanted_state = KbVisibility.PUBLIC, KbState.PUBLISHED
        states = None if wanted_state is None else [wanted_state]
        return self.units.read(lambda unit: unit.knowledge.list(
            category=category, languages=languages, visibility=wanted_visibility,
            states=states))

    def suggest(self, *, ticket: str | None = None, text: str | None = None,
                language: str | None = None, limit: int = 5,
                public_only: bool = False) -> builtins.list[KbSuggestion]:
        """Published articles ranked for ticket ``ticket`` (its subject and first message,
        in its language) or for ``text`` (in ``language``; any language when None)."""
        if (ticket is None) == (text is None):
            raise ValidationError("name a ticket or give a text, one of the two",
                                  field="ticket")
        wanted = None if language is None else kb_language(language)

        def read(unit: Unit) -> tuple[str, str | None, builtins.list[KbArticle]]:
            query, lang = "", wanted
            if ticket is not None:
                found = unit.tickets.load(ticket)
                first = next((a for a in unit.tickets.articles(found.id)
                              if a.public and a.direction is Direction.INBOUND), None)
                query = found.subject + "\n" + (first.body_text if first else "")
                lang = lang or found.language
            else:
                query = clean_text(text, field="text", max_length=MAX_QUERY, required=False)
            visibility = KbVisibility.PUBLIC if public_only else None
            articles = unit.knowledge.list(visibility=visibility, states=[KbState.PUBLISHED])
            return query[:MAX_QUERY], lang, articles

        query, lang, articles = self.units.read(read)
        return suggest(articles, query, language=lang, limit=limit)

    # -- writing -----------------------------------------------------------------------

    def create(self, *, key: str, title: str, body: str, language: str, actor: Actor,
               category: str | None = None, visibility: KbVisibility | str = "internal",
               tags: Iterable[str] = (), related_tickets: Iterable[str] = (),
               attachments: Iterable[AttachmentMeta] = ()) -> KbArticle:
        """A new draft, version 1."""
        article, revision = KbArticle.draft(
            id=new_id(), key=key, title=title, body=body, language=language,
            by=actor_name(actor), at=self.clock.now(), category=category,
            visibility=visibility, tags=tags, related_tickets=related_tickets,
            attachments=attachments)
        with self.units() as unit:
            unit.knowledge.add(revision)
            unit.commit()
        return article

    def change(self, ref: str, change: Callable[[KbArticle], tuple[KbArticle, KbRevision]], *,
               expected_version: int | None = None) -> KbArticle:
        """Load the article ``ref`` (id or key), make the next version with ``change``,
        store it. ``expected_version``: the version the caller's view was built from;
        ConcurrencyError when the article moved on. Without it, a change that lost a race is
        made again on the fresh article."""
        if expected_version is not None and (isinstance(expected_version, bool)
                                             or not isinstance(expected_version, int)):
            raise ValidationError("must be an article's version, a whole number",
                                  field="expected_version")

        def work(unit: Unit) -> KbArticle:
            current = unit.knowledge.load(ref)
            if expected_version is not None and current.version != expected_version:
                raise ConcurrencyError(f"article {current.key} is at version "
                                       f"{current.version}, not {expected_version}")
            article, revision = change(current)
            unit.knowledge.save(revision)
            return article

        return self.units.retrying(work, attempts=1 if expected_version is not None else None)

    def edit(self, ref: str, *, actor: Actor, expected_version: int | None = None,
             title: str | None = None, body: str | None = None, language: str | None = None,
             category: str | None = None, visibility: KbVisibility | str | None = None,
             tags: Sequence[str] | None = None,
             related_tickets: Sequence[str] | None = None) -> KbArticle:
        by, at = actor_name(actor), self.clock.now()
        return self.change(ref, lambda a: a.edit(
            by=by, at=at, title=title, body=body, language=language, category=category,
            visibility=visibility, tags=tags, related_tickets=related_tickets),
            expected_version=expected_version)

    def publish(self, ref: str, *, actor: Actor,
                expected_version: int | None = None) -> KbArticle:
        by, at = actor_name(actor), self.clock.now()
        return self.change(ref, lambda a: a.publish(by=by, at=at),
                           expected_version=expected_version)

    def unpublish(self, ref: str, *, actor: Actor,
                  expected_version: int | None = None) -> KbArticle:
        by, at = actor_name(actor), self.clock.now()
        return self.change(ref, lambda a: a.unpublish(by=by, at=at),
                           expected_version=expected_version)

    def archive(self, ref: str, *, actor: Actor,
                expected_version: int | None = None) -> KbArticle:
        by, at = actor_name(actor), self.clock.now()
        return self.change(ref, lambda a: a.archive(by=by, at=at),
                           expected_version=expected_version)

    def attach(self, ref: str, *, data: bytes, filename: str, actor: Actor,
               content_type: str = "application/octet-stream",
               expected_version: int | None = None) -> KbArticle:
        """Store the bytes in the blob store and add them to the article (a new version).
        The article is looked up first: a missing one stores nothing."""
        meta = AttachmentMeta(blob_key="-", filename=filename, content_type=content_type,
                              size=len(data))
        self.get(ref)
        meta = attrs.evolve(meta, blob_key=self.blob_store.put(data))
        by, at = actor_name(actor), self.clock.now()
        return self.change(ref, lambda a: a.attach(meta, by=by, at=at),
                           expected_version=expected_version)

    def from_reply(self, ticket: str, article: str, *, key: str, actor: Actor,
                   title: str | None = None, language: str | None = None,
                   category: str | None = None, visibility: KbVisibility | str = "internal",
                   tags: Iterable[str] = ()) -> KbArticle:
        """A draft made from an agent's reply (or note) ``article`` on ticket ``ticket``: its
        text and attachments, the ticket's subject as title (unless ``title``), the ticket's
        language (unless ``language``), the ticket as related ticket."""

        def read(unit: Unit) -> tuple[str, str, str | None, Article]:
            found = unit.tickets.load(ticket)
            reply = next((a for a in unit.tickets.articles(found.id) if a.id == article), None)
            if reply is None or reply.direction is Direction.INBOUND:
                raise NotFound(f"no reply or note {article!r} on ticket {found.number}")
            return found.number, found.subject, found.language, reply

        number, subject, ticket_language, reply = self.units.read(read)
        chosen = language or ticket_language
        if chosen is None:
            raise ValidationError("the ticket has no language: name one", field="language")
        return self.create(key=key, title=title if title is not None else subject,
                           body=reply.body_text, language=chosen, actor=actor,
                           category=category, visibility=visibility, tags=tags,
                           related_tickets=[number], attachments=reply.attachments)
