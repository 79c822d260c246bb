"""SLA policies: targets per priority, escalation levels, and the rules that choose a policy.

A :class:`SlaPolicy` holds up to four :class:`SlaTarget` s (first response, next response,
periodic update, resolution), each with a business-time duration per :class:`Priority`, the
:class:`BusinessCalendar` they are measured in, who is responsible, and the escalation levels:
fractions of a target at which someone is notified.

A :class:`PolicySelector` picks the policy of a ticket from an ordered list of
:class:`PolicyRule` s: the first matching rule wins, and the answer (:class:`PolicyChoice`) says
which rule and why. :meth:`PolicySelector.standard` orders the usual rules: contract, customer
and organisation overrides first, then incident types from the most specific node up to its
ancestors (``complaint/damaged`` inherits from ``complaint``), then a default.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TypeVar

import attrs

from helpdesk_core.domain.values import EntityKind, EntityRef, Priority
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.sla.calendar import BusinessCalendar

__all__ = [
    "EscalationLevel",
    "NotifyChannel",
    "PolicyChoice",
    "PolicyRule",
    "PolicySelector",
    "PolicySubject",
    "Recipient",
    "SlaPolicy",
    "SlaTarget",
    "SlaTerms",
    "TargetKind",
]


class TargetKind(enum.Enum):
    """What a target measures; see docs/explanation/sla.md for the exact rules."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


_E = TypeVar("_E", bound=enum.Enum)


def _enum(kind: type[_E], value: object) -> _E:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(str(member.value) for member in kind)
        raise ConfigurationError(f"{value!r} is not one of {names}") from None


def _durations(value: Mapping[Priority | str, timedelta]) -> Mapping[Priority, timedelta]:
    result: dict[Priority, timedelta] = {}
    for key, duration in value.items():
        priority = key if isinstance(key, Priority) else _enum(Priority, key)
        if not isinstance(duration, timedelta) or duration <= timedelta(0):
            raise ConfigurationError(f"the {priority.value} duration must be a positive timedelta")
        result[priority] = duration
    return result


class NotifyChannel(enum.Enum):
    EMAIL = "email"
    SMS = "sms"


# Roles the notifier resolves when a level fires; hosts may add their own names.
ROLES = frozenset({"assignee", "team_lead", "helpdesk_manager", "responsible"})
_ROLE = re.compile(r"[a-z][a-z0-9_]{0,39}")


@attrs.frozen
class Recipient:
    """Who is notified: a role resolved when the level fires (``assignee``, ``team_lead``,
    ``helpdesk_manager``, ``responsible`` or a host's own role) or an explicit person (an
    agent id)."""

    role: str | None = None
    person: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.role is None) == (self.person is None):
            raise ConfigurationError("a recipient is either a role or a person")
        if self.role is not None and not _ROLE.fullmatch(self.role):
            raise ConfigurationError(f"role {self.role!r} must be snake_case, e.g. {min(ROLES)}")

    @classmethod
    def of_role(cls, role: str) -> Recipient:
        return cls(role=role)

    @classmethod
    def of_person(cls, person: str) -> Recipient:
        return cls(person=person)

    def __str__(self) -> str:
        return self.role if self.role is not None else f"person {self.person}"


def _recipients(value: Iterable[Recipient | str]) -> tuple[Recipient, ...]:
    """Plain strings name roles: ``("assignee", "team_lead")``."""
    return tuple(r if isinstance(r, Recipient) else Recipient.of_role(r) for r in value)


def _channels(value: Iterable[NotifyChannel | str]) -> tuple[NotifyChannel, ...]:
    return tuple(_enum(NotifyChannel, c) for c in value)


@attrs.frozen
class EscalationLevel:
    """At ``fraction`` of a target's duration (0.75, 1.0, 1.5 ...), notify ``notify`` by
    ``channels``. A fraction is of business time, so pauses push a level later."""

    fraction: float
    notify: tuple[Recipient, ...] = attrs.field(converter=_recipients)
    channels: tuple[NotifyChannel, ...] = attrs.field(
        default=(NotifyChannel.EMAIL,), converter=_channels)
    name: str = ""

    def __attrs_post_init__(self) -> None:
        if not 0 < self.fraction <= 100:
            raise ConfigurationError("an escalation fraction must be above 0")
        if not self.notify or not self.channels:
            raise ConfigurationError("an escalation level needs recipients and a channel")

    @property
    def label(self) -> str:
        return self.name or f"{self.fraction:.0%}"


def _target_kind(value: TargetKind | str) -> TargetKind:
    return _enum(TargetKind, value)


@attrs.frozen
class SlaTarget:
    """One measured promise. A priority missing from ``durations`` has no such target."""

    # Given as text ("resolution") too; a typo is refused instead of measuring nothing.
    kind: TargetKind = attrs.field(converter=_target_kind)
    durations: Mapping[Priority, timedelta] = attrs.field(converter=_durations, hash=False)
    # None: the policy's levels apply; () switches escalation off for this target.
    escalation: tuple[EscalationLevel, ...] | None = None

    def duration_for(self, priority: Priority) -> timedelta | None:
        return self.durations.get(priority)

    @classmethod
    def uniform(cls, kind: TargetKind | str, duration: timedelta) -> SlaTarget:
        """The same duration for every priority."""
        return cls(kind, dict.fromkeys(Priority, duration))


def _targets(value: Iterable[SlaTarget]) -> tuple[SlaTarget, ...]:
    targets = tuple(value)
    kinds = [t.kind for t in targets]
    if len(set(kinds)) != len(kinds):
        raise ConfigurationError("a policy has at most one target of each kind")
    return targets


def _levels(value: Iterable[EscalationLevel]) -> tuple[EscalationLevel, ...]:
    levels = tuple(sorted(value, key=lambda level: level.fraction))
    fractions = [level.fraction for level in levels]
    if len(set(fractions)) != len(fractions):
        raise ConfigurationError("two escalation levels at the same fraction")
    return levels


@attrs.frozen
class SlaPolicy:
    """Targets measured in ``calendar``; ``responsible``/``team`` own tickets under it."""

    name: str
    calendar: BusinessCalendar
    targets: tuple[SlaTarget, ...] = attrs.field(default=(), converter=_targets)
    escalation: tuple[EscalationLevel, ...] = attrs.field(default=(), converter=_levels)
    responsible: str | None = None
    team: str | None = None

    def target(self, kind: TargetKind) -> SlaTarget | None:
        for target in self.targets:
            if target.kind is kind:
                return target
        return None

    def levels_for(self, kind: TargetKind) -> tuple[EscalationLevel, ...]:
        target = self.target(kind)
        if target is None:
            return ()
        return self.escalation if target.escalation is None else _levels(target.escalation)

    @property
    def terms(self) -> SlaTerms:
        """What deadlines under this policy are computed from (see :class:`SlaTerms`)."""
        return SlaTerms(self.name, _targets_digest(self.targets), self.calendar.fingerprint)


def _targets_digest(targets: Iterable[SlaTarget]) -> str:
    """A digest of the durations of ``targets``: equal in every process for equal targets.
    Escalation levels are left out; they move no deadline."""
    micro = timedelta(microseconds=1)
    text = ";".join(
        f"{target.kind.value}:" + ",".join(
            f"{priority.value}={duration // micro}"
            for priority, duration in sorted(target.durations.items(),
                                             key=lambda item: item[0].value))
        for target in sorted(targets, key=lambda t: t.kind.value))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@attrs.frozen
class SlaTerms:
    """What a ticket's deadlines were computed from: the chosen policy's name (None: no policy)
    and digests of its targets' durations and of its calendar. The ticket's SLA record keeps
    them, so that when a deadline moves without the ticket changing, the SLA can say what moved
    it. A digest that is None is not known (a record stored before digests were kept)."""

    policy: str | None = None
    targets: str | None = None
    calendar: str | None = None

    @classmethod
    def of(cls, policy: SlaPolicy | None) -> SlaTerms:
        return cls() if policy is None else policy.terms

    def moved_since(self, before: SlaTerms) -> str | None:
        """What changed from ``before`` to these terms, in words — ``policy 'gold contract' →
        'damaged goods'``, ``targets changed``, ``calendar changed`` — or None when nothing did,
        or when ``before`` does not say."""
        if before.policy != self.policy:
            if before.policy is None:
                return f"policy {self.policy!r} applies, none did before"
            if self.policy is None:
                return f"policy {before.policy!r} no longer applies"
            return f"policy {before.policy!r} → {self.policy!r}"
        changed = [what for what, old, new in (("targets", before.targets, self.targets),
                                               ("calendar", before.calendar, self.calendar))
                   if old is not None and old != new]
        return " and ".join(changed) + " changed" if changed else None


@attrs.frozen
class PolicySubject:
    """What policy selection looks at, taken from a ticket."""

    incident_type: str | None = None
    customer_id: str | None = None
    organisation_id: str | None = None
    contracts: frozenset[EntityRef] = frozenset()

    @classmethod
    def of(cls, ticket: object) -> PolicySubject:
        """From anything shaped like a Ticket (incident_type, customer_id, organisation_id,
        links); the ticket's contract links count as its contracts."""
        links: Iterable[EntityRef] = getattr(ticket, "links", ())
        return cls(
            incident_type=getattr(ticket, "incident_type", None),
            customer_id=getattr(ticket, "customer_id", None),
            organisation_id=getattr(ticket, "organisation_id", None),
            contracts=frozenset(r for r in links if r.kind is EntityKind.CONTRACT),
        )


def _in_subtree(key: str | None, root: str) -> bool:
    return key is not None and (key == root or key.startswith(root + "/"))


@attrs.frozen
class PolicyRule:
    """Conditions (all given ones must hold; none given matches every ticket) → a policy.

    ``incident_type`` matches the node and its whole subtree.
    """

    policy: SlaPolicy
    name: str = ""
    incident_type: str | None = None
    customer_id: str | None = None
    organisation_id: str | None = None
    contract: EntityRef | None = None

    def __attrs_post_init__(self) -> None:
        if self.contract is not None and self.contract.kind is not EntityKind.CONTRACT:
            raise ConfigurationError(f"{self.contract} is not a contract")

    def matches(self, subject: PolicySubject) -> bool:
        return (
            (self.contract is None or self.contract in subject.contracts)
            and (self.customer_id is None or self.customer_id == subject.customer_id)
            and (self.organisation_id is None
                 or self.organisation_id == subject.organisation_id)
            and (self.incident_type is None
                 or _in_subtree(subject.incident_type, self.incident_type))
        )

    def describe(self, subject: PolicySubject) -> str:
        """Why this rule matches ``subject``, in words."""
        parts = []
        if self.contract is not None:
            parts.append(f"contract {self.contract}")
        if self.customer_id is not None:
            parts.append(f"customer {self.customer_id}")
        if self.organisation_id is not None:
            parts.append(f"organisation {self.organisation_id}")
        if self.incident_type is not None:
            inherited = subject.incident_type != self.incident_type
            parts.append(f"incident type {self.incident_type}" + (
                f" (inherited by {subject.incident_type})" if inherited else ""))
        what = " and ".join(parts) or "every ticket (default)"
        named = f"rule {self.name!r}: " if self.name else ""
        return f"{named}{what} → policy {self.policy.name!r}"


@attrs.frozen
class PolicyChoice:
    """The chosen policy, the rule that chose it and why."""

    policy: SlaPolicy
    reason: str
    rule: PolicyRule


def _rules(value: Iterable[PolicyRule]) -> tuple[PolicyRule, ...]:
    return tuple(value)


@attrs.frozen
class PolicySelector:
    """Ordered rules; the first that matches wins."""

    rules: tuple[PolicyRule, ...] = attrs.field(converter=_rules)

    @classmethod
    def standard(
        cls,
        *,
        overrides: Iterable[PolicyRule] = (),
        by_incident_type: Mapping[str, SlaPolicy] | None = None,
        default: SlaPolicy | None = None,
    ) -> PolicySelector:
        """Overrides (contract, customer, organisation rules) in the order given, then incident
        types deepest node first, so a subtree's own policy beats its ancestor's, then the
        default."""
        typed = sorted((by_incident_type or {}).items(),
                       key=lambda item: (-item[0].count("/"), item[0]))
        rules = [*overrides,
                 *(PolicyRule(policy, name=f"incident type {key}", incident_type=key)
                   for key, policy in typed)]
        if default is not None:
            rules.append(PolicyRule(default, name="default"))
        return cls(tuple(rules))

    @property
    def policies(self) -> tuple[SlaPolicy, ...]:
        """Every policy a rule names, once each, in the order of the rules."""
        return tuple(dict.fromkeys(rule.policy for rule in self.rules))

    def choose(self, subject: PolicySubject) -> PolicyChoice | None:
        """The first matching rule's policy with its reason; None when no rule matches."""
        for rule in self.rules:
            if rule.matches(subject):
                return PolicyChoice(rule.policy, rule.describe(subject), rule)
        return None
