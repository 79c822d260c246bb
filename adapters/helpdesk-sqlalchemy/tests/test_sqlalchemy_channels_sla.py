"""Every intake channel gets the same side rules: an SLA record, a due date, escalations.

A ticket opened by SMS or by a missed call once got no SLA record and no due date, so the sweep
never escalated it: each channel had its own load → change → commit sequence. Now every channel
goes through one unit-of-work path whose handlers keep the SLA; this test opens a ticket through
each channel's public API, on SQLite and PostgreSQL, and sweeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_core import Actor, Helpdesk, Settings, bootstrap
from helpdesk_core.domain import Contact, EntityKind, EntityRef, Order
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.intake import StaffVia
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.sla import (
    BusinessCalendar,
    EscalationLevel,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)
from helpdesk_core.telephony import Call

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
EVA = Actor.agent("eva", "Eva")
JANA_PHONE = "+420601234567"
OUR_LINE = "+420800123456"
ALWAYS = BusinessCalendar.weekly("UTC", {"mon-sun": "00:00-24:00"})
POLICY = SlaPolicy("standard", ALWAYS, targets=[
    SlaTarget.uniform(TargetKind.FIRST_RESPONSE, timedelta(hours=2)),
    SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))],
    escalation=(EscalationLevel(1.0, ["helpdesk_manager"]),))
CONFIG = SlaConfig(selector=PolicySelector.standard(default=POLICY),
                   addresses={"helpdesk_manager": "boss@shop.example"})


def _call(clock: FakeClock, call_id: str, *kinds: str) -> Call:
    events = []
    for kind in kinds:
        events.append(CallEvent(provider_call_id=call_id, kind=kind, direction="inbound",
                                from_number=JANA_PHONE, to_number=OUR_LINE, at=clock.now(),
                                agent="eva"))
        clock.advance(seconds=30)
    return Call.from_events(events)


def _mail(desk: Helpdesk, clock: FakeClock) -> str:
    raw = (b"From: Jana <jana@example.cz>\r\nTo: podpora@shop.example\r\n"
           b"Subject: Konvice nefunguje\r\nMessage-ID: <m1@example.cz>\r\n"
           b"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nDobry den, konvice netopi.\r\n")
    number = desk.mail.receive(raw).ticket_number
    assert number is not None
    return number


def _sms(desk: Helpdesk, clock: FakeClock) -> str:
    return desk.sms.receive(from_number=JANA_PHONE, to_number=OUR_LINE, text="Kde je zasilka?",
                            at=clock.now(), provider_id="gw-1").ticket_number


def _missed_call(desk: Helpdesk, clock: FakeClock) -> str:
    record = desk.calls.record_missed(_call(clock, "c-missed", "ringing", "missed"))
    assert record is not None
    assert record.callback
    return record.ticket_number


def _answered_call(desk: Helpdesk, clock: FakeClock) -> str:
    call = _call(clock, "c-answered", "ringing", "answered", "ended")
    return desk.calls.record(call=call, agent=EVA, summary="Konvice netopi.").ticket_number


CHANNELS: dict[str, Callable[[Helpdesk, FakeClock], str]] = {
    "web_form": lambda desk, clock: desk.tickets.open_from_web_form(
        {"email": "jana@example.cz", "message": "Konvice netopi."}).number,
    "staff": lambda desk, clock: desk.tickets.open_by_staff(
        agent=EVA, via=StaffVia.PHONE, subject="Konvice", message="Netopi.",
        customer_email="jana@example.cz").number,
    "order": lambda desk, clock: desk.tickets.open_from_order(
        agent=EVA, order_number="2026-00042", subject="Konvice", message="Netopi.").number,
    "mail": _mail,
    "sms": _sms,
    "missed_call": _missed_call,
    "answered_call": _answered_call,
}


@pytest.fixture
def desk(url: str) -> Iterator[tuple[Helpdesk, FakeClock]]:
    shop = InMemoryDirectory()
    jana = shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                            phone="+420 601 234 567", language="cs"))
    shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", "2026-00042"),
                         number="2026-00042", customer_id=jana.id, summary="Kettle"))
    clock = FakeClock(T0)
    helpdesk = bootstrap(Settings(database_url=url, sla=CONFIG),
                         directory=shop, clock=clock, environ={})
    yield helpdesk, clock
    helpdesk.close()


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_every_channel_gets_its_sla_record_due_date_and_escalation(
        desk: tuple[Helpdesk, FakeClock], channel: str) -> None:
    helpdesk, clock = desk
    opened_at = clock.now()
    number = CHANNELS[channel](helpdesk, clock)

    ticket = helpdesk.tickets.get(number)
    assert ticket.due_at is not None
    assert opened_at + timedelta(hours=8) <= ticket.due_at <= clock.now() + timedelta(hours=8)
    with helpdesk.storage.unit_of_work(read_only=True) as uow:
        record = uow.sla.get(ticket.id)
    assert record is not None
    assert record.policy == "standard"
    assert record.next_at is not None  # the sweep will find it
    clocks = helpdesk.sla.clocks(number)
    assert clocks is not None
    assert clocks.get(TargetKind.RESOLUTION) is not None

    clock.set(opened_at + timedelta(hours=9))
    report = helpdesk.sla.sweep()
    assert report.fired >= 1
    escalated = [e for e in helpdesk.tickets.history(number) if e.kind is EventKind.ESCALATED]
    assert {e.data["target"] for e in escalated} >= {TargetKind.RESOLUTION.value}
    assert any(m.kind == "escalation" for m in helpdesk.outbox.for_ticket(number))
    assert helpdesk.sla.sweep().fired == 0  # each level once
