"""The status workflow: a fixed semantic spine with custom statuses mapped onto it.

Everything that reasons about tickets (SLA clocks, the queue, reports, the portal) looks only at
the :class:`StatusCategory`; teams name their own statuses (``awaiting parts``, ``with
supplier``) by mapping each onto one category. Allowed moves are an explicit table of category
pairs; moving between two custom statuses of the same category is always allowed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

import attrs

from helpdesk_core.errors import ConfigurationError, InvalidTransition

__all__ = ["DEFAULT_TRANSITIONS", "Status", "StatusCategory", "Workflow"]


class StatusCategory(enum.Enum):
    NEW = "new"
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WAITING_ON_THIRD_PARTY = "waiting_on_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"
    MERGED = "merged"

    @property
    def is_active(self) -> bool:
        """Work is still expected: the ticket belongs in an agent's queue."""
        return self in _ACTIVE

    @property
    def is_waiting(self) -> bool:
        return self in (StatusCategory.WAITING_ON_CUSTOMER, StatusCategory.WAITING_ON_THIRD_PARTY)


_ACTIVE = frozenset(
    {
        StatusCategory.NEW,
        StatusCategory.OPEN,
        StatusCategory.WAITING_ON_CUSTOMER,
        StatusCategory.WAITING_ON_THIRD_PARTY,
    }
)

_C = StatusCategory
# Category-level moves. MERGED is reached only through merging and left only through undoing
# a merge, never by a plain transition; CLOSED may be reopened (a customer's late reply).
DEFAULT_TRANSITIONS: frozenset[tuple[StatusCategory, StatusCategory]] = frozenset(
    {
        (_C.NEW, _C.OPEN),
        (_C.NEW, _C.WAITING_ON_CUSTOMER),
        (_C.NEW, _C.WAITING_ON_THIRD_PARTY),
        (_C.NEW, _C.RESOLVED),
        (_C.NEW, _C.CLOSED),
        (_C.OPEN, _C.WAITING_ON_CUSTOMER),
        (_C.OPEN, _C.WAITING_ON_THIRD_PARTY),
        (_C.OPEN, _C.RESOLVED),
        (_C.OPEN, _C.CLOSED),
        (_C.WAITING_ON_CUSTOMER, _C.OPEN),
        (_C.WAITING_ON_CUSTOMER, _C.WAITING_ON_THIRD_PARTY),
        (_C.WAITING_ON_CUSTOMER, _C.RESOLVED),
        (_C.WAITING_ON_CUSTOMER, _C.CLOSED),
        (_C.WAITING_ON_THIRD_PARTY, _C.OPEN),
        (_C.WAITING_ON_THIRD_PARTY, _C.WAITING_ON_CUSTOMER),
        (_C.WAITING_ON_THIRD_PARTY, _C.RESOLVED),
        (_C.WAITING_ON_THIRD_PARTY, _C.CLOSED),
        (_C.RESOLVED, _C.OPEN),
        (_C.RESOLVED, _C.CLOSED),
        (_C.CLOSED, _C.OPEN),
    }
)

_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@attrs.frozen
class Status:
    """A named status; ``key`` is stored on tickets, ``category`` gives it meaning."""

    key: str
    category: StatusCategory
    label: str = ""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise ConfigurationError(f"status key {self.key!r} must be snake_case, ≤ 40 chars")


@attrs.frozen
class Workflow:
    """The statuses a deployment uses and which moves between them are allowed.

    Build it with :meth:`default` or :meth:`with_custom`; every category has a built-in status
    whose key is the category's value, so ``"open"`` always exists.
    """

    statuses: Mapping[str, Status]
    transitions: frozenset[tuple[StatusCategory, StatusCategory]] = DEFAULT_TRANSITIONS

    @classmethod
    def default(cls) -> Workflow:
        return cls.with_custom(())

    @classmethod
    def with_custom(
        cls,
        custom: Iterable[Status],
        *,
        transitions: frozenset[tuple[StatusCategory, StatusCategory]] = DEFAULT_TRANSITIONS,
    ) -> Workflow:
        statuses: dict[str, Status] = {
            c.value: Status(c.value, c, c.value.replace("_", " ")) for c in StatusCategory
        }
        for status in custom:
            if status.key in statuses:
                raise ConfigurationError(f"status {status.key!r} is defined twice")
            statuses[status.key] = status
        for source, target in transitions:
            if _C.MERGED in (source, target):
                raise ConfigurationError("merged is entered and left only by (un)merging")
        return cls(statuses=statuses, transitions=transitions)

    def status(self, key: str) -> Status:
        try:
            return self.statuses[key]
        except KeyError:
            raise InvalidTransition("?", key, reason="unknown status") from None

    def check(self, from_key: str, to_key: str) -> Status:
        """Return the target status if the move is allowed, else raise InvalidTransition."""
        target = self.status(to_key)
        source = self.statuses.get(from_key)
        if source is None:
            raise InvalidTransition(from_key, to_key, reason="unknown current status")
        if from_key == to_key:
            raise InvalidTransition(from_key, to_key, reason="already in that status")
        if source.category is target.category and source.category is not _C.MERGED:
            return target
        if (source.category, target.category) not in self.transitions:
            raise InvalidTransition(from_key, to_key)
        return target

    def allowed_targets(self, from_key: str) -> list[Status]:
        """Statuses reachable from ``from_key`` in one move, in definition order."""
        result = []
        for key, status in self.statuses.items():
            try:
                self.check(from_key, key)
            except InvalidTransition:
                continue
            result.append(status)
        return result
