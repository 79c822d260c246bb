"""The suggestion benchmark: 50 articles, 200 tickets labelled with the article that answers
them (tests/kb/data), and the share of answered tickets whose article is among the top 3.
Used by tests/kb/test_suggestion_quality.py and benchmarks/kb_suggestions.py."""

from __future__ import annotations

import runpy
from datetime import UTC, datetime
from pathlib import Path

import attrs

from helpdesk_core.domain.knowledge import KbArticle, KbState, suggest

DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@attrs.frozen
class Miss:
    language: str
    expected: str
    subject: str
    got: tuple[str, ...]


@attrs.frozen
class Result:
    answered: int
    hits: int
    misses: tuple[Miss, ...]
    unanswered: int

    @property
    def rate(self) -> float:
        return self.hits / self.answered


def articles() -> list[KbArticle]:
    rows = runpy.run_path(str(DATA / "articles.py"))["ARTICLES"]
    found = []
    for n, (key, language, category, title, body, tags) in enumerate(rows):
        draft, _ = KbArticle.draft(id=f"kb-{n:03}", key=key, title=title, body=body,
                                   language=language, by="eva", at=T0, category=category,
                                   visibility="public", tags=tags)
        found.append(attrs.evolve(draft, state=KbState.PUBLISHED))
    return found


def tickets() -> list[tuple[str, str | None, str, str]]:
    return list(runpy.run_path(str(DATA / "tickets.py"))["TICKETS"])


def measure(top: int = 3) -> Result:
    known = articles()
    hits, misses, answered = 0, [], 0
    rows = tickets()
    for language, expected, subject, text in rows:
        if expected is None:
            continue
        answered += 1
        ranked = [s.article.key for s in suggest(known, f"{subject}\n{text}",
                                                 language=language, limit=top)]
        if expected in ranked:
            hits += 1
        else:
            misses.append(Miss(language, expected, subject, tuple(ranked)))
    return Result(answered=answered, hits=hits, misses=tuple(misses),
                  unanswered=len(rows) - answered)
