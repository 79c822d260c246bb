"""Who works on the helpdesk: agents, teams, absences, working hours — and who can take a
ticket at a given instant.

Everything here is a frozen value or a pure function. Time comes in as an argument; working
hours are evaluated on the wall clock of the agent's own IANA zone.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from helpdesk_core.domain.values import base_language, language_tag
from helpdesk_core.errors import UnknownStaff, ValidationError

__all__ = [
    "BUILTIN_RESOLVERS",
    "DEFAULT_CHAIN",
    "HOOK_RESOLVERS",
    "Absence",
    "Agent",
    "AgentScope",
    "HelpdeskStaff",
    "Role",
    "Team",
    "TeamStrategy",
    "WeeklyInterval",
    "WorkingHours",
    "ensure_listed",
    "round_robin_pick",
    "skill_match",
    "unavailability",
]

# The default assignment chain, in the order the resolvers are asked.
DEFAULT_CHAIN = ("incident_type", "account_owner", "channel_owner", "helpdesk_owner")
# Built-in resolvers a chain may name; "ticket_team" is available but not in the default.
BUILTIN_RESOLVERS = frozenset({*DEFAULT_CHAIN, "ticket_team"})
# In a chain: where the hook resolvers not named on their own are asked (default: at the end).
HOOK_RESOLVERS = "hooks"

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MINUTES = 24 * 60
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def _minutes(text: str) -> int:
    match = _TIME.match(text.strip())
    if not match or int(match[2]) >= 60 or int(match[1]) * 60 + int(match[2]) > _DAY_MINUTES:
        raise ValidationError(f"{text!r} is not a time of day like 08:30", field="working_hours")
    return int(match[1]) * 60 + int(match[2])


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {value!r}", field="zone") from None
    return value


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("must carry a time zone", field=field)
    return value


@attrs.frozen(order=True)
class WeeklyInterval:
    """``weekday`` 0 = Monday; minutes since local midnight, ``start < end <= 1440``."""

    weekday: int
    start: int
    end: int

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValidationError("weekday must be 0 (Monday) .. 6 (Sunday)", field="weekday")
        if not 0 <= self.start < self.end <= _DAY_MINUTES:
            raise ValidationError("an interval must end after it starts", field="working_hours")

    def describe(self) -> str:
        def hm(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"

        return f"{WEEKDAYS[self.weekday]} {hm(self.start)}-{hm(self.end)}"


def _sorted(values: Iterable[WeeklyInterval]) -> tuple[WeeklyInterval, ...]:
    return tuple(sorted(values))


@attrs.frozen
class WorkingHours:
    """When an agent works, as weekly intervals on the wall clock of ``zone``."""

    zone: str = attrs.field(default="UTC", converter=_zone)
    intervals: tuple[WeeklyInterval, ...] = attrs.field(default=(), converter=_sorted)

    @classmethod
    def weekly(cls, zone: str, days: Mapping[str, str]) -> WorkingHours:
        """``{"mon-fri": "08:00-12:00, 12:30-16:30", "sat": "09:00-12:00"}``.

        An interval that ends before it starts runs past midnight into the next day
        (``"22:00-06:00"``); ``24:00`` is the end of the day.
        """
        intervals: list[WeeklyInterval] = []
        for span, hours in days.items():
            for day in _days(span):
                for part in hours.split(","):
                    if not part.strip():
                        continue
                    start_text, sep, end_text = part.partition("-")
                    if not sep:
                        raise ValidationError(f"{part!r} is not an interval like 08:00-16:00",
                                              field="working_hours")
                    start, end = _minutes(start_text), _minutes(end_text)
                    if end > start:
                        intervals.append(WeeklyInterval(day, start, end))
                    elif start != end:  # overnight: split at midnight
                        intervals.append(WeeklyInterval(day, start, _DAY_MINUTES))
                        if end:
                            intervals.append(WeeklyInterval((day + 1) % 7, 0, end))
                    else:
                        raise ValidationError(f"{part!r} is empty", field="working_hours")
        return cls(zone=zone, intervals=tuple(intervals))

    def contains(self, at: datetime) -> bool:
        local = _aware(at, "at").astimezone(ZoneInfo(self.zone))
        minute = local.hour * 60 + local.minute
        return any(i.weekday == local.weekday() and i.start <= minute < i.end
                   for i in self.intervals)

    def local(self, at: datetime) -> datetime:
        return _aware(at, "at").astimezone(ZoneInfo(self.zone))


def _days(span: str) -> list[int]:
    days: list[int] = []
    for part in span.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValidationError(f"{span!r}: days are mon, tue ... sun", field="working_hours")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return days


def _words(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise ValidationError("must be a list of words, not a single string", field="skills")
    return frozenset(v.strip().casefold() for v in values if v.strip())


def _languages(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise ValidationError("must be a list of language codes, not a single string",
                              field="languages")
    return frozenset(language_tag(v, field="languages") for v in values)


class Role(enum.Enum):
    """What an agent may do, each role everything the one below it may, and more:

    - ``read_only``: read tickets, their history and the queue, preview templates;
    - ``light_agent``: also write internal notes (and upload files for them);
    - ``agent``: also answer customers and work tickets (status, assignment, merge ...);
    - ``supervisor``: also manage templates and run the background work;
    - ``admin``: also configure the helpdesk (incident types and other settings).

    Which role an action needs is :data:`helpdesk_core.domain.access.LEAST_ROLE`.
    """

    READ_ONLY = "read_only"
    LIGHT_AGENT = "light_agent"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {role: rank for rank, role in enumerate(Role)}


def _role(value: object) -> Role:
    try:
        return value if isinstance(value, Role) else Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValidationError(f"{value!r} is not one of {known}", field="role") from None


class AgentScope(enum.Enum):
    """Which tickets an agent sees and works on:

    - ``all``: every ticket (the default);
    - ``teams``: only tickets whose ``team`` is one of the agent's ``teams``, and tickets
      assigned to the agent. Any other ticket is, for them, a ticket that does not exist.

    It is data, whatever the role: a supervisor may be limited to their teams, an agent not.
    """

    ALL = "all"
    TEAMS = "teams"


def _scope(value: object) -> AgentScope:
    try:
        return value if isinstance(value, AgentScope) else AgentScope(value)
    except ValueError:
        known = ", ".join(s.value for s in AgentScope)
        raise ValidationError(f"{value!r} is not one of {known}", field="sees") from None


def _ids(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValidationError("must be a list, not a single string", field="members")
    return tuple(values)


def _required(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("must not be empty", field=attribute.name)


@attrs.frozen
class Agent:
    """A person who can be assigned tickets. ``working_hours=None`` means "any time".
    ``role`` says what they may do (:class:`Role`; the access policy asks it), ``sees`` which
    tickets (:class:`AgentScope`: all of them, or their teams' and their own)."""

    id: str = attrs.field(validator=_required)
    name: str = ""
    teams: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_words)
    languages: frozenset[str] = attrs.field(default=frozenset(), converter=_languages)
    active: bool = True
    working_hours: WorkingHours | None = None
    role: Role = attrs.field(default=Role.AGENT, converter=_role)
    sees: AgentScope = attrs.field(default=AgentScope.ALL, converter=_scope)

    @property
    def visible_teams(self) -> frozenset[str] | None:
        """The teams whose tickets the agent sees; None when they see every ticket."""
        return frozenset(self.teams) if self.sees is AgentScope.TEAMS else None


def _aware_start(value: datetime) -> datetime:
    return _aware(value, "start")


def _aware_end(value: datetime) -> datetime:
    return _aware(value, "end")


@attrs.frozen
class Absence:
    """An agent is away (holiday, sick leave, training) from ``start`` up to ``end``."""

    agent_id: str
    start: datetime = attrs.field(converter=_aware_start)
    end: datetime = attrs.field(converter=_aware_end)
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationError("an absence must end after it starts", field="end")

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


class TeamStrategy(enum.Enum):
    """How a team hands a ticket to one of its members."""

    ROUND_ROBIN = "round_robin"  # take turns, in member order
    LEAST_LOAD = "least_load"  # fewest active tickets; ties by member order
    SKILLS = "skills"  # best language/skill match; ties by load, then round-robin


@attrs.frozen
class Team:
    key: str = attrs.field(validator=_required)
    name: str = ""
    members: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    strategy: TeamStrategy = attrs.field(default=TeamStrategy.ROUND_ROBIN,
                                         converter=TeamStrategy)
    lead: str | None = None


def _folded(text: str) -> str:
    """``text`` for comparing names: no accents, case or extra spaces ("Jana  NOVÁKOVÁ" is
    "jana novakova")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def ensure_listed(kind: str, value: str, listed: Sequence[tuple[str, str]], *,
                  field: str) -> str:
    """``value`` when it is one of the ids (or keys) of ``listed`` — ``(id, display name)``
    pairs of the agents or teams a staff directory lists — or when ``listed`` is empty (no
    staff configured: any id is taken as given). Otherwise :class:`UnknownStaff` on
    ``field``, suggesting the ids whose display name or id is ``value`` but for case,
    accents and spacing ("Jana Nováková" → ``jana``)."""
    if not listed or any(key == value for key, _ in listed):
        return value
    raise UnknownStaff(kind, value, field=field, suggestions=_suggestions(value, listed))


def _suggestions(value: str, listed: Sequence[tuple[str, str]]) -> list[str]:
    wanted = _folded(value)
    return [key for key, name in listed if wanted in (_folded(key), _folded(name))]


def _chain(values: Iterable[str]) -> tuple[str, ...]:
    names = _ids(values)
    if not names or len(set(names)) != len(names) or not all(n.strip() for n in names):
        raise ValidationError("the chain must name each resolver once", field="chain")
    return names


def _agents(values: Iterable[Agent]) -> tuple[Agent, ...]:
    return tuple(values)


def _teams(values: Iterable[Team]) -> tuple[Team, ...]:
    return tuple(values)


def _absences(values: Iterable[Absence]) -> tuple[Absence, ...]:
    return tuple(values)


@attrs.frozen
class HelpdeskStaff:
    """The people side of the helpdesk, as configuration: who works here, in which teams,
    when they are away, who owns the helpdesk as a whole, and the order of the chain.

    ``chain`` names built-in resolvers (``incident_type``, ``account_owner``,
    ``channel_owner``, ``helpdesk_owner``, ``ticket_team``) and hook resolvers by name;
    ``"hooks"`` marks where the other hook resolvers are asked (default: after the chain).
    """

    agents: tuple[Agent, ...] = attrs.field(default=(), converter=_agents)
    teams: tuple[Team, ...] = attrs.field(default=(), converter=_teams)
    absences: tuple[Absence, ...] = attrs.field(default=(), converter=_absences)
    helpdesk_owner: str | None = None
    helpdesk_team: str | None = None
    chain: tuple[str, ...] = attrs.field(default=DEFAULT_CHAIN, converter=_chain)

    def __attrs_post_init__(self) -> None:
        """Every agent and team it names is one it lists: team members and the helpdesk
        team always; leads, absences and the helpdesk owner once any agent is listed, an
        agent's teams once any team is (with nobody listed, ids are taken as given)."""
        ids = [a.id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise ValidationError("agent ids must be unique", field="agents")
        keys = [t.key for t in self.teams]
        if len(set(keys)) != len(keys):
            raise ValidationError("team keys must be unique", field="teams")
        agents = [(a.id, a.name) for a in self.agents]
        teams = [(t.key, t.name) for t in self.teams]
        for team in self.teams:
            for member in team.members:
                if member not in ids:
                    raise UnknownStaff("agent", member, field=f"teams.{team.key}.members",
                                       suggestions=_suggestions(member, agents))
            if team.lead is not None:
                ensure_listed("agent", team.lead, agents, field=f"teams.{team.key}.lead")
        if self.helpdesk_team is not None and self.helpdesk_team not in keys:
            raise UnknownStaff("team", self.helpdesk_team, field="helpdesk_team",
                               suggestions=_suggestions(self.helpdesk_team, teams))
        if self.helpdesk_owner is not None:
            ensure_listed("agent", self.helpdesk_owner, agents, field="helpdesk_owner")
        for absence in self.absences:
            ensure_listed("agent", absence.agent_id, agents, field="absences")
        for agent in self.agents:
            for key in agent.teams:
                ensure_listed("team", key, teams, field=f"agents.{agent.id}.teams")

    def agent(self, agent_id: str) -> Agent | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def team(self, key: str) -> Team | None:
        return next((t for t in self.teams if t.key == key), None)

    def members(self, key: str) -> list[Agent]:
        """The team's members in its own order, then agents who name the team, by id."""
        team = self.team(key)
        listed = list(team.members) if team else []
        extra = sorted(a.id for a in self.agents if key in a.teams and a.id not in listed)
        by_id = {a.id: a for a in self.agents}
        return [by_id[i] for i in [*listed, *extra] if i in by_id]


def unavailability(agent: Agent, at: datetime, absences: Iterable[Absence]) -> str | None:
    """Why ``agent`` cannot take a ticket at ``at``, or None when they can."""
    if not agent.active:
        return "inactive"
    for absence in absences:
        if absence.agent_id == agent.id and absence.covers(at):
            why = f"absent until {absence.end.isoformat()}"
            return f"{why} ({absence.reason})" if absence.reason else why
    hours = agent.working_hours
    if hours is not None and not hours.contains(at):
        local = hours.local(at)
        return (f"outside working hours ({WEEKDAYS[local.weekday()]} "
                f"{local:%H:%M} {hours.zone})")
    return None


def skill_match(agent: Agent, *, language: str | None, tags: Iterable[str],
                incident_type: str | None) -> list[str]:
    """What of the ticket the agent covers: ``language:cs``, ``tag:x``, ``incident_type:y``.

    An agent's language covers the ticket's language, or the ticket's regional form of it
    (an agent who speaks ``pt`` covers a ``pt-BR`` ticket). A skill matches a tag, or the
    incident type or one of its ancestors (a ``complaint`` skill covers
    ``complaint/damaged``).
    """
    matched: list[str] = []
    if language and (language in agent.languages
                     or base_language(language) in agent.languages):
        matched.append(f"language:{language}")
    for tag in sorted({t.casefold() for t in tags} & agent.skills):
        matched.append(f"tag:{tag}")
    if incident_type:
        parts = incident_type.casefold().split("/")
        for depth in range(len(parts), 0, -1):
            key = "/".join(parts[:depth])
            if key in agent.skills:
                matched.append(f"incident_type:{key}")
                break
    return matched


def round_robin_pick(candidates: Sequence[str], position: int) -> str:
    """The candidate whose turn ``position`` (1, 2, 3 ... from a sequence) is."""
    if not candidates:
        raise ValueError("no candidates")
    return candidates[(position - 1) % len(candidates)]
