"""SLA on this adapter: deadlines stored, and two sweepers on PostgreSQL firing each level once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.values import Actor
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.settings import Settings
from helpdesk_core.sla import (
    BusinessCalendar,
    EscalationLevel,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

EVA = Actor.agent("eva", "Eva")
PRAGUE = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"}, country="CZ")
POLICY = SlaPolicy("standard", PRAGUE, targets=[
    SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))],
    escalation=(EscalationLevel(0.75, ["assignee"]), EscalationLevel(1.0, ["team_lead"]),
                EscalationLevel(1.5, ["helpdesk_manager"])))
CONFIG = SlaConfig(selector=PolicySelector.standard(default=POLICY),
                   addresses={"eva": "eva@shop.example", "team_lead": "lead@shop.example",
                              "helpdesk_manager": "boss@shop.example"})


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Prague")).astimezone(UTC)


def _desk(url: str, clock: FakeClock) -> Helpdesk:
    return bootstrap(Settings(database_url=url, sla=CONFIG,
                              options={"sqlite_busy_timeout_ms": 10_000}),
                     clock=clock, environ={})


def test_deadlines_and_escalations_on_this_adapter(url: str) -> None:
    clock = FakeClock(local("2026-12-23T15:00"))
    with _desk(url, clock) as desk:
        ticket = desk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Konvice"})
        desk.staff.assign(ticket.number, "eva", actor=EVA)
        assert desk.tickets.get(ticket.number).due_at == local("2026-12-28T15:00")
        clock.set(local("2026-12-29T12:00"))
        report = desk.sla.sweep()
        assert (report.fired, report.notified) == (3, 3)
        assert desk.sla.sweep().fired == 0
        levels = [e.new for e in desk.tickets.history(ticket.number)
                  if e.kind is EventKind.ESCALATED]
        assert levels == ["75%", "100%", "150%"]


@pytest.mark.postgres
def test_two_sweepers_fire_each_level_once(pg_url: str) -> None:
    clock = FakeClock(local("2026-12-23T15:00"))
    with _desk(pg_url, clock) as desk:
        numbers = []
        for i in range(20):
            ticket = desk.tickets.open_from_web_form({"email": f"c{i}@example.cz",
                                                      "message": "Dotaz"})
            desk.staff.assign(ticket.number, "eva", actor=EVA)
            numbers.append(ticket.number)
    clock.set(local("2026-12-29T12:00"))  # every level of every ticket is due
    desks = [_desk(pg_url, clock) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(helpdesk: Helpdesk) -> None:
        try:
            barrier.wait()
            helpdesk.sla.sweep()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    desks[0].sla.sweep()  # whatever a lost race left for the next sweep
    fired: Counter[tuple[str, str]] = Counter()
    notices = 0
    for number in numbers:
        for event in desks[0].tickets.history(number):
            if event.kind is EventKind.ESCALATED:
                fired[(number, event.new)] += 1
        notices += sum(1 for m in desks[0].outbox.for_ticket(number) if m.kind == "escalation")
    assert set(fired.values()) == {1}
    assert len(fired) == 20 * 3
    assert notices == 20 * 3
    for helpdesk in desks:
        helpdesk.close()
