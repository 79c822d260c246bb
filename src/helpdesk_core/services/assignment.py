"""Assignment: the chain's resolvers, assigning a new ticket, manual (re)assignment, traces.

The choice itself is pure (:func:`helpdesk_core.domain.assignment.choose`); this module
builds the chain in the configured order (``StaffDirectory.chain()``, by default incident
type → account owner → channel owner → helpdesk owner, then the hook resolvers), gives it the
round-robin turns and agents' loads from storage, and records the decision with its trace in
the ``reason`` of the ASSIGNED (or TEAM_CHANGED) event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from helpdesk_core.domain.assignment import choose, known_agent, known_team
from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.extensions import AssignmentProposal, AssignmentResolver, KeywordRule
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.incident_types import IncidentTypeTree
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.staff import HOOK_RESOLVERS, unavailability
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import ConfigurationError, UnknownStaff
from helpdesk_core.mail.policy import MailChannel
from helpdesk_core.ports import Clock
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.unit_of_work import Unit, Units
from helpdesk_core.sla import PolicySubject
from helpdesk_core.sla.config import SlaConfig

__all__ = ["ASSIGNER", "Assignment", "check_staff_references", "open_load"]

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


class Assignment:
    """Who gets a ticket: the chain for new tickets, manual (re)assignment, the traces."""

    def __init__(self, *, units: Units, clock: Clock, staff: StaffDirectory,
                 resolvers: Callable[[], list[AssignmentResolver]],
                 sla: SlaConfig | None = None) -> None:
        self.units = units
        self.clock = clock
        self.staff = staff
        self.resolvers = resolvers
        self.sla = sla

    def chain(self, tree: IncidentTypeTree, customer: Contact | None,
              channel_owner: str | None = None) -> list[AssignmentResolver]:
        """The resolvers in the configured order.

        Each chain name places the built-in resolver of that name and the hook resolvers that
        carry it; ``"hooks"`` places the remaining hook resolvers, which otherwise come last.
        """
        person, team = self.staff.helpdesk_owner()
        builtin: dict[str, AssignmentResolver] = {
            "incident_type": IncidentTypeResponsible(tree, self.sla),
            "account_owner": AccountOwner(customer),
            "channel_owner": ChannelOwner(channel_owner),
            "helpdesk_owner": HelpdeskOwner(person, team),
            "ticket_team": TicketTeam(),
        }
        order = self.staff.chain()
        hooked = self.resolvers()
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

    def assign_new(self, unit: Unit, ticket: Ticket, tree: IncidentTypeTree,
                   customer: Contact | None, channel_owner: str | None = None) -> None:
        """Run the chain for a ticket being built in ``unit``; record the decision."""
        now = ticket.updated_at
        decision = choose(
            ticket, self.chain(tree, customer, channel_owner), now=now, staff=self.staff,
            turn=lambda team: unit.sequences.next_value(f"round_robin:{team}"),
            load=lambda agent: open_load(unit, agent))
        if decision is None:
            return
        reason = decision.to_dict()
        if decision.team and ticket.team is None:
            ticket.set_team(decision.team, at=now, actor=ASSIGNER,
                            reason=None if decision.assignee else reason)
        if decision.assignee:
            ticket.assign(decision.assignee, at=now, actor=ASSIGNER, reason=reason)

    def named(self, assignee: str | None, team: str | None) -> tuple[str | None, str | None]:
        """The assignee and team a person gave, each one the staff directory lists (or any,
        where it lists none); else :class:`UnknownStaff` naming the field."""
        return (None if assignee is None else known_agent(self.staff, assignee),
                None if team is None else known_team(self.staff, team))

    def assign(self, key: str, assignee: str | None, *, actor: Actor, team: str | None = None,
               expected_version: int | None = None) -> Ticket:
        """Manual (re)assignment; recorded with the agent who did it."""
        assignee, team = self.named(assignee, team)

        def change(t: Ticket) -> None:
            now = self.clock.now()
            if team is not None:
                t.set_team(team, at=now, actor=actor)
            t.assign(assignee, at=now, actor=actor, reason={"winner": "manual"})

        return self.units.change(key, change, expected_version=expected_version)[0]

    def reassign(self, key: str, assignee: str | None, *, actor: Actor, reason: str = "",
                 team: str | None = None, expected_version: int | None = None) -> Ticket:
        """An agent or supervisor gives the ticket to someone else; recorded with the reason
        and the previous assignee. An absent target is allowed (a person decided), but
        noted; one the staff directory does not list is refused."""
        assignee, team = self.named(assignee, team)

        def change(t: Ticket) -> None:
            now = self.clock.now()
            recorded: dict[str, Any] = {"winner": "manual", "why": reason,
                                        "previous": t.assignee}
            if assignee is not None:
                agent = self.staff.agent(assignee)
                why_not = (None if agent is None
                           else unavailability(agent, now, self.staff.absences(now)))
                if why_not:
                    recorded["note"] = f"{assignee} is {why_not}"
            if team is not None:
                t.set_team(team, at=now, actor=actor)
            t.assign(assignee, at=now, actor=actor, reason=recorded)

        return self.units.change(key, change, expected_version=expected_version)[0]

    def trace(self, key: str) -> list[dict[str, Any]]:
        """Every assignment of the ticket, oldest first, as an agent reads it: when, by whom,
        from whom to whom, the winner and why, and the resolvers' trace."""
        with self.units(read_only=True) as unit:
            history = unit.tickets.history(unit.tickets.load(key).id)
        traces: list[dict[str, Any]] = []
        for event in history:
            recorded = event.data.get("reason")
            if event.kind is EventKind.ASSIGNED or (
                event.kind is EventKind.TEAM_CHANGED and isinstance(recorded, dict)
            ):
                item: dict[str, Any] = {
                    "seq": event.seq, "at": event.at.isoformat(),
                    "actor": event.actor.to_dict(), "field": event.field, "old": event.old,
                    "new": event.new,
                }
                if isinstance(recorded, dict):
                    item.update(recorded)
                traces.append(item)
        return traces


def check_staff_references(staff: StaffDirectory, *, mail_channels: Iterable[MailChannel] = (),
                           rules: Iterable[KeywordRule] = (),
                           sla: SlaConfig | None = None) -> None:
    """Every agent and team the configuration names must be one the staff directory lists
    (any, where it lists none): the helpdesk owner and team, each mail channel's owner and
    team, each classification rule's team, each SLA policy's responsible person and team
    and the persons its escalation levels notify. Checked once, by ``bootstrap()``; a
    ConfigurationError names the setting, the unknown value and the id a display name
    stands for."""
    person, team = staff.helpdesk_owner()
    named: list[tuple[str, str, str | None]] = [
        ("staff.helpdesk_owner", "agent", person), ("staff.helpdesk_team", "team", team)]
    for channel in mail_channels:
        named += [(f"mail_channels.{channel.name}.owner", "agent", channel.owner),
                  (f"mail_channels.{channel.name}.team", "team", channel.team)]
    named += [(f"classification_rules.{i}.team", "team", rule.team)
              for i, rule in enumerate(rules)]
    for policy in [r.policy for r in sla.selector.rules] if sla is not None else []:
        named += [(f"sla.{policy.name}.responsible", "agent", policy.responsible),
                  (f"sla.{policy.name}.team", "team", policy.team)]
        levels = [*policy.escalation, *(level for target in policy.targets
                                       for level in target.escalation or ())]
        named += [(f"sla.{policy.name}.escalation", "agent", recipient.person)
                  for level in levels for recipient in level.notify]
    for field, kind, value in named:
        if value is None:
            continue
        try:
            if kind == "agent":
                known_agent(staff, value, field=field)
            else:
                known_team(staff, value, field=field)
        except UnknownStaff as unknown:
            raise ConfigurationError(str(unknown)) from unknown


def open_load(unit: Unit, agent_id: str) -> int:
    """How many active tickets the agent holds, counted from the queue page by page."""
    count, cursor = 0, None
    while True:
        page = unit.tickets.query(TicketQuery.active(assignee=agent_id, limit=500, after=cursor))
        count += len(page.items)
        if page.next_cursor is None:
            return count
        cursor = page.next_cursor
