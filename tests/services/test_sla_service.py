"""SLA in the running helpdesk: policy choice, deadlines on tickets, the escalation sweep."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from tests.services.conftest import MakeHelpdesk

from helpdesk_core import Helpdesk, SweepReport
from helpdesk_core.domain import Actor, EventKind, Priority, StatusCategory, Ticket
from helpdesk_core.domain.escalations import SlaRecord
from helpdesk_core.domain.outbox import OutboxState
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.services.sla_tracking import SLA
from helpdesk_core.services.unit_of_work import Units
from helpdesk_core.sla import (
    BusinessCalendar,
    ClockState,
    EscalationLevel,
    PolicyRule,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

EVA = Actor.agent("eva", "Eva")
PRAGUE = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"}, country="CZ")
LEVELS = (
    EscalationLevel(0.75, ["assignee"]),
    EscalationLevel(1.0, ["team_lead"]),
    EscalationLevel(1.5, ["helpdesk_manager"], channels=["sms"]),
)
STANDARD = SlaPolicy("standard", PRAGUE, targets=[
    SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8)),
], escalation=LEVELS)
VIP = SlaPolicy("vip", PRAGUE, targets=[
    SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=2)),
], escalation=LEVELS)


def local(text: str) -> datetime:
    """Prague wall-clock time → UTC."""
    from zoneinfo import ZoneInfo

    naive = datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo("Europe/Prague")).astimezone(UTC)


def config(directory: InMemoryDirectory, policy: SlaPolicy = STANDARD) -> SlaConfig:
    petr = directory.customer_by_email("petr@example.cz")
    assert petr is not None
    return SlaConfig(
        selector=PolicySelector.standard(
            overrides=[PolicyRule(VIP, name="customer Petr", customer_id=petr.id)],
            default=policy),
        addresses={"eva": "eva@shop.example", "team_lead": "vedouci@shop.example",
                   "helpdesk_manager": "+420601000111"},
        sender="helpdesk@shop.example")


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk, clock: FakeClock,
         directory: InMemoryDirectory) -> Helpdesk:
    clock.set(local("2026-12-23T15:00"))
    return make_helpdesk(sla=config(directory))


def open_jana(desk: Helpdesk) -> str:
    ticket = desk.tickets.open_from_web_form({"email": "jana@example.cz",
                                              "message": "Konvice nehřeje"})
    desk.staff.assign(ticket.number, "eva", actor=EVA)
    return ticket.number


def test_the_policy_choice_and_the_deadline_are_on_the_ticket(desk: Helpdesk) -> None:
    number = open_jana(desk)
    ticket = desk.tickets.get(number)
    assert ticket.due_at == local("2026-12-28T15:00")  # 24th-26th are Czech holidays
    [chosen] = [e for e in desk.tickets.history(number) if e.kind is EventKind.SLA_POLICY]
    assert chosen.new == "standard"
    assert chosen.data["reason"]
    with desk.storage.unit_of_work(read_only=True) as uow:
        record = uow.sla.get(ticket.id)
    assert record is not None
    assert record.next_at == local("2026-12-28T13:00")  # 75 % of 8 business hours


def test_waiting_on_the_customer_moves_the_deadline_and_says_why(desk: Helpdesk,
                                                                clock: FakeClock) -> None:
    number = open_jana(desk)
    clock.set(local("2026-12-28T09:00"))
    desk.tickets.transition(number, "waiting_on_customer", actor=EVA)
    assert desk.tickets.get(number).due_at is None  # unknown while paused
    clock.set(local("2026-12-29T10:00"))
    desk.tickets.transition(number, "open", actor=EVA)
    assert desk.tickets.get(number).due_at == local("2026-12-29T16:00")
    moves = [e for e in desk.tickets.history(number) if e.kind is EventKind.DUE_CHANGED]
    assert [m.new for m in moves] == [local("2026-12-28T15:00").isoformat(), None,
                                      local("2026-12-29T16:00").isoformat()]
    assert "paused" in moves[1].data["reason"]
    assert "resumed" in moves[2].data["reason"]
    clocks = desk.sla.clocks(number)
    assert clocks is not None
    assert [c.reason for c in clocks.changes][:3] == ["ticket created",
                                                      "paused: waiting on customer", "resumed"]


def test_a_customer_override_wins_with_its_reason(desk: Helpdesk) -> None:
    ticket = desk.tickets.open_from_web_form({"email": "petr@example.cz", "message": "Toustovač"})
    [chosen] = [e for e in desk.tickets.history(ticket.number) if e.kind is EventKind.SLA_POLICY]
    assert chosen.new == "vip"
    assert "customer Petr" in chosen.data["reason"]
    assert desk.tickets.get(ticket.number).due_at == local("2026-12-28T09:00")


def test_each_level_fires_once_and_notifies(desk: Helpdesk, clock: FakeClock) -> None:
    number = open_jana(desk)
    clock.set(local("2026-12-28T13:30"))
    first = desk.sla.sweep()
    assert (first.due, first.fired, first.notified) == (1, 1, 1)
    assert desk.sla.sweep() == SweepReport()  # nothing due any more
    clock.set(local("2026-12-29T12:00"))  # past 100 % and 150 %
    second = desk.sla.sweep()
    assert (second.fired, second.notified) == (2, 2)
    assert desk.sla.sweep().fired == 0
    escalated = [e for e in desk.tickets.history(number) if e.kind is EventKind.ESCALATED]
    assert [e.new for e in escalated] == ["75%", "100%", "150%"]
    assert escalated[0].data["notified"] == ["eva"]
    messages = [m for m in desk.outbox.for_ticket(number) if m.kind == "escalation"]
    assert sorted((m.recipients[0], m.channel.value) for m in messages) == [
        ("+420601000111", "sms"), ("eva@shop.example", "email"),
        ("vedouci@shop.example", "email")]
    assert all(m.state is OutboxState.PENDING for m in messages)
    # notices come from the templates, in the ticket's language (Jana writes Czech)
    [lead] = [m for m in messages if m.recipients == ("vedouci@shop.example",)]
    assert lead.subject.startswith(f"[{number}] Eskalace")
    assert f"Požadavek {number}" in lead.body_text
    with desk.storage.unit_of_work(read_only=True) as uow:
        record = uow.sla.get(desk.tickets.get(number).id)
    assert record is not None
    assert record.next_at is None


def test_a_sweep_over_its_limit_says_that_more_are_due(desk: Helpdesk,
                                                      clock: FakeClock) -> None:
    numbers = [open_jana(desk) for _ in range(3)]
    clock.set(local("2026-12-28T13:30"))  # 75 % of each ticket's target has passed
    calls: list[tuple[int, int]] = []
    first = desk.sla.sweep(limit=2, progress=lambda done, total: calls.append((done, total)))
    assert (first.due, first.fired, first.more_due) == (2, 2, True)
    assert calls == [(1, 2), (2, 2)]
    second = desk.sla.sweep(limit=2)
    assert (second.due, second.fired, second.more_due) == (1, 1, False)
    assert desk.sla.sweep(limit=2) == SweepReport()
    fired = [n for n in numbers for e in desk.tickets.history(n) if e.kind is EventKind.ESCALATED]
    assert sorted(fired) == sorted(numbers)  # each ticket once


def test_a_resolved_ticket_escalates_no_more(desk: Helpdesk, clock: FakeClock) -> None:
    number = open_jana(desk)
    desk.tickets.transition(number, "resolved", actor=EVA)
    assert desk.tickets.get(number).due_at is None
    clock.set(local("2027-01-15T12:00"))
    assert desk.sla.sweep().fired == 0
    assert desk.tickets.get(number).status_category is StatusCategory.RESOLVED


def test_a_priority_change_retargets(desk: Helpdesk, make_helpdesk: MakeHelpdesk,
                                     directory: InMemoryDirectory) -> None:
    urgent = SlaPolicy("standard", PRAGUE, targets=[SlaTarget(TargetKind.RESOLUTION, {
        **dict.fromkeys(Priority, timedelta(hours=8)), Priority.URGENT: timedelta(hours=1)})])
    quick = make_helpdesk(sla=config(directory, urgent))
    number = open_jana(quick)
    quick.tickets.set_priority(number, Priority.URGENT, actor=EVA)
    assert quick.tickets.get(number).due_at == local("2026-12-23T16:00")


def test_recompute_after_a_policy_change(make_helpdesk: MakeHelpdesk, clock: FakeClock,
                                         directory: InMemoryDirectory) -> None:
    clock.set(local("2026-12-23T15:00"))
    before = make_helpdesk(sla=config(directory))
    number = open_jana(before)
    longer = SlaPolicy("standard", PRAGUE, targets=[
        SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=16))])
    after = make_helpdesk(sla=config(directory, longer))
    after.storage._state = before.storage._state  # type: ignore[attr-defined]
    assert after.sla.recompute() == 1
    assert after.tickets.get(number).due_at == local("2026-12-29T15:00")


def test_without_sla_nothing_happens(helpdesk: Helpdesk) -> None:
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "x"})
    assert helpdesk.sla.clocks(ticket.number) is None
    assert helpdesk.sla.sweep() == SweepReport()
    assert not [e for e in helpdesk.tickets.history(ticket.number)
                if e.kind in (EventKind.SLA_POLICY, EventKind.DUE_CHANGED)]


def test_the_sla_policys_responsible_is_the_first_step_of_the_chain(
        make_helpdesk: MakeHelpdesk, directory: InMemoryDirectory) -> None:
    owned = SlaPolicy("standard", PRAGUE, targets=[
        SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))], responsible="milan")
    desk = make_helpdesk(sla=config(directory, owned))
    ticket = desk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Konvice"})
    assert ticket.assignee == "milan"
    [assigned] = [e for e in desk.tickets.history(ticket.number) if e.kind is EventKind.ASSIGNED]
    assert assigned.data["reason"]["why"] == "responsible for SLA policy standard"


def test_a_due_date_set_by_hand_is_kept(desk: Helpdesk, clock: FakeClock) -> None:
    number = open_jana(desk)
    promised = local("2026-12-24T12:00")
    desk.tickets.set_due(number, promised, actor=EVA, reason="promised on the phone")
    clock.set(local("2026-12-28T09:00"))
    desk.tickets.transition(number, "waiting_on_customer", actor=EVA)
    assert desk.tickets.get(number).due_at == promised
    clocks = desk.sla.clocks(number)
    assert clocks is not None
    resolution = clocks.get(TargetKind.RESOLUTION)
    assert resolution is not None
    assert resolution.state.value == "paused"  # the SLA clock itself still runs its course


def test_bootstrap_refuses_a_calendar_that_never_opens(make_helpdesk: MakeHelpdesk,
                                                      directory: InMemoryDirectory) -> None:
    """Issue 11: such a calendar was accepted and then refused every new ticket at intake."""
    restored = pickle.loads(pickle.dumps(config(directory)))  # built by an older version
    for policy in restored.selector.policies:
        object.__setattr__(policy.calendar, "week", ((),) * 7)
    with pytest.raises(ConfigurationError, match="SLA policy 'vip': calendar Europe/Prague "
                                                 "has no business hours on any weekday"):
        make_helpdesk(sla=restored)


# -- across a merge and its undo. The merge itself is built elsewhere: these record what it
# records on the source ticket, as the merge does, through the ticket's own event log.

def merge_source(ticket: Ticket, at: datetime, *, clear_due: bool = True) -> None:
    if clear_due:
        ticket.set_due(None, at=at, actor=EVA, reason="merged into HD-X")
    ticket._record(EventKind.STATUS_CHANGED, at, EVA, field="status", old=ticket.status,
                   new="merged", data={"from_category": ticket.status_category.value,
                                       "to_category": "merged"})
    ticket.status, ticket.status_category, ticket.merged_into = (
        "merged", StatusCategory.MERGED, "t-target")
    ticket._record(EventKind.MERGED, at, EVA, field="merged_into", new="t-target",
                   data={"operation": "op-1", "other_number": "HD-X"})


def undo_merge(ticket: Ticket, at: datetime, status: str, category: StatusCategory) -> None:
    ticket._record(EventKind.STATUS_CHANGED, at, EVA, field="status", old="merged", new=status,
                   data={"from_category": "merged", "to_category": category.value})
    ticket.status, ticket.status_category, ticket.merged_into = status, category, None
    ticket._record(EventKind.UNMERGED, at, EVA, field="merged_into", old="t-target",
                   data={"operation": "op-1"})


def sla_record(desk: Helpdesk, number: str) -> SlaRecord:
    with desk.storage.unit_of_work(read_only=True) as uow:
        record = uow.sla.get(desk.tickets.get(number).id)
    assert record is not None
    return record


def test_a_merged_ticket_keeps_its_due_date_and_the_undo_gives_it_back(
        desk: Helpdesk, clock: FakeClock) -> None:
    number = open_jana(desk)
    units = Units(desk.storage, desk.bus)
    before = desk.tickets.get(number)
    status, category = before.status, before.status_category
    clock.set(local("2026-12-28T09:00"))  # two of the eight hours used
    units.change(number, lambda t: merge_source(t, clock.now()))
    assert desk.tickets.get(number).due_at is None
    assert sla_record(desk, number).next_at is None
    resolution = desk.sla.clocks(number).get(TargetKind.RESOLUTION)  # type: ignore[union-attr]
    assert resolution is not None
    assert (resolution.state, resolution.breached_cycles) == (ClockState.MERGED, 0)
    clock.set(local("2027-01-15T12:00"))
    assert desk.sla.sweep().fired == 0
    clock.set(local("2026-12-29T10:00"))
    units.change(number, lambda t: undo_merge(t, clock.now(), status, category))
    assert desk.tickets.get(number).due_at == local("2026-12-29T16:00")  # six hours left
    assert sla_record(desk, number).next_at == local("2026-12-29T14:00")  # 75 %
    moves = [e for e in desk.tickets.history(number) if e.kind is EventKind.DUE_CHANGED]
    assert (moves[-1].actor, moves[-1].data["reason"]) == (SLA, "SLA standard: merge undone")


def test_the_sla_leaves_the_due_date_of_a_merged_ticket_alone(
        desk: Helpdesk, clock: FakeClock) -> None:
    number = open_jana(desk)
    due = desk.tickets.get(number).due_at
    clock.set(local("2026-12-28T09:00"))
    Units(desk.storage, desk.bus).change(
        number, lambda t: merge_source(t, clock.now(), clear_due=False))
    merged = desk.tickets.get(number)
    assert (merged.status_category, merged.due_at) == (StatusCategory.MERGED, due)
    assert sla_record(desk, number).next_at is None
    desk.sla.recompute(keys=[number])  # a recompute of it refuses nothing either
    assert desk.tickets.get(number).due_at == due
