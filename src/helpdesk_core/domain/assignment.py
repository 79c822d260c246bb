"""Choosing who gets a new ticket: the assignment chain as a pure function with a typed trace.

Resolvers are asked in order; the first answer that names someone who can take the ticket now
wins:

- a person who is absent, outside their working hours or inactive is skipped;
- a team (with no person, or after its person was skipped) hands the ticket to one of its
  available members by the team's strategy — round-robin, least load or skills;
- a team without members keeps the ticket in its queue unassigned, and so does a team the
  staff directory does not know when it lists no teams at all (no staff configured);
- a person or a team the directory does not list, where it lists its agents (or teams), is
  skipped: nobody takes a ticket for an id that names no one.

:func:`known_agent` and :func:`known_team` apply the same rule to an id a person or the
configuration gives: it must be one the directory lists, unless it lists none.

:func:`choose` reads the staff through a :class:`StaffView` and asks for round-robin turns and
agents' loads through two callables, so it does no I/O of its own; every step is kept in the
:class:`Decision`'s trace, which the ticket's ASSIGNED (or TEAM_CHANGED) event carries as
plain data (:meth:`Decision.to_dict`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs

from helpdesk_core.domain.extensions import AssignmentProposal, AssignmentResolver
from helpdesk_core.domain.staff import (
    Absence,
    Agent,
    Team,
    TeamStrategy,
    ensure_listed,
    round_robin_pick,
    skill_match,
    unavailability,
)
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import clean_line

__all__ = ["Decision", "ResolverStep", "Skipped", "StaffView", "TeamPick", "choose",
           "known_agent", "known_team"]

log = logging.getLogger("helpdesk_core.assignment")


class StaffView(Protocol):
    """What the chain reads about people (the StaffDirectory port provides it)."""

    def agent(self, agent_id: str) -> Agent | None: ...

    def team(self, key: str) -> Team | None: ...

    def team_members(self, key: str) -> list[Agent]: ...

    def absences(self, at: datetime) -> list[Absence]: ...

    def agents(self) -> list[Agent]: ...

    def teams(self) -> list[Team]: ...


def known_agent(staff: StaffView, agent_id: object, *, field: str = "assignee") -> str:
    """``agent_id`` as a ticket stores it (one clean line), when the staff directory lists
    that agent or lists no agents at all (no staff configured: any id is taken as given);
    otherwise :class:`~helpdesk_core.errors.UnknownStaff` on ``field``, suggesting the id
    of an agent whose name was given instead ("Jana Nováková" → ``jana``)."""
    value = clean_line(agent_id, field=field, max_length=200)
    if staff.agent(value) is not None:
        return value
    return ensure_listed("agent", value, [(a.id, a.name) for a in staff.agents()],
                         field=field)


def known_team(staff: StaffView, key: object, *, field: str = "team") -> str:
    """:func:`known_agent` for a team key."""
    value = clean_line(key, field=field, max_length=200)
    if staff.team(value) is not None:
        return value
    return ensure_listed("team", value, [(t.key, t.name) for t in staff.teams()], field=field)


def _listed(staff: StaffView, kind: str, value: str) -> bool:
    """Whether ``value`` names someone: a listed agent (team), or any id when the directory
    lists no agents (teams)."""
    if kind == "agent":
        return staff.agent(value) is not None or not staff.agents()
    return staff.team(value) is not None or not staff.teams()


@attrs.frozen
class Skipped:
    """An agent (or, with ``kind="team"``, a team) the chain passed over, and why."""

    agent: str
    why: str
    kind: str = "agent"

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: self.agent, "why": self.why}


@attrs.frozen
class TeamPick:
    """How a team chose one of its members."""

    team: str
    strategy: str
    candidates: tuple[str, ...]
    unavailable: tuple[Skipped, ...] = ()
    picked: str | None = None
    why: str | None = None
    position: int | None = None  # the round-robin turn
    loads: Mapping[str, int] | None = None
    matches: Mapping[str, tuple[str, ...]] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"team": self.team, "strategy": self.strategy,
                                "candidates": list(self.candidates)}
        if self.unavailable:
            data["unavailable"] = [u.to_dict() for u in self.unavailable]
        if self.loads is not None:
            data["loads"] = dict(self.loads)
        if self.matches is not None:
            data["matches"] = {k: list(v) for k, v in self.matches.items()}
        if self.position is not None:
            data["position"] = self.position
        data["picked"] = self.picked
        if self.why is not None:
            data["why"] = self.why
        return data


@attrs.frozen
class ResolverStep:
    """One resolver's turn: its answer (or error), who was skipped, how a team picked."""

    resolver: str
    answer: AssignmentProposal | None = None
    error: str | None = None
    skipped: tuple[Skipped, ...] = ()
    team_pick: TeamPick | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"resolver": self.resolver, "error": self.error}
        answer = self.answer
        data: dict[str, Any] = {"resolver": self.resolver, "answer": None if answer is None else {
            "assignee": answer.assignee, "team": answer.team, "reason": answer.reason}}
        if self.skipped:
            data["skipped"] = [s.to_dict() for s in self.skipped]
        if self.team_pick is not None:
            data["team_pick"] = self.team_pick.to_dict()
        return data


@attrs.frozen
class Decision:
    """The chain's answer: who (and/or which team), which resolver won, why, and the trace."""

    winner: str
    assignee: str | None
    team: str | None
    why: str
    trace: tuple[ResolverStep, ...]
    strategy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"winner": self.winner, "why": self.why,
                                "trace": [step.to_dict() for step in self.trace]}
        if self.strategy:
            data["strategy"] = self.strategy
        return data


@attrs.frozen
class _Choice:
    resolver: str
    assignee: str | None
    team: str | None
    why: str
    strategy: str | None = None


def choose(ticket: Ticket, resolvers: Sequence[AssignmentResolver], *, now: datetime,
           staff: StaffView, turn: Callable[[str], int],
           load: Callable[[str], int]) -> Decision | None:
    """Run the chain for ``ticket``. ``turn(team)`` gives the team's next round-robin
    position; ``load(agent)`` how many active tickets the agent holds. None: nobody."""
    trace: list[ResolverStep] = []
    choice: _Choice | None = None
    waiting_team: _Choice | None = None  # a known team with nobody available
    for resolver in resolvers:
        try:
            proposal = resolver.propose(ticket)
        except Exception as exc:  # a host's resolver failing must not lose the ticket
            log.exception("assignment resolver %s failed", resolver.name)
            trace.append(ResolverStep(resolver.name, error=f"{type(exc).__name__}: {exc}"))
            continue
        if proposal is None or not (proposal.assignee or proposal.team):
            trace.append(ResolverStep(resolver.name, answer=proposal))
            continue
        step, choice, waiting = _settle(ticket, proposal, resolver.name, now=now, staff=staff,
                                        turn=turn, load=load)
        trace.append(step)
        waiting_team = waiting_team or waiting
        if choice is not None:
            break
    if choice is None:
        choice = waiting_team
    elif choice.team is None and waiting_team is not None:
        # the person who stands in still works for the team that is responsible
        choice = attrs.evolve(choice, team=waiting_team.team)
    if choice is None:
        return None
    return Decision(winner=choice.resolver, assignee=choice.assignee, team=choice.team,
                    why=choice.why, trace=tuple(trace), strategy=choice.strategy)


def _settle(ticket: Ticket, proposal: AssignmentProposal, name: str, *, now: datetime,
            staff: StaffView, turn: Callable[[str], int], load: Callable[[str], int],
            ) -> tuple[ResolverStep, _Choice | None, _Choice | None]:
    """(the trace step, the choice this answer makes, a team to fall back to)."""
    step = ResolverStep(name, answer=proposal)
    skipped: list[Skipped] = []
    team_key = proposal.team
    if team_key and not _listed(staff, "team", team_key):
        skipped.append(Skipped(team_key, "not in the staff directory", kind="team"))
        team_key = None
    if proposal.assignee:
        agent = staff.agent(proposal.assignee)
        if agent is None and not _listed(staff, "agent", proposal.assignee):
            why_not: str | None = "not in the staff directory"
        else:
            why_not = None if agent is None else unavailability(agent, now,
                                                                staff.absences(now))
        if why_not is None:
            return attrs.evolve(step, skipped=tuple(skipped)), _Choice(
                proposal.resolver, proposal.assignee, team_key, proposal.reason), None
        skipped.insert(0, Skipped(proposal.assignee, why_not))
    step = attrs.evolve(step, skipped=tuple(skipped))
    if not team_key:
        return step, None, None
    team = staff.team(team_key)
    members = staff.team_members(team_key) if team else []
    if team is None or not members:
        # A team without members, or one named where no teams are listed: the ticket
        # waits in the team's queue.
        return step, _Choice(proposal.resolver, None, team_key, proposal.reason), None
    pick = _pick_member(ticket, team, members, now=now, staff=staff, turn=turn, load=load)
    step = attrs.evolve(step, team_pick=pick)
    if pick.picked is None:
        return step, None, _Choice(proposal.resolver, None, team.key,
                                   f"{proposal.reason}; nobody in team {team.key} is "
                                   "available, left in the team's queue")
    return step, _Choice(proposal.resolver, pick.picked, team.key,
                         f"{proposal.reason}; {pick.why}", team.strategy.value), None


def _pick_member(ticket: Ticket, team: Team, members: Sequence[Agent], *, now: datetime,
                 staff: StaffView, turn: Callable[[str], int],
                 load: Callable[[str], int]) -> TeamPick:
    absences = staff.absences(now)
    unavailable = tuple(Skipped(m.id, why) for m in members
                        if (why := unavailability(m, now, absences)))
    skipped = {u.agent for u in unavailable}
    candidates = tuple(m.id for m in members if m.id not in skipped)
    pick = TeamPick(team=team.key, strategy=team.strategy.value, candidates=candidates,
                    unavailable=unavailable)
    if not candidates:
        return pick
    if team.strategy is TeamStrategy.ROUND_ROBIN:
        position = turn(team.key)
        chosen = round_robin_pick(candidates, position)
        return attrs.evolve(pick, position=position, picked=chosen,
                            why=f"round-robin turn {position} in team {team.key}")
    loads = {agent: load(agent) for agent in candidates}
    pick = attrs.evolve(pick, loads=loads)
    if team.strategy is TeamStrategy.LEAST_LOAD:
        chosen = min(candidates, key=lambda a: loads[a])  # ties: member order
        return attrs.evolve(pick, picked=chosen, why=f"fewest open tickets in team "
                                                     f"{team.key} ({loads[chosen]})")
    by_id = {m.id: m for m in members}
    matches = {a: tuple(skill_match(by_id[a], language=ticket.language, tags=ticket.tags,
                                    incident_type=ticket.incident_type)) for a in candidates}
    pick = attrs.evolve(pick, matches=matches)
    best = max(len(v) for v in matches.values())
    tied = [a for a in candidates if len(matches[a]) == best]
    lightest = min(loads[a] for a in tied)
    tied = [a for a in tied if loads[a] == lightest]
    if len(tied) == 1:
        chosen, tie_break = tied[0], ""
    else:
        position = turn(team.key)
        chosen = round_robin_pick(tied, position)
        pick = attrs.evolve(pick, position=position)
        tie_break = f", round-robin turn {position} among {len(tied)} equally suited"
    matched = ", ".join(matches[chosen]) or "no skill matched"
    return attrs.evolve(pick, picked=chosen, why=f"best match in team {team.key} ({matched}; "
                                                 f"{loads[chosen]} open{tie_break})")
