"""Values exchanged with extension points: classifications, assignment proposals, follow-ups.

Plugins return these from hooks; the rules that combine them are pure functions here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import attrs

from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import EntityRef, Priority, tag_set, validate_tag
from helpdesk_core.errors import ValidationError

__all__ = [
    "AssignmentProposal",
    "AssignmentResolver",
    "Classification",
    "FollowUpAction",
    "FollowUpRequest",
    "KeywordRule",
    "combine_classifications",
]


@attrs.frozen
class Classification:
    """A classifier's suggestion. Unset attributes mean "no opinion"."""

    source: str
    incident_type: str | None = None
    priority: Priority | None = None
    team: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=tag_set)
    confidence: float = 1.0
    reason: str = ""


def combine_classifications(suggestions: Iterable[Classification]) -> Classification:
    """Per attribute, the most confident suggestion wins (ties: the earlier one); tags add up."""
    best: dict[str, tuple[float, Any, str]] = {}
    tags: set[str] = set()
    reasons: list[str] = []
    for s in suggestions:
        tags |= s.tags
        if s.reason:
            reasons.append(f"{s.source}: {s.reason}")
        for name in ("incident_type", "priority", "team"):
            value = getattr(s, name)
            if value is not None and (name not in best or s.confidence > best[name][0]):
                best[name] = (s.confidence, value, s.source)
    return Classification(
        source="+".join(sorted({v[2] for v in best.values()})) or "none",
        incident_type=best.get("incident_type", (0, None, ""))[1],
        priority=best.get("priority", (0, None, ""))[1],
        team=best.get("team", (0, None, ""))[1],
        tags=frozenset(tags),
        confidence=min((v[0] for v in best.values()), default=1.0),
        reason="; ".join(reasons),
    )


def _words(values: object, field: str) -> tuple[str, ...]:
    # A bare string is a collection of characters to Python; here it is always a mistake.
    if isinstance(values, str) or not isinstance(values, tuple | list | frozenset | set):
        raise ValidationError("must be a list of words, not a single string", field=field)
    words = tuple(values)
    if not all(isinstance(w, str) and w.strip() for w in words):
        raise ValidationError("must contain non-empty text", field=field)
    return words


def _keywords(values: object) -> tuple[str, ...]:
    return _words(values, "keywords")


def _tags(values: object) -> tuple[str, ...]:
    """Normalised as a ticket's tags are, so a rule's bad tag is refused when the rule is
    made, not when a message matches it."""
    return tuple(dict.fromkeys(validate_tag(t) for t in _words(values, "tags")))


@attrs.frozen
class KeywordRule:
    """The built-in classifier: if any keyword occurs in the text, suggest these values."""

    keywords: tuple[str, ...] = attrs.field(converter=_keywords)
    incident_type: str | None = None
    priority: Priority | None = None
    team: str | None = None
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)

    def classify(self, text: str) -> Classification | None:
        folded = text.casefold()
        hit = next((k for k in self.keywords if k.casefold() in folded), None)
        if hit is None:
            return None
        return Classification(
            source="rules", incident_type=self.incident_type, priority=self.priority,
            team=self.team, tags=frozenset(self.tags), confidence=0.5,
            reason=f"keyword {hit!r}",
        )


@attrs.frozen
class AssignmentProposal:
    """A resolver's answer: who should get the ticket, and why."""

    resolver: str
    assignee: str | None
    team: str | None = None
    reason: str = ""


class AssignmentResolver(Protocol):
    """One step of the assignment chain. Returns None when it has no answer."""

    name: str

    def propose(self, ticket: Ticket) -> AssignmentProposal | None: ...


@attrs.frozen
class FollowUpRequest:
    """What a follow-up action (exchange, RMA, repair, refund) receives, prefilled."""

    action: str
    ticket_id: str
    ticket_number: str
    customer_id: str | None
    links: tuple[EntityRef, ...]
    data: Mapping[str, Any] = attrs.field(factory=dict)


class FollowUpAction(Protocol):
    """A process the host runs for a ticket; returns the host record it created."""

    key: str
    label: str

    def start(self, request: FollowUpRequest) -> EntityRef: ...
