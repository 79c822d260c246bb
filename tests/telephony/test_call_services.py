"""Screen pop, call articles and missed calls on in-memory storage."""

from __future__ import annotations

import pytest

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.intake import StaffVia
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import ValidationError
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.telephony import Call

JANA = "+420601234567"
LINE = "+4930123456"
PETRA = Actor.agent("petra", "Petra Malá")


def events(clock: FakeClock, *kinds: str, call: str = "c1", caller: str | None = JANA,
           direction: str = "inbound") -> list[CallEvent]:
    made = []
    for kind in kinds:
        made.append(CallEvent(provider_call_id=call, kind=kind, direction=direction,
                              from_number=caller if direction == "inbound" else LINE,
                              to_number=LINE if direction == "inbound" else caller,
                              at=clock.now(), agent="petra"))
        clock.advance(seconds=30)
    return made


def jana_ticket(helpdesk: Helpdesk, subject: str) -> str:
    return helpdesk.tickets.open_by_staff(agent=PETRA, via=StaffVia.PHONE, subject=subject,
                                  message="Taken on the phone.",
                                  customer_email="jana@example.cz").number


def test_screen_pop_of_a_known_caller(helpdesk: Helpdesk, clock: FakeClock) -> None:
    older = jana_ticket(helpdesk, "Grinder is loud")
    clock.advance(minutes=5)
    newer = jana_ticket(helpdesk, "Kettle leaks")
    ringing = events(clock, "ringing")[0]
    pop = helpdesk.calls.screen_pop(ringing)
    assert pop.number == JANA
    assert pop.contact is not None
    assert pop.contact.name == "Jana Nováková"
    assert pop.organisation is not None
    assert pop.organisation.name == "Kavárna Nováková"
    assert [t.number for t in pop.open_tickets] == [newer, older]  # newest first
    assert [o.number for o in pop.recent_orders] == ["2026-00042", "2026-00041"]
    data = pop.to_dict()
    assert data["contact"]["phones"] == [JANA]
    assert data["open_tickets"][0]["subject"] == "Kettle leaks"


def test_closed_tickets_are_not_on_the_screen_pop(helpdesk: Helpdesk, clock: FakeClock) -> None:
    number = jana_ticket(helpdesk, "Done already")
    helpdesk.tickets.transition(number, "closed", actor=PETRA)
    pop = helpdesk.calls.screen_pop(events(clock, "ringing")[0])
    assert pop.open_tickets == ()


@pytest.mark.parametrize("caller", [None, "+4989123456", "anonymous", "4930"])
def test_screen_pop_of_an_unknown_caller(helpdesk: Helpdesk, clock: FakeClock,
                                         caller: str | None) -> None:
    pop = helpdesk.calls.screen_pop(events(clock, "ringing", caller=caller)[0])
    assert pop.contact is None
    assert pop.open_tickets == ()
    assert pop.recent_orders == ()
    assert pop.to_dict()["contact"] is None


def test_outbound_screen_pop_looks_up_the_callee(helpdesk: Helpdesk, clock: FakeClock) -> None:
    pop = helpdesk.calls.screen_pop(events(clock, "ringing", direction="outbound")[0])
    assert pop.number == JANA
    assert pop.contact is not None


def test_record_call_opens_a_ticket(helpdesk: Helpdesk, clock: FakeClock) -> None:
    call = Call.from_events(events(clock, "ringing", "answered", "ended"))
    record = helpdesk.calls.record(call=call, agent=PETRA,
                               summary="Replacement kettle agreed, ships Monday.")
    assert record.new
    ticket = helpdesk.tickets.get(record.ticket_number)
    assert ticket.channel is Channel.PHONE
    assert ticket.customer_id is not None
    assert ticket.subject == f"Call from Jana Nováková ({JANA})"
    (article,) = helpdesk.tickets.articles(record.ticket_number)
    assert article.channel is Channel.PHONE
    assert article.direction is Direction.INBOUND
    assert article.author == PETRA
    assert article.body_text == "Replacement kettle agreed, ships Monday."
    assert article.external_id == "call:c1"
    assert article.meta["provider_call_id"] == "c1"
    assert article.meta["from"] == JANA
    assert article.meta["to"] == LINE
    assert article.meta["duration_seconds"] == "30"
    assert article.meta["outcome"] == "answered"


def test_record_call_on_a_ticket_and_only_once(helpdesk: Helpdesk, clock: FakeClock) -> None:
    number = jana_ticket(helpdesk, "Kettle leaks")
    call = Call.from_events(events(clock, "ringing", "answered", "ended",
                                   direction="outbound"))
    first = helpdesk.calls.record(call=call, agent=PETRA, summary="Called back.",
                              ticket_key=number)
    again = helpdesk.calls.record(call=call, agent=PETRA, summary="Called back.",
                              ticket_key=number)
    assert first.new
    assert not again.new
    assert again.article == first.article
    articles = helpdesk.tickets.articles(number)
    assert [a.body_text for a in articles].count("Called back.") == 1
    assert articles[-1].direction is Direction.OUTBOUND
    assert articles[-1].subject == f"Call to Jana Nováková ({JANA})"


def test_record_call_refuses_an_unfinished_or_missed_call(helpdesk: Helpdesk,
                                                         clock: FakeClock) -> None:
    for kinds in (("ringing", "answered"), ("ringing", "missed")):
        call = Call.from_events(events(clock, *kinds, call="-".join(kinds)))
        with pytest.raises(ValidationError):
            helpdesk.calls.record(call=call, agent=PETRA, summary="x")


def test_record_call_of_a_withheld_number(helpdesk: Helpdesk, clock: FakeClock) -> None:
    call = Call.from_events(events(clock, "ringing", "answered", "ended", caller=None))
    record = helpdesk.calls.record(call=call, agent=PETRA, summary="Asked for hours.")
    ticket = helpdesk.tickets.get(record.ticket_number)
    assert ticket.customer_id is None
    assert ticket.subject == "Call from a withheld number"


def test_missed_call_of_a_known_customer_opens_one_callback_ticket(
    helpdesk: Helpdesk, clock: FakeClock
) -> None:
    first = Call.from_events(events(clock, "ringing", "missed", call="m1"))
    second = Call.from_events(events(clock, "ringing", "missed", call="m2"))
    one = helpdesk.calls.record_missed(first)
    two = helpdesk.calls.record_missed(second)
    assert one is not None
    assert two is not None
    assert one.new
    assert one.callback
    assert two.ticket_number == one.ticket_number  # the open callback ticket collects them
    ticket = helpdesk.tickets.get(one.ticket_number)
    assert ticket.tags == frozenset({"callback"})
    assert ticket.channel is Channel.PHONE
    assert ticket.subject == "Call back Jana Nováková"
    notes = helpdesk.tickets.articles(one.ticket_number)
    assert [a.direction for a in notes] == [Direction.INTERNAL, Direction.INTERNAL]
    assert not any(a.public for a in notes)
    assert notes[0].body_text.startswith("Missed call from Jana Nováková, +420601234567")
    assert notes[0].meta["outcome"] == "missed"
    replay = helpdesk.calls.record_missed(first)
    assert replay is not None
    assert not replay.new
    assert len(helpdesk.tickets.articles(one.ticket_number)) == 2


def test_a_closed_callback_ticket_is_not_reused(helpdesk: Helpdesk, clock: FakeClock) -> None:
    one = helpdesk.calls.record_missed(
        Call.from_events(events(clock, "ringing", "missed", call="m1")))
    assert one is not None
    helpdesk.tickets.transition(one.ticket_number, "closed", actor=PETRA)
    two = helpdesk.calls.record_missed(
        Call.from_events(events(clock, "ringing", "missed", call="m2")))
    assert two is not None
    assert two.ticket_number != one.ticket_number


def test_missed_call_without_callback_goes_on_the_newest_ticket(
    helpdesk: Helpdesk, clock: FakeClock
) -> None:
    number = jana_ticket(helpdesk, "Kettle leaks")
    call = Call.from_events(events(clock, "ringing", "missed"))
    record = helpdesk.calls.record_missed(call, callback_ticket=False)
    assert record is not None
    assert record.ticket_number == number
    assert not record.callback


def test_missed_calls_with_nowhere_to_go(helpdesk: Helpdesk, clock: FakeClock) -> None:
    anonymous = Call.from_events(events(clock, "ringing", "missed", call="a", caller=None))
    stranger = Call.from_events(events(clock, "ringing", "missed", call="s",
                                       caller="+4989123456"))
    known = Call.from_events(events(clock, "ringing", "missed", call="k"))
    assert helpdesk.calls.record_missed(anonymous) is None
    assert helpdesk.calls.record_missed(stranger) is None
    assert helpdesk.calls.record_missed(known, callback_ticket=False) is None
    assert helpdesk.tickets.queue().items == []


def test_a_call_that_did_not_connect_is_noted_on_the_named_ticket(
    helpdesk: Helpdesk, clock: FakeClock
) -> None:
    number = jana_ticket(helpdesk, "Kettle leaks")
    call = Call.from_events(events(clock, "ringing", "ended", direction="outbound"))
    record = helpdesk.calls.record_missed(call, ticket_key=number)
    assert record is not None
    note = helpdesk.tickets.articles(number)[-1]
    assert note.direction is Direction.INTERNAL
    assert note.body_text.startswith("Call to Jana Nováková, +420601234567")
    assert note.meta["outcome"] == "not_connected"


def test_an_outbound_call_nobody_took_opens_no_callback(helpdesk: Helpdesk,
                                                       clock: FakeClock) -> None:
    call = Call.from_events(events(clock, "ringing", "ended", direction="outbound"))
    assert helpdesk.calls.record_missed(call) is None


def test_record_missed_call_refuses_an_answered_call(helpdesk: Helpdesk,
                                                    clock: FakeClock) -> None:
    call = Call.from_events(events(clock, "ringing", "answered", "ended"))
    with pytest.raises(ValidationError):
        helpdesk.calls.record_missed(call)


def test_find_recorded(helpdesk: Helpdesk, clock: FakeClock) -> None:
    call = Call.from_events(events(clock, "ringing", "answered", "ended"))
    assert helpdesk.calls.find_recorded("c1") is None
    record = helpdesk.calls.record(call=call, agent=PETRA, summary="Sorted.")
    found = helpdesk.calls.find_recorded("c1")
    assert found is not None
    assert found.article.id == record.article.id
    assert not found.new
