"""Suggesting tickets a new ticket may duplicate — suggestions only, never a merge.

A candidate must be active (work still expected), not the ticket itself, not merged, and
opened within ``window`` of it. Its score (0 to 1) adds up what speaks for a duplicate, and each
part is named in ``reasons`` so an agent sees why it is suggested:

* the subjects, stripped of reply prefixes and ticket numbers, are alike (up to 0.6: the
  larger of the share of common words and the character-level similarity);
* the same customer (0.3), or the same organisation (0.15);
* recency: opened close in time (up to 0.1, falling to 0 at the edge of the window).

Candidates scoring below ``threshold`` are left out; the best come first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from difflib import SequenceMatcher

import attrs

from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket

__all__ = ["DuplicateSuggestion", "normalised_subject", "subject_similarity",
           "suggest_duplicates"]

_PREFIX = re.compile(r"^\s*((re|aw|wg|fw|fwd|odp|sv|vs|antw|tr|r)\s*(\[\d+\])?\s*:\s*)+",
                     re.IGNORECASE)
_BRACKETED = re.compile(r"\[[^\]]{1,40}\]")
_WORD = re.compile(r"\w+")


@attrs.frozen
class DuplicateSuggestion:
    ticket_id: str
    number: str
    subject: str
    score: float
    reasons: tuple[str, ...]


def normalised_subject(subject: str) -> str:
    """Lower case, without reply prefixes (Re:, AW:, Odp: …), bracketed tokens such as a
    ticket number, or punctuation."""
    text = _BRACKETED.sub(" ", _PREFIX.sub("", subject))
    return " ".join(_WORD.findall(text.casefold()))


def subject_similarity(a: str, b: str) -> float:
    """0 to 1: the larger of the share of common words and the character-level ratio."""
    left, right = normalised_subject(a), normalised_subject(b)
    if not left or not right:
        return 0.0
    words_a, words_b = set(left.split()), set(right.split())
    jaccard = len(words_a & words_b) / len(words_a | words_b)
    return max(jaccard, SequenceMatcher(None, left, right).ratio())


def suggest_duplicates(ticket: Ticket, candidates: Iterable[Ticket], *,
                       window: timedelta = timedelta(days=14), threshold: float = 0.45,
                       limit: int = 5) -> list[DuplicateSuggestion]:
    found: list[DuplicateSuggestion] = []
    for other in candidates:
        if (other.id == ticket.id or not other.status_category.is_active
                or other.status_category is StatusCategory.MERGED):
            continue
        apart = abs(ticket.created_at - other.created_at)
        if apart > window:
            continue
        reasons: list[str] = []
        score = 0.0
        similar = subject_similarity(ticket.subject, other.subject)
        if similar > 0.3:
            score += 0.6 * similar
            reasons.append(f"similar subject ({round(similar * 100)} %)")
        if ticket.customer_id is not None and ticket.customer_id == other.customer_id:
            score += 0.3
            reasons.append("same customer")
        elif (ticket.organisation_id is not None
              and ticket.organisation_id == other.organisation_id):
            score += 0.15
            reasons.append("same organisation")
        recency = 1 - apart / window if window else 1.0
        score += 0.1 * recency
        if reasons and score >= threshold:
            hours = apart.total_seconds() / 3600
            reasons.append(f"opened {hours:.0f} h apart" if hours >= 1 else
                           "opened within the hour")
            found.append(DuplicateSuggestion(other.id, other.number, other.subject,
                                             round(min(score, 1.0), 3), tuple(reasons)))
    found.sort(key=lambda s: (-s.score, s.number))
    return found[:limit]
