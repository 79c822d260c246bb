"""The knowledge base: articles that answer recurring questions, with every version kept.

A :class:`KbArticle` is a frozen value. Every change — an edit, publishing, unpublishing,
archiving, a new attachment — is a method that returns the next version of the article
(``version`` + 1, ``updated_at``/``updated_by`` set) together with the :class:`KbRevision`
that records it: the article as it is in that version, who made the change, when, what kind
of change it was and which fields it changed. The repository stores both, and keeps every
revision, so the history of an article is its list of revisions (version 1 is its creation).

States: a new article is a ``draft``; ``publish`` makes it ``published`` (suggested, and shown
to customers when its visibility is ``public``), ``unpublish`` makes it a draft again,
``archive`` retires it (a published or draft article; an archived one may be published
again). A move the state does not allow is a ValidationError on ``state``. Visibility:
``internal`` (staff only) or ``public`` (everyone, customers and anonymous visitors included,
once published).

The language is a language tag (``cs``, ``de``, ``pt-BR``) or ``any`` for an article that
answers in every language (a table of part numbers, a link list).

Suggestions (:func:`suggest`) rank articles for a ticket's subject and text; the scoring is
pure and explained in its docstring.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import attrs

from helpdesk_core.domain.article import AttachmentMeta
from helpdesk_core.domain.typecheck import check_fields
from helpdesk_core.domain.values import (
    base_language,
    clean_line,
    clean_text,
    ensure_utc,
    language_tag,
    tag_set,
)
from helpdesk_core.errors import ValidationError

__all__ = [
    "ANY_LANGUAGE",
    "KbArticle",
    "KbChange",
    "KbRevision",
    "KbState",
    "KbSuggestion",
    "KbVisibility",
    "kb_category",
    "kb_key",
    "kb_language",
    "suggest",
    "tokens",
]

ANY_LANGUAGE = "any"
MAX_TITLE = 200
MAX_BODY = 200_000
MAX_RELATED = 100
MAX_ATTACHMENTS = 50

_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}(/[a-z0-9][a-z0-9_-]{0,39}){0,3}")
_TICKET_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class KbState(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class KbVisibility(enum.Enum):
    INTERNAL = "internal"
    PUBLIC = "public"


class KbChange(enum.Enum):
    """What made a version."""

    CREATED = "created"
    EDITED = "edited"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    ARCHIVED = "archived"
    ATTACHED = "attached"


def kb_key(value: object, *, field: str = "key") -> str:
    """An article's key (its slug): lower-case letters, digits, ``-`` and ``_``, up to 100."""
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise ValidationError("must be a slug: lower-case letters, digits, - and _, starting "
                              "with a letter or digit, up to 100 characters", field=field)
    return value


def kb_category(value: object, *, field: str = "category") -> str | None:
    """A category path like an incident type's (``shipping/damage``); None or "" for none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _CATEGORY.fullmatch(value):
        raise ValidationError("must be up to four /-separated lower-case segments",
                              field=field)
    return value


def kb_language(value: object, *, field: str = "language") -> str:
    """A language tag, or ``any``."""
    if isinstance(value, str) and value.strip().casefold() == ANY_LANGUAGE:
        return ANY_LANGUAGE
    return language_tag(value, field=field)


def _title(value: object) -> str:
    return clean_line(value, field="title", max_length=MAX_TITLE)


def _body(value: object) -> str:
    return clean_text(value, field="body", max_length=MAX_BODY)


def _related(values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError("must be a list of ticket ids or numbers", field="related_tickets")
    found: list[str] = []
    for value in values:
        if not isinstance(value, str) or not _TICKET_REF.fullmatch(value):
            raise ValidationError("must be ticket ids or numbers", field="related_tickets")
        if value not in found:
            found.append(value)
    if len(found) > MAX_RELATED:
        raise ValidationError(f"more than {MAX_RELATED} tickets", field="related_tickets")
    return tuple(found)


def _attachments(values: object) -> tuple[AttachmentMeta, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError("must be a list of AttachmentMeta", field="attachments")
    found = tuple(values)
    if not all(isinstance(v, AttachmentMeta) for v in found):
        raise ValidationError("must be a list of AttachmentMeta", field="attachments")
    if len(found) > MAX_ATTACHMENTS:
        raise ValidationError(f"more than {MAX_ATTACHMENTS} attachments", field="attachments")
    return found


def _visibility(value: object) -> KbVisibility:
    try:
        return KbVisibility(value.value if isinstance(value, KbVisibility) else value)
    except (ValueError, TypeError):
        raise ValidationError("must be internal or public", field="visibility") from None


def _tags(values: object) -> frozenset[str]:
    return tag_set(values)


def _by(value: object, *, field: str) -> str:
    return clean_line(value, field=field, max_length=200)


@attrs.frozen
class KbArticle:
    """One version of a knowledge-base article; see the module docstring."""

    id: str
    key: str = attrs.field(converter=kb_key)
    title: str = attrs.field(converter=_title)
    body: str = attrs.field(converter=_body)
    language: str = attrs.field(converter=kb_language)
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    category: str | None = attrs.field(default=None, converter=kb_category)
    visibility: KbVisibility = attrs.field(default=KbVisibility.INTERNAL, converter=_visibility)
    state: KbState = KbState.DRAFT
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    related_tickets: tuple[str, ...] = attrs.field(default=(), converter=_related)
    attachments: tuple[AttachmentMeta, ...] = attrs.field(default=(), converter=_attachments)
    version: int = 1

    def __attrs_post_init__(self) -> None:
        check_fields(self, prefix="kb")
        if not self.id:
            raise ValidationError("must not be empty", field="id")
        if self.version < 1:
            raise ValidationError("must be 1 or more", field="version")

    @classmethod
    def draft(cls, *, id: str, key: str, title: str, body: str, language: str, by: str,
              at: datetime, category: str | None = None,
              visibility: KbVisibility | str = KbVisibility.INTERNAL,
              tags: Iterable[str] = (), related_tickets: Iterable[str] = (),
              attachments: Iterable[AttachmentMeta] = ()) -> tuple[KbArticle, KbRevision]:
        """A new draft (version 1) and the revision that records its creation."""
        at = ensure_utc(at)
        by = _by(by, field="by")
        article = cls(id=id, key=key, title=title, body=body, language=language,
                      created_at=at, created_by=by, updated_at=at, updated_by=by,
                      category=category, visibility=visibility, tags=tags,
                      related_tickets=related_tickets, attachments=attachments)
        return article, KbRevision(article=article, change=KbChange.CREATED,
                                   fields=_FIELDS)

    @property
    def is_public(self) -> bool:
        """Shown to customers and anonymous visitors: public and published."""
        return self.visibility is KbVisibility.PUBLIC and self.state is KbState.PUBLISHED

    def _next(self, change: KbChange, fields: Sequence[str], *, by: str, at: datetime,
              **values: object) -> tuple[KbArticle, KbRevision]:
        at = max(ensure_utc(at), self.updated_at)
        article = attrs.evolve(self, version=self.version + 1, updated_at=at,
                               updated_by=_by(by, field="by"), **values)  # type: ignore[arg-type]
        return article, KbRevision(article=article, change=change, fields=tuple(fields))

    def edit(self, *, by: str, at: datetime, title: str | None = None,
             body: str | None = None, language: str | None = None,
             category: str | None = None, visibility: KbVisibility | str | None = None,
             tags: Iterable[str] | None = None,
             related_tickets: Iterable[str] | None = None) -> tuple[KbArticle, KbRevision]:
        """The next version with the given fields changed (None: unchanged; a category of
        "" removes it). A change that changes nothing is refused (ValidationError)."""
        values: dict[str, object] = {}
        given = {"title": title, "body": body, "language": language, "category": category,
                 "visibility": visibility, "tags": tags, "related_tickets": related_tickets}
        converters: dict[str, Callable[[object], object]] = {
            "title": _title, "body": _body, "language": kb_language, "category": kb_category,
            "visibility": _visibility, "tags": _tags, "related_tickets": _related}
        for name, value in given.items():
            if value is None:
                continue
            new = converters[name](value)
            if new != getattr(self, name):
                values[name] = new
        if not values:
            raise ValidationError("nothing to change", field="article")
        return self._next(KbChange.EDITED, sorted(values), by=by, at=at, **values)

    def publish(self, *, by: str, at: datetime) -> tuple[KbArticle, KbRevision]:
        if self.state is KbState.PUBLISHED:
            raise ValidationError(f"article {self.key} is published already", field="state")
        return self._next(KbChange.PUBLISHED, ("state",), by=by, at=at,
                          state=KbState.PUBLISHED)

    def unpublish(self, *, by: str, at: datetime) -> tuple[KbArticle, KbRevision]:
        if self.state is not KbState.PUBLISHED:
            raise ValidationError(f"article {self.key} is not published", field="state")
        return self._next(KbChange.UNPUBLISHED, ("state",), by=by, at=at, state=KbState.DRAFT)

    def archive(self, *, by: str, at: datetime) -> tuple[KbArticle, KbRevision]:
        if self.state is KbState.ARCHIVED:
            raise ValidationError(f"article {self.key} is archived already", field="state")
        return self._next(KbChange.ARCHIVED, ("state",), by=by, at=at, state=KbState.ARCHIVED)

    def attach(self, attachment: AttachmentMeta, *, by: str,
               at: datetime) -> tuple[KbArticle, KbRevision]:
        return self._next(KbChange.ATTACHED, ("attachments",), by=by, at=at,
                          attachments=_attachments((*self.attachments, attachment)))


_FIELDS = ("title", "body", "language", "category", "visibility", "tags", "related_tickets",
           "attachments")


def _change(value: object) -> KbChange:
    try:
        return KbChange(value.value if isinstance(value, KbChange) else value)
    except (ValueError, TypeError):
        raise ValidationError("unknown kind of change", field="change") from None


@attrs.frozen
class KbRevision:
    """One version of an article as it was stored: ``article`` (its ``version``,
    ``updated_at`` and ``updated_by`` say which version, when and who), what ``change``
    made it, and which ``fields`` that change set."""

    article: KbArticle
    change: KbChange = attrs.field(converter=_change)
    fields: tuple[str, ...] = ()

    @property
    def version(self) -> int:
        return self.article.version

    @property
    def at(self) -> datetime:
        return self.article.updated_at

    @property
    def by(self) -> str:
        return self.article.updated_by


# -- suggestions ------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Short, common words of each language that say nothing about a topic. Written without
#: diacritics, as the tokens are compared.
STOP_WORDS: dict[str, frozenset[str]] = {
    "en": _words("""a an the and or but if of to in on at by for with from as is are was were
        be been being it its this that these those i me my we our you your he she they them
        their his her not no do does did have has had can could would should will shall may
        might must am so than then there here what which who whom when where why how all any
        some about into out up down over under again please hello hi thanks thank regards dear
        just also very get got still yet one two only after before"""),
    "cs": _words("""a i k o s u v z ze se si na do od po pro pri za ze ale ani aby jak jako
        je jsem jsme jste jsou byl byla bylo byli bude budu budeme mam mate ma mame to ten ta
        toto tento tato tyto ty ti co kdo kde kdy proc ktery ktera ktere uz jeste jen take tak
        taky nebo ze mi mne me my vy vam vas nas nam jsem dobry den dekuji dekuju diky prosim
        pozdravem s pane pani zdravim bych by ho jej ji jim jeho jejich muj moje moji vase
        vas jiz pak tedy ve nez pokud"""),
    "sk": _words("""a i k o s u v z zo sa si na do od po pre pri za ze ale ani aby ako je
        som sme ste su bol bola bolo boli bude budem mam mate ma mame to ten ta toto tento
        tato tieto co kto kde kedy preco ktory ktora ktore uz este len tiez tak alebo mi mne
        ma my vy vam vas nas nam dobry den dakujem dakujeme vdaka prosim pozdravom pan pani
        zdravim by ho jej jeho ich moj moja moje vase"""),
    "de": _words("""der die das den dem des ein eine einen einem einer eines und oder aber
        wenn dass da zu im in an am auf aus bei mit nach von vor fur uber unter um ist sind war
        waren bin bist sein hat habe haben hatte ich mir mich wir uns ihr sie es er ihnen ihre
        ihr mein meine meinen meiner unser nicht kein keine noch schon auch nur so wie was wer
        wo wann warum welche welcher welches bitte danke hallo guten tag gruss grusse
        freundlichen mfg sehr geehrte geehrter damen herren kann konnen konnte wurde wurden
        soll mochte muss man"""),
}
_ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())

# Title words count this many times a body word; tags as much as the title.
TITLE_BOOST = 3.0
TAG_BOOST = 3.0
_K1, _B = 1.2, 0.75
# A ticket word that only contains an article's term (a German compound, a prefix) counts
# this much of a term it matches whole.
PART_MATCH = 0.7
STEM = 5  # letters of a long word that are compared
LONG_WORD = 6  # words this long or longer are compared by their first STEM letters


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


def _stop_words(language: str | None) -> frozenset[str]:
    if language is None or language == ANY_LANGUAGE:
        return _ALL_STOP_WORDS
    return STOP_WORDS.get(base_language(language), _ALL_STOP_WORDS)


def tokens(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` as they are compared: case-folded, diacritics removed
    (``Zásilka`` → ``zasilka``), stop words of ``language`` (of every language it knows when
    None or ``any``) and one-letter words left out."""
    stop = _stop_words(language)
    return [w for w in _WORD.findall(_fold(text)) if len(w) > 1 and w not in stop
            and not w.isdigit()]


def _stem(word: str) -> str:
    """Light stemming for Czech, Slovak, German and English alike: a word of LONG_WORD
    letters or more is compared by its first STEM (``zasilka``, ``zasilku`` → ``zasil``;
    ``delivered``, ``delivery`` → ``deliv``)."""
    return word[:STEM] if len(word) >= LONG_WORD else word


@attrs.frozen
class KbSuggestion:
    """An article suggested for a text: its ``score`` (higher is better, only comparable
    within one call) and the ``matched`` words of the text that led to it."""

    article: KbArticle
    score: float
    matched: tuple[str, ...]


@attrs.frozen
class _Document:
    article: KbArticle
    weights: dict[str, float]  # term -> weighted frequency (title and tags boosted)
    length: float


def _document(article: KbArticle) -> _Document:
    language = article.language
    weights: dict[str, float] = {}
    words = [(w, TITLE_BOOST) for w in tokens(article.title, language)]
    words += [(w, TAG_BOOST) for tag in article.tags
              for w in tokens(tag.replace("-", " "), language)]
    words += [(w, 1.0) for w in tokens(article.body, language)]
    for word, weight in words:
        term = _stem(word)
        weights[term] = weights.get(term, 0.0) + weight
    return _Document(article, weights, sum(weights.values()) or 1.0)


def _matches(word: str, vocabulary: Iterable[str]) -> list[tuple[str, float]]:
    """The article terms a text word stands for: its own stem, whole; else the terms of
    STEM letters or more that it contains (a German compound: ``Rücksendeetikett`` holds
    ``rucks`` and ``etike``), or that start with it, each as a PART_MATCH."""
    stem = _stem(word)
    whole = [(stem, 1.0)] if stem in vocabulary else []
    if len(word) < LONG_WORD + 2:
        return whole
    parts = [(term, PART_MATCH) for term in vocabulary
             if len(term) >= STEM and term != stem and term in word]
    return whole + parts


def suggest(articles: Iterable[KbArticle], text: str, *, language: str | None = None,
            limit: int = 5) -> list[KbSuggestion]:
    """Rank ``articles`` for ``text`` (a ticket's subject and message), best first, at most
    ``limit``; articles that share no word with the text are left out.

    Only articles in ``language`` (by its base language: ``cs-CZ`` counts as ``cs``) or in
    ``any`` take part; with no language, all do. The text and each article's title, tags and
    body become terms (:func:`tokens`, then the first five letters of a long word), and each
    article is scored with BM25 (k1 1.2, b 0.75) over its terms, title and tag words weighing
    three times a body word. A text word that is not an article term itself may hold one —
    German compounds, ``Kaffeemaschinenentkalkung`` holds ``entka`` — and counts then for
    0.7 of it. Ties go to the article updated last, then by key.
    """
    wanted = None if language is None or language == ANY_LANGUAGE else base_language(language)
    documents = [_document(a) for a in articles
                 if wanted is None or a.language == ANY_LANGUAGE
                 or base_language(a.language) == wanted]
    if not documents or limit <= 0:
        return []
    count = len(documents)
    average = sum(d.length for d in documents) / count
    frequency: Counter[str] = Counter()
    for document in documents:
        frequency.update(document.weights.keys())
    vocabulary = set(frequency)
    query: dict[str, tuple[float, set[str]]] = {}  # term -> (weight, the words that led to it)
    for word in dict.fromkeys(tokens(text, wanted)):
        for term, weight in _matches(word, vocabulary):
            known, words = query.get(term, (0.0, set()))
            query[term] = (max(known, weight), words | {word})
    results: list[KbSuggestion] = []
    for document in documents:
        score = 0.0
        matched: set[str] = set()
        for term, (weight, words) in query.items():
            tf = document.weights.get(term)
            if not tf:
                continue
            idf = math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
            norm = tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * document.length / average))
            score += weight * idf * norm
            matched |= words
        if score > 0:
            results.append(KbSuggestion(document.article, round(score, 6),
                                        tuple(sorted(matched))))
    results.sort(key=lambda s: (-s.score, -s.article.updated_at.timestamp(), s.article.key))
    return results[:limit]
