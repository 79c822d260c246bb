"""The assignment chain: who gets a new ticket, and a trace of why.

Resolvers are asked in the configured order (``StaffDirectory.chain()``, by default
incident type → account owner → channel owner → helpdesk owner, then the hook resolvers).
The first answer that names someone who can take the ticket now wins:

- a person who is absent, outside their working hours or inactive is skipped;
- a team (with no person, or after its person was skipped) hands the ticket to one of its
  available members by the team's strategy — round-robin, least load or skills;
- a team the staff directory does not know, or one without members, keeps the ticket in its
  queue unassigned, as before there was a staff directory.

Every step is written into the ``reason`` of the ASSIGNED (or TEAM_CHANGED) event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.extensions import AssignmentProposal, AssignmentResolver
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.incident_types import IncidentTypeTree
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.staff import (
    HOOK_RESOLVERS,
    Agent,
    Team,
    TeamStrategy,
    round_robin_pick,
    skill_match,
    unavailability,
)
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.unit import change_ticket, load_ticket
from helpdesk_core.sla import PolicySubject
from helpdesk_core.sla.config import SlaConfig

__all__ = [
    "ASSIGNER",
    "assign_new_ticket",
    "assignment_trace",
    "build_chain",
    "open_load",
    "reassign",
]

log = logging.getLogger("helpdesk_core.assignment")
ASSIGNER = Actor.system("assignment")


# -- the built-in resolvers --------------------------------------------------------------------


class IncidentTypeResponsible:
    """Step 1: who is responsible for the ticket's incident type, else for its SLA policy."""

    name = "incident_type"

    def __init__(self, tree: IncidentTypeTree, sla: SlaConfig | None = None) -> None:
        self.tree = tree
        self.sla = sla

    def propose(self, ticket: Ticket) -> AssignmentProposal | None:
        if ticket.incident_type and ticket.incident_type in self.tree:
            person, team = self.tree.responsible_for(ticket.incident_type)
            if person or team:
                return AssignmentProposal(
                    self.name, person, team,
                    f"responsible for incident type {ticket.incident_type}")
        choice = self.sla.selector.choose(PolicySubject.of(ticket)) if self.sla else None
        if choice is None or not (choice.policy.responsible or choice.policy.team):
            return None
        return AssignmentProposal(self.name, choice.policy.responsible, choice.policy.team,
                                  f"responsible for SLA policy {choice.policy.name}")


class AccountOwner:
    name = "account_owner"

    def __init__(self, customer: Contact | None) -> None:
        self.customer = customer

    def propose(self, ticket: Ticket) -> AssignmentProposal | None:
        if self.customer is None or not self.customer.account_owner:
            return None
        return AssignmentProposal(self.name, self.customer.account_owner, None,
                                  f"account owner of {self.customer.name or self.customer.id}")


class ChannelOwner:
    name = "channel_owner"

    def __init__(self, owner: str | None) -> None:
        self.owner = owner

    def propose(self, ticket: Ticket) -> AssignmentProposal | None:
        if not self.owner:
            return None
        return AssignmentProposal(self.name, self.owner, None,
                                  f"responsible for the {ticket.channel.value} channel")


class HelpdeskOwner:
    name = "helpdesk_owner"

    def __init__(self, person: str | None, team: str | None) -> None:
        self.person, self.team = person, team

    def propose(self, ticket: Ticket) -> AssignmentProposal | None:
        if not (self.person or self.team):
            return None
        return AssignmentProposal(self.name, self.person, self.team, "owner of the helpdesk")


class TicketTeam:
    """Optional step: the team the ticket already has (from the caller, its mail channel or
    the classifier) picks one of its members."""

    name = "ticket_team"

    def propose(self, ticket: Ticket) -> AssignmentProposal | None:
        if not ticket.team:
            return None
        return AssignmentProposal(self.name, None, ticket.team, f"the ticket's team {ticket.team}")


def build_chain(deps: Deps, tree: IncidentTypeTree, customer: Contact | None,
                channel_owner: str | None = None) -> list[AssignmentResolver]:
    """The resolvers in the configured order.

    Each chain name places the built-in resolver of that name and the hook resolvers that
    carry it; ``"hooks"`` places the remaining hook resolvers, which otherwise come last.
    """
    person, team = deps.staff.helpdesk_owner()
    builtin: dict[str, AssignmentResolver] = {
        "incident_type": IncidentTypeResponsible(tree, deps.sla),
        "account_owner": AccountOwner(customer),
        "channel_owner": ChannelOwner(channel_owner),
        "helpdesk_owner": HelpdeskOwner(person, team),
        "ticket_team": TicketTeam(),
    }
    order = deps.staff.chain()
    hooked = deps.hooks.assignment_resolvers()
    unnamed = [r for r in hooked if r.name not in order]
    chain: list[AssignmentResolver] = []
    for name in order:
        if name == HOOK_RESOLVERS:
            chain += unnamed
            continue
        if name in builtin:
            chain.append(builtin[name])
        chain += [r for r in hooked if r.name == name]
    if HOOK_RESOLVERS not in order:
        chain += unnamed
    return chain


# -- running the chain -------------------------------------------------------------------------


@attrs.frozen
class _Choice:
    resolver: str
    assignee: str | None
    team: str | None
    why: str
    strategy: str | None = None


def assign_new_ticket(deps: Deps, uow: UnitOfWork, ticket: Ticket, tree: IncidentTypeTree,
                      customer: Contact | None, channel_owner: str | None = None) -> None:
    """Run the chain for a ticket being built in ``uow`` and record the winner with its trace."""
    now = ticket.updated_at
    trace: list[dict[str, Any]] = []
    choice: _Choice | None = None
    waiting_team: _Choice | None = None  # a known team with nobody available
    for resolver in build_chain(deps, tree, customer, channel_owner):
        try:
            proposal = resolver.propose(ticket)
        except Exception as exc:  # a host's resolver failing must not lose the ticket
            log.exception("assignment resolver %s failed", resolver.name)
            trace.append({"resolver": resolver.name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        entry: dict[str, Any] = {
            "resolver": resolver.name,
            "answer": None if proposal is None else {
                "assignee": proposal.assignee, "team": proposal.team, "reason": proposal.reason},
        }
        trace.append(entry)
        if proposal is None or not (proposal.assignee or proposal.team):
            continue
        choice, waiting = _settle(deps, uow, ticket, proposal, entry, now)
        waiting_team = waiting_team or waiting
        if choice is not None:
            break
    if choice is None:
        choice = waiting_team
    elif choice.team is None and waiting_team is not None:
        # the person who stands in still works for the team that is responsible
        choice = attrs.evolve(choice, team=waiting_team.team)
    if choice is None:
        return
    reason: dict[str, Any] = {"winner": choice.resolver, "why": choice.why, "trace": trace}
    if choice.strategy:
        reason["strategy"] = choice.strategy
    if choice.team and ticket.team is None:
        ticket.set_team(choice.team, at=now, actor=ASSIGNER,
                        reason=None if choice.assignee else reason)
    if choice.assignee:
        ticket.assign(choice.assignee, at=now, actor=ASSIGNER, reason=reason)


def _settle(deps: Deps, uow: UnitOfWork, ticket: Ticket, proposal: AssignmentProposal,
            entry: dict[str, Any], now: datetime) -> tuple[_Choice | None, _Choice | None]:
    """(the choice this answer makes, or a team to fall back to if nothing else answers)."""
    if proposal.assignee:
        agent = deps.staff.agent(proposal.assignee)
        why_not = None if agent is None else unavailability(agent, now, deps.staff.absences(now))
        if why_not is None:
            return _Choice(proposal.resolver, proposal.assignee, proposal.team,
                           proposal.reason), None
        entry["skipped"] = [{"agent": proposal.assignee, "why": why_not}]
        if not proposal.team:
            return None, None
    assert proposal.team is not None
    team = deps.staff.team(proposal.team)
    members = deps.staff.team_members(proposal.team) if team else []
    if team is None or not members:
        # Nobody the directory knows: the ticket waits in the team's queue.
        return _Choice(proposal.resolver, None, proposal.team, proposal.reason), None
    pick = _pick_member(deps, uow, ticket, team, members, now)
    entry["team_pick"] = pick
    if pick.get("picked") is None:
        return None, _Choice(proposal.resolver, None, team.key,
                             f"{proposal.reason}; nobody in team {team.key} is available,"
                             " left in the team's queue")
    return _Choice(proposal.resolver, pick["picked"], team.key,
                   f"{proposal.reason}; {pick['why']}", team.strategy.value), None


def _pick_member(deps: Deps, uow: UnitOfWork, ticket: Ticket, team: Team,
                 members: Sequence[Agent], now: datetime) -> dict[str, Any]:
    absences = deps.staff.absences(now)
    pick: dict[str, Any] = {"team": team.key, "strategy": team.strategy.value}
    unavailable = [{"agent": m.id, "why": why} for m in members
                   if (why := unavailability(m, now, absences))]
    skipped = {u["agent"] for u in unavailable}
    candidates = [m for m in members if m.id not in skipped]
    pick["candidates"] = [m.id for m in candidates]
    if unavailable:
        pick["unavailable"] = unavailable
    if not candidates:
        pick["picked"] = None
        return pick

    if team.strategy is TeamStrategy.ROUND_ROBIN:
        position = uow.sequences.next_value(f"round_robin:{team.key}")
        chosen = round_robin_pick(pick["candidates"], position)
        pick.update(position=position, picked=chosen,
                    why=f"round-robin turn {position} in team {team.key}")
        return pick

    loads = {m.id: open_load(uow, m.id) for m in candidates}
    pick["loads"] = loads
    if team.strategy is TeamStrategy.LEAST_LOAD:
        chosen = min(pick["candidates"], key=lambda a: loads[a])  # ties: member order
        pick.update(picked=chosen, why=f"fewest open tickets in team {team.key} "
                                       f"({loads[chosen]})")
        return pick

    matches = {m.id: skill_match(m, language=ticket.language, tags=ticket.tags,
                                 incident_type=ticket.incident_type) for m in candidates}
    pick["matches"] = matches
    best = max(len(v) for v in matches.values())
    tied = [a for a in pick["candidates"] if len(matches[a]) == best]
    lightest = min(loads[a] for a in tied)
    tied = [a for a in tied if loads[a] == lightest]
    if len(tied) == 1:
        chosen, tie_break = tied[0], ""
    else:
        position = uow.sequences.next_value(f"round_robin:{team.key}")
        chosen = round_robin_pick(tied, position)
        pick["position"] = position
        tie_break = f", round-robin turn {position} among {len(tied)} equally suited"
    matched = ", ".join(matches[chosen]) or "no skill matched"
    pick.update(picked=chosen, why=f"best match in team {team.key} ({matched}; "
                                   f"{loads[chosen]} open{tie_break})")
    return pick


def open_load(uow: UnitOfWork, agent_id: str) -> int:
    """How many active tickets the agent holds, counted from the queue page by page."""
    count, cursor = 0, None
    while True:
        page = uow.tickets.query(TicketQuery.active(assignee=agent_id, limit=500, after=cursor))
        count += len(page.items)
        if page.next_cursor is None:
            return count
        cursor = page.next_cursor


# -- manual reassignment and reading the traces ------------------------------------------------


def reassign(deps: Deps, key: str, assignee: str | None, *, actor: Actor, reason: str = "",
             team: str | None = None, expected_version: int | None = None) -> Ticket:
    """An agent or supervisor gives the ticket to someone else; recorded with the reason and
    the previous assignee. An absent target is allowed (a person decided), but noted."""

    def change(t: Ticket) -> None:
        now = deps.clock.now()
        recorded: dict[str, Any] = {"winner": "manual", "why": reason,
                                    "previous": t.assignee}
        if assignee is not None:
            agent = deps.staff.agent(assignee)
            why_not = (None if agent is None
                       else unavailability(agent, now, deps.staff.absences(now)))
            if why_not:
                recorded["note"] = f"{assignee} is {why_not}"
        if team is not None:
            t.set_team(team, at=now, actor=actor)
        t.assign(assignee, at=now, actor=actor, reason=recorded)

    ticket, _ = change_ticket(deps, key, change, expected_version=expected_version)
    return ticket


def assignment_trace(deps: Deps, key: str) -> list[dict[str, Any]]:
    """Every assignment of the ticket, oldest first, as an agent reads it: when, by whom,
    from whom to whom, the winner and why, and the resolvers' trace."""
    with deps.storage.unit_of_work(read_only=True) as uow:
        history = uow.tickets.history(load_ticket(uow, key).id)
    traces: list[dict[str, Any]] = []
    for event in history:
        recorded = event.data.get("reason")
        if event.kind is EventKind.ASSIGNED or (
            event.kind is EventKind.TEAM_CHANGED and isinstance(recorded, dict)
        ):
            item: dict[str, Any] = {
                "seq": event.seq, "at": event.at.isoformat(), "actor": event.actor.to_dict(),
                "field": event.field, "old": event.old, "new": event.new,
            }
            if isinstance(recorded, dict):
                item.update(recorded)
            traces.append(item)
    return traces
