"""A deadline moved by a policy or calendar change says what moved it (issue 11).

``helpdesk.sla.recompute()`` after a policy's targets, the policy selection or a calendar
changed moved the due date correctly but recorded "ticket created" as the reason, and the
``sla_policy`` event had no old policy. The SLA record now keeps what the deadlines were
computed from; these tests change the configuration between two helpdesks on the same store
and recompute, on the in-memory storage, SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from helpdesk_core import Actor, Helpdesk, Settings, bootstrap
from helpdesk_core.domain import EntityKind, EntityRef
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.sla import (
    RECOMPUTED,
    BusinessCalendar,
    PolicyRule,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
EVA = Actor.agent("eva", "Eva")
CONTRACT = EntityRef(EntityKind.CONTRACT, "erp", "K-2026-7")
OFFICE = BusinessCalendar.weekly("UTC", {"mon-fri": "08:00-16:00"})
LATE_OFFICE = BusinessCalendar.weekly("UTC", {"mon-fri": "10:00-18:00"})


def policy(name: str, resolution: float, calendar: BusinessCalendar = OFFICE) -> SlaPolicy:
    return SlaPolicy(name, calendar, [
        SlaTarget.uniform(TargetKind.FIRST_RESPONSE, timedelta(hours=2)),
        SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=resolution))])


def config(default: SlaPolicy, contract: SlaPolicy | None = None) -> SlaConfig:
    overrides = [] if contract is None else [PolicyRule(contract, name="contract",
                                                        contract=CONTRACT)]
    return SlaConfig(PolicySelector.standard(overrides=overrides, default=default))


STANDARD = policy("standard", 8)
MakeDesk = Callable[[SlaConfig], Helpdesk]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_desk(request: pytest.FixtureRequest) -> Iterator[MakeDesk]:
    """Helpdesks on one store, each with the SLA configuration it is given."""
    clock = FakeClock(T0)
    made: list[Helpdesk] = []

    def make(sla: SlaConfig) -> Helpdesk:
        if request.param == "memory":
            desk = bootstrap(Settings(storage="memory", sla=sla), clock=clock, environ={},
                             storage=made[0].storage if made else None)
        else:
            url = request.getfixturevalue("pg_url" if request.param == "postgresql"
                                          else "sqlite_url")
            desk = bootstrap(Settings(database_url=url, sla=sla), clock=clock, environ={})
        made.append(desk)
        return desk

    yield make
    for desk in reversed(made):
        desk.close()


def open_ticket(desk: Helpdesk) -> str:
    return desk.tickets.open_from_web_form({"email": "jana@example.cz",
                                            "message": "Konvice nehřeje"}).number


def since(desk: Helpdesk, number: str, seen: int) -> list[TicketEvent]:
    return [e for e in desk.tickets.history(number)[seen:]
            if e.kind in (EventKind.SLA_POLICY, EventKind.DUE_CHANGED)]


def test_shorter_targets_move_the_deadline_and_say_so(make_desk: MakeDesk) -> None:
    before = make_desk(config(STANDARD))
    number = open_ticket(before)
    assert before.tickets.get(number).due_at == datetime(2026, 3, 3, 9, tzinfo=UTC)
    seen = len(before.tickets.history(number))

    after = make_desk(config(policy("standard", 4)))
    assert after.sla.recompute() == 1

    assert after.tickets.get(number).due_at == datetime(2026, 3, 2, 13, tzinfo=UTC)
    [moved] = since(after, number, seen)  # the policy is the same: no sla_policy event
    assert moved.kind is EventKind.DUE_CHANGED
    assert moved.data["reason"] == "SLA standard: targets changed"
    assert moved.old == datetime(2026, 3, 3, 9, tzinfo=UTC).isoformat()


def test_another_policy_names_the_old_and_the_new_one(make_desk: MakeDesk) -> None:
    gold, damaged = policy("gold contract", 4), policy("damaged goods", 2)
    before = make_desk(config(STANDARD, contract=gold))
    number = open_ticket(before)
    before.tickets.link(number, CONTRACT, actor=EVA)
    assert before.tickets.get(number).due_at == datetime(2026, 3, 2, 13, tzinfo=UTC)
    seen = len(before.tickets.history(number))

    after = make_desk(config(STANDARD, contract=damaged))
    after.sla.recompute()

    chosen, moved = since(after, number, seen)
    assert (chosen.kind, chosen.old, chosen.new) == (EventKind.SLA_POLICY, "gold contract",
                                                     "damaged goods")
    assert "contract" in chosen.data["reason"]
    assert "was gold contract" in chosen.describe()
    assert moved.kind is EventKind.DUE_CHANGED
    assert moved.data["reason"] == "SLA damaged goods: policy 'gold contract' → 'damaged goods'"
    assert after.tickets.get(number).due_at == datetime(2026, 3, 2, 11, tzinfo=UTC)


def test_a_ticket_change_that_switches_the_policy_says_so(make_desk: MakeDesk) -> None:
    desk = make_desk(config(STANDARD, contract=policy("gold contract", 4)))
    number = open_ticket(desk)
    seen = len(desk.tickets.history(number))

    desk.tickets.link(number, CONTRACT, actor=EVA)  # not a clock event: it was "ticket created"

    chosen, moved = since(desk, number, seen)
    assert (chosen.old, chosen.new) == ("standard", "gold contract")
    assert moved.data["reason"] == "SLA gold contract: policy 'standard' → 'gold contract'"


def test_another_calendar_moves_the_deadline_and_says_so(make_desk: MakeDesk) -> None:
    before = make_desk(config(STANDARD))
    number = open_ticket(before)
    seen = len(before.tickets.history(number))

    after = make_desk(config(policy("standard", 8, LATE_OFFICE)))
    after.sla.recompute()

    [moved] = since(after, number, seen)
    assert moved.data["reason"] == "SLA standard: calendar changed"
    assert after.tickets.get(number).due_at == datetime(2026, 3, 2, 18, tzinfo=UTC)


def test_targets_and_calendar_changed_together(make_desk: MakeDesk) -> None:
    before = make_desk(config(STANDARD))
    number = open_ticket(before)
    seen = len(before.tickets.history(number))

    after = make_desk(config(policy("standard", 4, LATE_OFFICE)))
    after.sla.recompute()

    [moved] = since(after, number, seen)
    assert moved.data["reason"] == "SLA standard: targets and calendar changed"
    assert after.tickets.get(number).due_at == datetime(2026, 3, 2, 14, tzinfo=UTC)


def test_nothing_moved_records_nothing(make_desk: MakeDesk) -> None:
    before = make_desk(config(STANDARD))
    number = open_ticket(before)
    seen = len(before.tickets.history(number))

    same = make_desk(config(policy("standard", 8)))
    assert same.sla.recompute() == 1
    # Another first-response target moves no due date: the record learns it, silently.
    other = make_desk(config(SlaPolicy("standard", OFFICE, [
        SlaTarget.uniform(TargetKind.FIRST_RESPONSE, timedelta(hours=1)),
        SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))])))
    other.sla.recompute()
    assert since(other, number, seen) == []

    # ... so a later calendar change is still told apart from it.
    later = make_desk(config(SlaPolicy("standard", LATE_OFFICE, [
        SlaTarget.uniform(TargetKind.FIRST_RESPONSE, timedelta(hours=1)),
        SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))])))
    later.sla.recompute()
    [moved] = since(later, number, seen)
    assert moved.data["reason"] == "SLA standard: calendar changed"


def test_no_policy_any_more_clears_the_sla_deadline(make_desk: MakeDesk) -> None:
    gold = policy("gold contract", 4)
    before = make_desk(SlaConfig(PolicySelector([PolicyRule(gold, contract=CONTRACT)])))
    number = before.tickets.open_from_web_form({"email": "jana@example.cz", "message": "x"}).number
    before.tickets.link(number, CONTRACT, actor=EVA)
    assert before.tickets.get(number).due_at is not None
    seen = len(before.tickets.history(number))

    after = make_desk(SlaConfig(PolicySelector([PolicyRule(
        gold, contract=EntityRef(EntityKind.CONTRACT, "erp", "K-2027-1"))])))
    after.sla.recompute()

    chosen, moved = since(after, number, seen)
    assert (chosen.old, chosen.new) == ("gold contract", None)
    assert moved.new is None
    assert moved.data["reason"] == "SLA: policy 'gold contract' no longer applies"
    assert after.tickets.get(number).due_at is None


def test_a_record_without_digests_is_recomputed_with_an_honest_reason(
        make_desk: MakeDesk) -> None:
    """A record kept before the digests were stored cannot say what changed."""
    before = make_desk(config(STANDARD))
    number = open_ticket(before)
    ticket_id = before.tickets.get(number).id
    with before.storage.unit_of_work() as uow:
        record = uow.sla.get(ticket_id)
        assert record is not None
        assert record.targets_digest == STANDARD.terms.targets
        assert record.calendar_digest == OFFICE.fingerprint
        uow.sla.put(attrs.evolve(record, targets_digest=None, calendar_digest=None))
        uow.commit()
    seen = len(before.tickets.history(number))

    after = make_desk(config(policy("standard", 4)))
    after.sla.recompute()

    [moved] = since(after, number, seen)
    assert moved.data["reason"] == f"SLA standard: {RECOMPUTED}"
