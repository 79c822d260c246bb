"""A Call is a function of the *set* of its events: order and repeats do not matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.errors import ValidationError
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.telephony import Call, CallOutcome, CallState, call_key

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JANA = "+420601234567"
LINE = "+4930123456"


def ev(kind: str, seconds: int, *, call: str = "c1", direction: str = "inbound",
       agent: str | None = None, from_number: str | None = JANA,
       to_number: str | None = LINE) -> CallEvent:
    return CallEvent(provider_call_id=call, kind=kind, direction=direction,
                     from_number=from_number, to_number=to_number,
                     at=T0 + timedelta(seconds=seconds), agent=agent)


def test_an_answered_call() -> None:
    call = Call.from_events([ev("ringing", 0), ev("answered", 12, agent="petra"),
                             ev("ended", 192)])
    assert call.state is CallState.ENDED
    assert call.outcome is CallOutcome.ANSWERED
    assert call.finished
    assert call.inbound
    assert call.agent == "petra"
    assert call.customer_number == JANA
    assert call.line_number == LINE
    assert call.duration == timedelta(seconds=180)
    assert call.ring_time == timedelta(seconds=12)
    assert call.to_dict()["duration_seconds"] == 180
    assert call_key(call.provider_call_id) == "call:c1"


def test_states_while_it_goes_on() -> None:
    ringing = Call.from_events([ev("ringing", 0)])
    assert ringing.state is CallState.RINGING
    assert ringing.outcome is None
    answered = Call.from_events([ev("ringing", 0), ev("answered", 5)])
    assert answered.state is CallState.ANSWERED
    assert answered.outcome is None
    assert answered.duration == timedelta(0)


def test_missed_and_not_connected() -> None:
    missed = Call.from_events([ev("ringing", 0), ev("missed", 30)])
    assert missed.outcome is CallOutcome.MISSED
    assert missed.duration == timedelta(0)
    assert missed.ring_time == timedelta(seconds=30)
    busy = Call.from_events([ev("ringing", 0, direction="outbound"),
                             ev("ended", 4, direction="outbound")])
    assert busy.outcome is CallOutcome.NOT_CONNECTED
    assert busy.customer_number == LINE  # outbound: the callee is the customer


def test_a_hangup_before_its_answer_arrives() -> None:
    call = Call.from_events([ev("ended", 60), ev("answered", 10), ev("ringing", 0)])
    assert call.outcome is CallOutcome.ANSWERED
    assert call.duration == timedelta(seconds=50)


def test_a_late_repeat_does_not_move_the_times() -> None:
    base = [ev("ringing", 0), ev("answered", 10), ev("ended", 60)]
    again = [*base, ev("ended", 300), ev("answered", 200), ev("ringing", 100)]
    assert Call.from_events(again) == Call.from_events(base)


def test_withheld_numbers_and_agents_from_any_event() -> None:
    call = Call.from_events([ev("ringing", 0, from_number=None),
                             ev("answered", 3, from_number=None, agent="w0")])
    assert call.from_number is None
    assert call.customer_number is None
    assert call.agent == "w0"


@pytest.mark.parametrize("events", [
    [],
    [ev("ringing", 0, call="a"), ev("ended", 1, call="b")],
    [ev("hold", 0)],
    [ev("ringing", 0, direction="sideways")],
    [ev("ringing", 0, call="")],
    [ev("ringing", 0, call="x" * 201)],
    [CallEvent("c1", "ringing", "inbound", None, None, datetime(2026, 3, 2, 9, 0))],
])
def test_refused_event_sets(events: list[CallEvent]) -> None:
    with pytest.raises(ValidationError):
        Call.from_events(events)


# -- properties ----------------------------------------------------------------------------


@st.composite
def valid_sequences(draw: st.DrawFn) -> list[CallEvent]:
    """ringing → answered → ended, or ringing → missed/ended, with growing times."""
    direction = draw(st.sampled_from(["inbound", "outbound"]))
    agent = draw(st.sampled_from([None, "petra", "w0"]))
    withheld = draw(st.booleans())
    times = sorted(draw(st.lists(st.integers(0, 3600), min_size=3, max_size=3)))
    shape = draw(st.sampled_from(["answered", "missed", "not_connected", "ringing",
                                  "talking"]))
    caller = None if withheld else JANA

    def make(kind: str, at: int, who: str | None = None) -> CallEvent:
        return ev(kind, at, direction=direction, agent=who, from_number=caller)

    events = [make("ringing", times[0], agent)]
    if shape in ("answered", "talking"):
        events.append(make("answered", times[1], agent))
    if shape == "answered":
        events.append(make("ended", times[2]))
    elif shape == "missed":
        events.append(make("missed", times[2]))
    elif shape == "not_connected":
        events.append(make("ended", times[2]))
    return events


@settings(max_examples=300, deadline=None)
@given(data=st.data(), events=valid_sequences())
def test_any_permutation_and_duplication_gives_the_same_call(
    data: st.DataObject, events: list[CallEvent]
) -> None:
    expected = Call.from_events(events)
    extra = data.draw(st.lists(st.sampled_from(events), max_size=6))
    shuffled = data.draw(st.permutations([*events, *extra]))
    assert Call.from_events(shuffled) == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data(), events=valid_sequences())
def test_late_redeliveries_change_nothing(data: st.DataObject, events: list[CallEvent]) -> None:
    """A webhook delivered again is stamped later than the original (reception time)."""
    expected = Call.from_events(events)
    late = [CallEvent(e.provider_call_id, e.kind, e.direction, e.from_number, e.to_number,
                      e.at + timedelta(seconds=data.draw(st.integers(0, 600))), e.agent)
            for e in data.draw(st.lists(st.sampled_from(events), max_size=4))]
    assert Call.from_events(data.draw(st.permutations([*events, *late]))) == expected


@settings(max_examples=200, deadline=None)
@given(events=valid_sequences())
def test_the_outcome_follows_the_events(events: list[CallEvent]) -> None:
    call = Call.from_events(events)
    kinds = {e.kind for e in events}
    assert call.finished == bool(kinds & {"ended", "missed"})
    assert (call.outcome is CallOutcome.ANSWERED) == (call.finished and "answered" in kinds)
    assert call.duration >= timedelta(0)
    assert call.started_at == min(e.at for e in events)
