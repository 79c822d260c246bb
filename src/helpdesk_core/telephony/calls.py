"""One call, rebuilt from the events a telephone system reported about it.

Webhooks arrive late, twice, or in the wrong order (a hangup before the answer that preceded
it). :meth:`Call.from_events` therefore does not replay the events in arrival order: it reads
them as a *set*, so any permutation or repetition of the same events gives the same call.

- the call started at its earliest event, was answered at its earliest ``answered`` event and
  ended at its earliest ``ended``/``missed`` event (a repeated delivery is never earlier than
  the original);
- it is ``ended`` once a terminal event is known, else ``answered`` once an answer is known,
  else ``ringing``;
- an ended call was ``answered`` if any answer is known, ``missed`` if the system reported it
  missed (an inbound call nobody took), and otherwise ``not_connected`` (busy, failed,
  cancelled before anyone answered).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs

from helpdesk_core.domain.keys import unstorable
from helpdesk_core.domain.typecheck import check_fields
from helpdesk_core.domain.values import ensure_utc
from helpdesk_core.errors import ValidationError
from helpdesk_core.ports.messaging import CallEvent

__all__ = ["DIRECTIONS", "KINDS", "Call", "CallOutcome", "CallState", "call_key"]

KINDS = ("ringing", "answered", "ended", "missed")
DIRECTIONS = ("inbound", "outbound")
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}
_TERMINAL = frozenset({"ended", "missed"})
MAX_CALL_ID = 200


class CallState(enum.Enum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class CallOutcome(enum.Enum):
    ANSWERED = "answered"
    MISSED = "missed"
    NOT_CONNECTED = "not_connected"


def call_key(provider_call_id: str) -> str:
    """The key a recorded call is remembered by (article external id, Message-ID index)."""
    return f"call:{provider_call_id}"


def _check(event: CallEvent) -> None:
    if not isinstance(event.provider_call_id, str) or not (
        0 < len(event.provider_call_id) <= MAX_CALL_ID
    ) or unstorable(event.provider_call_id) is not None:
        raise ValidationError("a call id of 1-200 characters, none of them a control "
                              "character, is needed", field="call_id")
    if event.kind not in _RANK:
        raise ValidationError(f"unknown call event {event.kind!r}", field="kind")
    if event.direction not in DIRECTIONS:
        raise ValidationError(f"unknown call direction {event.direction!r}", field="direction")
    ensure_utc(event.at, field="at")


def _order(event: CallEvent) -> tuple[Any, ...]:
    """A total order on events that does not depend on arrival."""
    return (ensure_utc(event.at), _RANK[event.kind], event.direction, event.from_number or "",
            event.to_number or "", event.agent or "")


@attrs.frozen
class Call:
    provider_call_id: str
    direction: str
    from_number: str | None
    to_number: str | None
    agent: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    state: CallState
    outcome: CallOutcome | None  # None while the call is still going on

    def __attrs_post_init__(self) -> None:
        check_fields(self, prefix="call")

    @classmethod
    def from_events(cls, events: Iterable[CallEvent]) -> Call:
        """The call the events describe; refuses an empty set and events of several calls."""
        distinct = set(events)
        if not distinct:
            raise ValidationError("a call needs at least one event", field="events")
        for event in distinct:
            _check(event)
        unique = sorted(distinct, key=_order)
        ids = {e.provider_call_id for e in unique}
        if len(ids) > 1:
            raise ValidationError("events of different calls", field="call_id")
        answered = [e for e in unique if e.kind == "answered"]
        terminal = [e for e in unique if e.kind in _TERMINAL]
        first = unique[0]
        ringing = [e for e in unique if e.kind == "ringing"] or unique
        agent = next((e.agent for e in answered if e.agent), None) or next(
            (e.agent for e in unique if e.agent), None)
        if terminal:
            state = CallState.ENDED
            if answered:
                outcome: CallOutcome | None = CallOutcome.ANSWERED
            elif any(e.kind == "missed" for e in terminal):
                outcome = CallOutcome.MISSED
            else:
                outcome = CallOutcome.NOT_CONNECTED
        else:
            state = CallState.ANSWERED if answered else CallState.RINGING
            outcome = None
        return cls(
            provider_call_id=first.provider_call_id,
            direction=ringing[0].direction,
            from_number=next((e.from_number for e in unique if e.from_number), None),
            to_number=next((e.to_number for e in unique if e.to_number), None),
            agent=agent,
            started_at=ensure_utc(first.at),
            answered_at=ensure_utc(answered[0].at) if answered else None,
            ended_at=ensure_utc(terminal[0].at) if terminal else None,
            state=state,
            outcome=outcome,
        )

    @property
    def finished(self) -> bool:
        return self.state is CallState.ENDED

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"

    @property
    def customer_number(self) -> str | None:
        """The other party: the caller of an inbound call, the callee of an outbound one."""
        return self.from_number if self.inbound else self.to_number

    @property
    def line_number(self) -> str | None:
        """Our own number: the one called, or the one an outbound call was made from."""
        return self.to_number if self.inbound else self.from_number

    @property
    def duration(self) -> timedelta:
        """Talk time: from the answer to the end; zero for a call nobody answered."""
        if self.answered_at is None or self.ended_at is None:
            return timedelta(0)
        return max(self.ended_at - self.answered_at, timedelta(0))

    @property
    def ring_time(self) -> timedelta:
        """How long it rang before it was answered or given up."""
        until = self.answered_at or self.ended_at
        return max(until - self.started_at, timedelta(0)) if until else timedelta(0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: instants in ISO 8601, durations in whole seconds."""
        return {
            "provider_call_id": self.provider_call_id,
            "direction": self.direction,
            "from": self.from_number,
            "to": self.to_number,
            "agent": self.agent,
            "started_at": self.started_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "state": self.state.value,
            "outcome": self.outcome.value if self.outcome else None,
            "duration_seconds": int(self.duration.total_seconds()),
        }
