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

from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.values import EntityKind, EntityRef, Priority
from helpdesk_core.errors import ConfigurationError, ValidationError
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
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"a target's durations are a mapping of priority to duration, "
                                 f"not {value!r}; SlaTarget.uniform() gives one to all")
    if not value:
        raise ConfigurationError("a target needs a duration for at least one priority; "
                                 "without any it would measure nothing")
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


def _listed(value: object, what: str, example: str) -> Iterable[object]:
    """A list of ``what``; one text is refused rather than read letter by letter."""
    if isinstance(value, (str, enum.Enum)) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{what} must be a list such as {example}, not {value!r}")
    return value


_T = TypeVar("_T")


def _all(items: Iterable[object], kind: type[_T], what: str) -> tuple[_T, ...]:
    """``items`` when each is a ``kind``; else a ConfigurationError instead of an
    AttributeError where the item is first used."""
    checked = []
    for item in items:
        if not isinstance(item, kind):
            raise ConfigurationError(f"{what} are {kind.__name__}s, not {item!r}")
        checked.append(item)
    return tuple(checked)


def _recipients(value: Iterable[Recipient | str]) -> tuple[Recipient, ...]:
    """Plain strings name roles: ``("assignee", "team_lead")``."""
    items = _listed(value, "an escalation level's recipients", '["assignee"]')
    return tuple(r if isinstance(r, Recipient) else Recipient.of_role(r)  # type: ignore[arg-type]
                 for r in items)


def _channels(value: Iterable[NotifyChannel | str]) -> tuple[NotifyChannel, ...]:
    items = _listed(value, "an escalation level's channels", '["email", "sms"]')
    return tuple(_enum(NotifyChannel, c) for c in items)


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"an escalation fraction is a number such as 0.75, "
                                 f"not {value!r}")
    if not 0 < value <= 100:
        raise ConfigurationError(f"an escalation fraction must be above 0 and at most 100, "
                                 f"not {value!r}")
    return float(value)


@attrs.frozen
class EscalationLevel:
    """At ``fraction`` of a target's duration (0.75, 1.0, 1.5 ...), notify ``notify`` by
    ``channels``. A fraction is of business time, so pauses push a level later."""

    fraction: float = attrs.field(converter=_fraction)
    notify: tuple[Recipient, ...] = attrs.field(converter=_recipients)
    channels: tuple[NotifyChannel, ...] = attrs.field(
        default=(NotifyChannel.EMAIL,), converter=_channels)
    name: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.notify or not self.channels:
            raise ConfigurationError("an escalation level needs recipients and a channel")

    @property
    def label(self) -> str:
        return self.name or f"{self.fraction:.0%}"


def _target_kind(value: TargetKind | str) -> TargetKind:
    return _enum(TargetKind, value)


def _optional_levels(value: Iterable[EscalationLevel] | None
                     ) -> tuple[EscalationLevel, ...] | None:
    return None if value is None else _levels(value)


@attrs.frozen
class SlaTarget:
    """One measured promise. A priority missing from ``durations`` has no such target."""

    # Given as text ("resolution") too; a typo is refused instead of measuring nothing.
    kind: TargetKind = attrs.field(converter=_target_kind)
    durations: Mapping[Priority, timedelta] = attrs.field(converter=_durations, hash=False)
    # None: the policy's levels apply; () switches escalation off for this target. Checked
    # like the policy's levels when built, not when a ticket first needs them.
    escalation: tuple[EscalationLevel, ...] | None = attrs.field(
        default=None, converter=_optional_levels)

    def duration_for(self, priority: Priority) -> timedelta | None:
        return self.durations.get(priority)

    @classmethod
    def uniform(cls, kind: TargetKind | str, duration: timedelta) -> SlaTarget:
        """The same duration for every priority."""
        return cls(kind, dict.fromkeys(Priority, duration))


def _targets(value: Iterable[SlaTarget]) -> tuple[SlaTarget, ...]:
    targets = _all(_listed(value, "a policy's targets", "[SlaTarget.uniform(...)]"),
                   SlaTarget, "a policy's targets")
    kinds = [t.kind for t in targets]
    if len(set(kinds)) != len(kinds):
        raise ConfigurationError("a policy has at most one target of each kind")
    return targets


def _levels(value: Iterable[EscalationLevel]) -> tuple[EscalationLevel, ...]:
    items = _all(_listed(value, "escalation levels", "[EscalationLevel(0.75, [...])]"),
                 EscalationLevel, "escalation levels")
    levels = tuple(sorted(items, key=lambda level: level.fraction))
    fractions = [level.fraction for level in levels]
    if len(set(fractions)) != len(fractions):
        raise ConfigurationError("two escalation levels at the same fraction")
    labels = [level.label for level in levels]
    for label in labels:
        if labels.count(label) > 1:
            # A level fires once per target, cycle and label: the second would never fire.
            raise ConfigurationError(f"two escalation levels are called {label!r}; give them "
                                     "different names, or only the first would ever fire")
    return levels


def _policy_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"an SLA policy needs a name, not {value!r}")
    return value.strip()


def _calendar(value: object) -> BusinessCalendar:
    if not isinstance(value, BusinessCalendar):
        raise ConfigurationError(f"an SLA policy is measured in a BusinessCalendar, not "
                                 f"{value!r}")
    return value


@attrs.frozen
class SlaPolicy:
    """Targets measured in ``calendar``; ``responsible``/``team`` own tickets under it.

    A policy without targets promises nothing: the tickets it is chosen for have no SLA
    deadline and no escalation (a rule's way to exempt some tickets from a default policy).
    Escalation levels need a target to be a fraction of, so such a policy has none.
    """

    name: str = attrs.field(converter=_policy_name)
    calendar: BusinessCalendar = attrs.field(converter=_calendar)
    targets: tuple[SlaTarget, ...] = attrs.field(default=(), converter=_targets)
    escalation: tuple[EscalationLevel, ...] = attrs.field(default=(), converter=_levels)
    responsible: str | None = None
    team: str | None = None
    # Read at every change of every ticket: computed once.
    _terms: SlaTerms = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.escalation and not self.targets:
            raise ConfigurationError(f"SLA policy {self.name!r} has escalation levels but no "
                                     "targets: they would never be reached")
        object.__setattr__(self, "_terms", SlaTerms(
            self.name, _targets_digest(self.targets), self.calendar.fingerprint))

    def target(self, kind: TargetKind) -> SlaTarget | None:
        for target in self.targets:
            if target.kind is kind:
                return target
        return None

    def levels_for(self, kind: TargetKind) -> tuple[EscalationLevel, ...]:
        target = self.target(kind)
        if target is None:
            return ()
        return self.escalation if target.escalation is None else target.escalation

    @property
    def terms(self) -> SlaTerms:
        """What deadlines under this policy are computed from (see :class:`SlaTerms`)."""
        return self._terms


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


def _check_incident_type(key: object) -> None:
    """A rule's incident type must be a key a ticket can have, or the rule never matches."""
    try:
        IncidentType(key, name="rule")  # type: ignore[arg-type]  # checked by IncidentType
    except ValidationError as exc:
        raise ConfigurationError(f"incident type {key!r} of an SLA rule is no incident type "
                                 f"key ({exc}): the rule would never match") from None


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
        if not isinstance(self.policy, SlaPolicy):
            named = " by name" if isinstance(self.policy, str) else ""
            rule = f"rule {self.name!r}" if self.name else "an SLA rule"
            raise ConfigurationError(f"{rule} gives its policy{named} as {self.policy!r}; "
                                     "give the SlaPolicy itself")
        if self.contract is not None and (not isinstance(self.contract, EntityRef)
                                          or self.contract.kind is not EntityKind.CONTRACT):
            raise ConfigurationError(f"{self.contract!r} is not a contract; give "
                                     "EntityRef(EntityKind.CONTRACT, system, id)")
        if self.incident_type is not None:
            _check_incident_type(self.incident_type)

    def covers(self, other: PolicyRule) -> bool:
        """Whether every ticket ``other`` matches is matched by this rule too."""
        return (
            (self.contract is None or self.contract == other.contract)
            and (self.customer_id is None or self.customer_id == other.customer_id)
            and (self.organisation_id is None
                 or self.organisation_id == other.organisation_id)
            and (self.incident_type is None
                 or _in_subtree(other.incident_type, self.incident_type))
        )

    @property
    def label(self) -> str:
        """How messages name the rule: its name, else what it says."""
        return repr(self.name) if self.name else "(" + self.describe(PolicySubject(
            incident_type=self.incident_type)) + ")"

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
    items = tuple(_listed(value, "a selector's rules", "[PolicyRule(policy, ...)]"))
    for item in items:
        if isinstance(item, SlaPolicy):
            raise ConfigurationError(f"a selector's rules are PolicyRules, not the policy "
                                     f"{item.name!r} itself; give PolicyRule(policy)")
    rules = _all(items, PolicyRule, "a selector's rules")
    for index, rule in enumerate(rules):
        for earlier in rules[:index]:
            if earlier.covers(rule):
                raise ConfigurationError(
                    f"rule {rule.label} never applies: rule {earlier.label} before it matches "
                    "every ticket it matches (the first matching rule wins)")
    return rules


@attrs.frozen
class PolicySelector:
    """Ordered rules; the first that matches wins. A rule that could never win, because an
    earlier one matches every ticket it matches, is a ConfigurationError."""

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
        for key in by_incident_type or {}:
            _check_incident_type(key)
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
