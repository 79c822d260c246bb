"""The message bus: each in-transaction handler sees each event once, as early as possible;
handlers are wired once in bootstrap(), in the order they run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk_core import Actor, Helpdesk, Priority, Settings, bootstrap
from helpdesk_core.domain.history import EventKind
from helpdesk_core.errors import DomainError
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.services.messagebus import Raised
from helpdesk_core.services.unit_of_work import Unit
from helpdesk_core.sla import (
    BusinessCalendar,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

EVA = Actor.agent("eva", "Eva")
FORM = {"email": "jana@example.cz", "name": "Jana", "message": "Konvice netopí."}


def _desk(**settings: object) -> Helpdesk:
    return bootstrap(Settings(storage="memory", autoload_plugins=False, **settings),
                     directory=InMemoryDirectory(), clock=FakeClock(), environ={})


class Recorder:
    def __init__(self, name: str, log: list[tuple[str, EventKind]]) -> None:
        self.name, self.log = name, log

    def __call__(self, raised: Raised, unit: Unit) -> None:
        self.log.extend((self.name, e.kind) for e in raised.events)


def test_each_handler_sees_each_event_once_and_what_earlier_handlers_recorded() -> None:
    desk = _desk()
    log: list[tuple[str, EventKind]] = []

    def tags_urgent(raised: Raised, unit: Unit) -> None:
        if any(e.kind is EventKind.PRIORITY_CHANGED for e in raised.events):
            raised.ticket.add_tag("urgent", at=raised.ticket.updated_at, actor=EVA)

    desk.bus.in_transaction("first", Recorder("first", log))
    desk.bus.in_transaction("tagger", tags_urgent, kinds=[EventKind.PRIORITY_CHANGED])
    desk.bus.in_transaction("last", Recorder("last", log))
    ticket = desk.tickets.open_from_web_form(FORM)
    log.clear()
    desk.tickets.set_priority(ticket.number, Priority.URGENT, actor=EVA)
    # "last" runs after the tagger in the same pass and sees its event there; "first" sees it
    # in the next pass; nobody sees anything twice.
    assert log == [("first", EventKind.PRIORITY_CHANGED), ("last", EventKind.PRIORITY_CHANGED),
                   ("last", EventKind.TAG_ADDED), ("first", EventKind.TAG_ADDED)]
    assert "urgent" in desk.tickets.get(ticket.number).tags


def test_a_handler_sees_only_its_kinds() -> None:
    desk = _desk()
    log: list[tuple[str, EventKind]] = []
    desk.bus.in_transaction("tags", Recorder("tags", log), kinds=[EventKind.TAG_ADDED])
    ticket = desk.tickets.open_from_web_form(FORM)
    desk.tickets.set_priority(ticket.number, Priority.HIGH, actor=EVA)
    desk.tickets.tag(ticket.number, "vip", actor=EVA)
    assert log == [("tags", EventKind.TAG_ADDED)]


def test_handlers_that_keep_recording_events_are_stopped() -> None:
    desk = _desk()

    def echo(raised: Raised, unit: Unit) -> None:
        raised.ticket.set_priority(
            Priority.LOW if raised.ticket.priority is Priority.HIGH else Priority.HIGH,
            at=raised.ticket.updated_at, actor=EVA)

    desk.bus.in_transaction("echo", echo, kinds=[EventKind.PRIORITY_CHANGED])
    ticket = desk.tickets.open_from_web_form(FORM)
    with pytest.raises(DomainError, match="kept recording events"):
        desk.tickets.set_priority(ticket.number, Priority.URGENT, actor=EVA)
    assert desk.tickets.get(ticket.number).priority is ticket.priority  # nothing stored


def test_bootstrap_wires_the_handlers_once_in_the_order_they_run() -> None:
    calendar = BusinessCalendar.weekly("UTC", {"mon-sun": "00:00-24:00"})
    sla = SlaConfig(selector=PolicySelector.standard(default=SlaPolicy(
        "p", calendar, targets=[SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))])))
    assert _desk(sla=sla).bus.handler_names == {
        "in_transaction": ["acknowledgement", "resolution_message", "sla", "merge_notice"],
        "after_commit": ["helpdesk_ticket_event"]}
    # What the settings turn off registers no handler (the acknowledgement says why it sent
    # nothing, so it stays).
    assert _desk().bus.handler_names["in_transaction"] == ["acknowledgement",
                                                           "resolution_message",
                                                           "merge_notice"]
