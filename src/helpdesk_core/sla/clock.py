"""SLA clocks as a pure function of a ticket's history, its policy and a business calendar.

Nothing here is stored that cannot be recomputed: :func:`compute_clocks` folds the ticket's
events (:class:`~helpdesk_core.domain.history.TicketEvent`, in ``seq`` order) into an
:class:`SlaState` and reads the clocks off it at ``now``. The same fold, applied one event at a
time with :meth:`SlaState.apply`, gives the same answer, so a caller may keep the state and
feed it new events instead of replaying.

Rules
-----
Each target is measured in *cycles*: a cycle starts, runs (business time counts), may pause and
resume, and ends. Its elapsed business time is compared with the target's duration for the
ticket's priority.

- **Running, paused, stopped.** Clocks run while the status category is ``new`` or ``open``;
  they pause while it is ``waiting_on_customer`` or ``waiting_on_third_party``; ``resolved``,
  ``closed`` and ``merged`` stop them. A paused or stopped clock keeps its elapsed time, so a
  ticket leaving a pause is never overdue the moment it leaves: it continues where it stopped.
- **first_response**: one cycle from creation to the first *agent reply* — an ``article_added``
  event with ``direction`` ``outbound``, ``public`` true and an agent as actor.
- **next_response**: a cycle starts with a *customer message* (``direction`` ``inbound``,
  ``public`` true, actor not an agent) when no cycle is running already and the first-response
  target is not still waiting for its reply; it ends at the next agent reply. Further customer
  messages before that reply do not restart it: the oldest unanswered message counts.
- **periodic_update**: a cycle starts at creation; every agent reply ends it and starts the
  next, so it measures the longest business time between agent replies while the ticket is
  worked on. Stopping (resolved, closed, merged) ends the cycle; reopening starts a fresh one.
- **resolution**: one cycle from creation; it ends when the ticket is resolved, closed or
  merged, and when the ticket is reopened the same cycle continues with the elapsed time it had.
- **A stop ends a waiting response cycle**: a first or next response still open when the ticket
  is resolved or closed counts as answered then (met if within its duration).
- **Priority re-targets**: a running or paused cycle is always measured against the duration
  of the ticket's *current* priority, over its whole elapsed time; an ended cycle keeps the
  duration of the priority it ended with. A priority without a duration has no such target.
- **Merging stops without a verdict**: a status change into ``merged`` ends every open cycle
  with the outcome ``merged into <number>`` (``another ticket`` until the ``merged`` event names
  it). Such a cycle is ``merged``, neither met nor breached, unless its elapsed business time
  was already above its duration at the merge: that breach happened before and stays.
- **Undoing a merge restores the clocks**: a status change out of ``merged`` reopens every cycle
  the merge ended, with the elapsed time it had; they run if the new category runs and stay
  paused if it waits. A cycle that had ended before the merge stays ended, and the merged
  interval does not count. It is not a reopening: no periodic-update cycle starts.
- **A merge can owe the first response since earlier**: a ``merge_received`` event whose
  ``first_response_since`` is earlier than the start of the still-open first-response cycle
  starts that cycle then (its clock counts from that instant to its old start), so its due
  instant moves earlier. A met first response, or a later instant, changes nothing. A
  ``merge_released`` event (that merge undone) moves the start back to the earliest instant
  a merge still standing owes it since, else to the cycle's own start.
- **States**: ``running`` or ``paused`` while a cycle is open, ``met`` when it ended within its
  duration, ``merged`` when a merge ended it within its duration, ``breached`` when its
  elapsed business time exceeds the duration (ended late, or still open past its due instant).
- **Due instant**: when the elapsed time reaches the duration if the clock runs on from its
  last resumption; in the past for a breached clock; unknown (None) while paused before
  reaching it, because it depends on when the clock resumes.
- **Escalation levels** are instants at which a fraction of the duration has elapsed, found the
  same way; :func:`next_deadline` is the earliest of them, or of the due instants, after now.
- **Explanations**: every event that moves a due instant adds a :class:`DeadlineChange`
  saying when, which target, old and new due, why, and which event (its ``seq``).
- Events are applied in ``seq`` order; an event stamped earlier than its predecessor is taken
  to happen at its predecessor's time. :func:`compute_clocks` ignores events after ``now``.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.values import ActorKind, Priority, ensure_utc
from helpdesk_core.sla.calendar import BusinessCalendar
from helpdesk_core.sla.policy import EscalationLevel, SlaPolicy, TargetKind

__all__ = [
    "ClockState",
    "Cycle",
    "DeadlineChange",
    "EscalationPoint",
    "Segment",
    "SlaClocks",
    "SlaState",
    "TargetClock",
    "changes_between",
    "compute_clocks",
    "initial_priority",
    "next_deadline",
]

_ZERO = timedelta(0)
_C = StatusCategory
_RUNNING = frozenset({_C.NEW, _C.OPEN})
_STOPPED = frozenset({_C.RESOLVED, _C.CLOSED, _C.MERGED})
_SLA_EVENTS = frozenset({EventKind.CREATED, EventKind.STATUS_CHANGED,
                         EventKind.PRIORITY_CHANGED, EventKind.ARTICLE_ADDED,
                         EventKind.MERGED, EventKind.MERGE_RECEIVED,
                         EventKind.MERGE_RELEASED})
_ANOTHER_TICKET = "another ticket"
_RESPONSES = (TargetKind.FIRST_RESPONSE, TargetKind.NEXT_RESPONSE)


class ClockState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    MERGED = "merged"  # ended by merging the ticket into another, not breached before that


@attrs.frozen
class Segment:
    """A stretch during which a cycle's clock ran; ``end`` None while it still runs."""

    start: datetime
    end: datetime | None = None


@attrs.frozen
class Cycle:
    """One measured wait: from its start to the reply, update or resolution that ended it."""

    started_at: datetime
    segments: tuple[Segment, ...] = ()
    ended_at: datetime | None = None
    outcome: str | None = None  # why it ended: "met: public reply by Petra", "resolved" ...
    ended_priority: Priority | None = None  # the priority it is judged by once ended
    merged: bool = False  # ended by a merge: undoing the merge reopens it
    # Merges that made this cycle owed since earlier (operation, since), and its own start
    # before the first of them: undoing such a merge moves the start back.
    owed: tuple[tuple[str, datetime], ...] = ()
    own_start: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def running(self) -> bool:
        return bool(self.segments) and self.segments[-1].end is None

    def _run(self, at: datetime) -> Cycle:
        if self.ended or self.running:
            return self
        return attrs.evolve(self, segments=(*self.segments, Segment(at)))

    def _pause(self, at: datetime) -> Cycle:
        if not self.running:
            return self
        last = self.segments[-1]
        return attrs.evolve(self, segments=(*self.segments[:-1], Segment(last.start, at)))

    def _end(self, at: datetime, outcome: str, priority: Priority) -> Cycle:
        paused = self._pause(at)
        return attrs.evolve(paused, ended_at=at, outcome=outcome, ended_priority=priority)

    def _reopen(self) -> Cycle:
        return attrs.evolve(self, ended_at=None, outcome=None, ended_priority=None, merged=False)

    def _owed_since(self, since: datetime, operation: str = "") -> Cycle:
        """The cycle started at ``since`` instead, its clock running until its old start."""
        return attrs.evolve(self, started_at=since,
                            segments=(Segment(since, self.started_at), *self.segments),
                            owed=(*self.owed, (operation, since)),
                            own_start=self.own_start or self.started_at)

    def _released(self, operation: str) -> Cycle:
        """The merge ``operation`` undone: the cycle starts where the remaining merges (or
        its own start) say, and the time before that no longer counts."""
        if self.own_start is None or not any(op == operation for op, _ in self.owed):
            return self
        owed = tuple((op, since) for op, since in self.owed if op != operation)
        start = min([self.own_start, *(since for _, since in owed)])
        own = tuple(seg for seg in self.segments if seg.start >= self.own_start)
        lead = (Segment(start, self.own_start),) if start < self.own_start else ()
        return attrs.evolve(self, started_at=start, segments=(*lead, *own), owed=owed,
                            own_start=self.own_start if owed else None)

    def elapsed(self, calendar: BusinessCalendar, now: datetime) -> timedelta:
        total = _ZERO
        for segment in self.segments:
            end = now if segment.end is None else min(segment.end, now)
            total += calendar.elapsed(segment.start, end)
        return total

    def instant_at(self, calendar: BusinessCalendar, amount: timedelta) -> datetime | None:
        """When ``amount`` of business time has elapsed in this cycle, counting on from the
        last segment if it still runs; None if the cycle stopped or paused before that."""
        remaining = amount
        for segment in self.segments:
            if segment.end is None:
                return calendar.add(segment.start, remaining)
            length = calendar.elapsed(segment.start, segment.end)
            if remaining <= length:
                return calendar.add(segment.start, remaining)
            remaining -= length
        return None


@attrs.frozen
class DeadlineChange:
    """A due instant moved: at ``at``, ``target``'s due went from ``old_due`` to ``new_due``.
    ``seq`` is the history event that moved it (None: no event did, as for a policy change)."""

    at: datetime
    target: TargetKind
    old_due: datetime | None
    new_due: datetime | None
    reason: str
    seq: int | None = None


@attrs.frozen
class EscalationPoint:
    """The instant at which ``level``'s fraction of ``target`` is reached (None: not known
    yet, the clock is paused before it)."""

    target: TargetKind
    level: EscalationLevel
    at: datetime | None
    reached: bool


@attrs.frozen
class TargetClock:
    """A target's clock read at ``now``: its latest cycle, and how earlier cycles went."""

    kind: TargetKind
    state: ClockState
    duration: timedelta | None
    elapsed: timedelta
    remaining: timedelta | None  # business time left before due; zero once due
    due: datetime | None
    started_at: datetime
    ended_at: datetime | None
    cycles: int
    breached_cycles: int
    escalations: tuple[EscalationPoint, ...] = ()

    @property
    def open(self) -> bool:
        return self.ended_at is None


@attrs.frozen
class SlaClocks:
    """Every target's clock at ``now``, and the explained history of due changes."""

    now: datetime
    clocks: tuple[TargetClock, ...]
    changes: tuple[DeadlineChange, ...]

    def get(self, kind: TargetKind) -> TargetClock | None:
        for clock in self.clocks:
            if clock.kind is kind:
                return clock
        return None

    @property
    def next_deadline(self) -> datetime | None:
        """The earliest escalation instant or due instant after ``now`` of an open cycle."""
        instants = [
            instant
            for clock in self.clocks if clock.open
            for instant in (clock.due, *(p.at for p in clock.escalations))
            if instant is not None and instant > self.now
        ]
        return min(instants, default=None)


def _status_words(category: StatusCategory) -> str:
    return category.value.replace("_", " ")


def _category(event: TicketEvent) -> StatusCategory | None:
    """The category a status change moved to; a built-in status key is its own category."""
    for value in (event.data.get("to_category"), event.new):
        try:
            return StatusCategory(value)
        except ValueError:
            continue
    return None


def _who(event: TicketEvent) -> str:
    return event.actor.name or event.actor.id or event.actor.kind.value


@attrs.frozen
class SlaState:
    """The fold of a ticket's history: status, priority and the cycles of every target the
    policy has. Start with :meth:`start`, feed events with :meth:`apply` (each returns a new
    state), read with :meth:`clocks`."""

    policy: SlaPolicy = attrs.field(eq=False, repr=False)
    calendar: BusinessCalendar = attrs.field(eq=False, repr=False)
    priority: Priority
    status: StatusCategory = StatusCategory.NEW
    created: bool = False
    last_at: datetime | None = None
    cycles: tuple[tuple[TargetKind, tuple[Cycle, ...]], ...] = ()
    changes: tuple[DeadlineChange, ...] = ()
    merge_seq: int | None = None  # the status change that merged the ticket, while merged

    @classmethod
    def start(cls, policy: SlaPolicy, calendar: BusinessCalendar | None = None, *,
              priority: Priority = Priority.NORMAL) -> SlaState:
        """An empty state. ``priority`` is the ticket's priority at creation, used unless the
        ``created`` event names one in its data."""
        return cls(policy, calendar or policy.calendar, priority,
                   cycles=tuple((t.kind, ()) for t in policy.targets))

    @classmethod
    def replay(cls, history: Iterable[TicketEvent], policy: SlaPolicy,
               calendar: BusinessCalendar | None = None, *,
               priority: Priority | None = None) -> SlaState:
        """The fold of ``history`` (sorted by ``seq``); ``priority`` is the creation priority
        when known, else it is read from the history (see :func:`initial_priority`)."""
        events = sorted(history, key=lambda e: e.seq)
        start = priority if priority is not None else initial_priority(events)
        state = cls.start(policy, calendar, priority=start)
        for event in events:
            state = state.apply(event)
        return state

    # -- reading ---------------------------------------------------------------------------

    def cycles_of(self, kind: TargetKind) -> tuple[Cycle, ...]:
        for target, cycles in self.cycles:
            if target is kind:
                return cycles
        return ()

    def _duration(self, kind: TargetKind, priority: Priority) -> timedelta | None:
        target = self.policy.target(kind)
        return None if target is None else target.duration_for(priority)

    def _pending_due(self, kind: TargetKind) -> datetime | None:
        cycles = self.cycles_of(kind)
        if not cycles or cycles[-1].ended:
            return None
        duration = self._duration(kind, self.priority)
        return None if duration is None else cycles[-1].instant_at(self.calendar, duration)

    def _pending_dues(self) -> dict[TargetKind, datetime | None]:
        return {kind: self._pending_due(kind) for kind, _ in self.cycles}

    def clocks(self, now: datetime) -> SlaClocks:
        now = ensure_utc(now, field="now")
        clocks = []
        for kind, cycles in self.cycles:
            if cycles:
                clocks.append(self._clock(kind, cycles, now))
        return SlaClocks(now, tuple(clocks), self.changes)

    def _judge(self, kind: TargetKind, cycle: Cycle, now: datetime
               ) -> tuple[timedelta, timedelta | None, bool]:
        priority = cycle.ended_priority if cycle.ended_priority is not None else self.priority
        duration = self._duration(kind, priority)
        elapsed = cycle.elapsed(self.calendar, now)
        return elapsed, duration, duration is not None and elapsed > duration

    def _clock(self, kind: TargetKind, cycles: tuple[Cycle, ...], now: datetime) -> TargetClock:
        current = cycles[-1]
        elapsed, duration, breached = self._judge(kind, current, now)
        earlier_breaches = sum(self._judge(kind, c, now)[2] for c in cycles[:-1])
        due = None if duration is None else current.instant_at(self.calendar, duration)
        if breached:
            state = ClockState.BREACHED
        elif current.ended:
            state = ClockState.MERGED if current.merged else ClockState.MET
        elif current.running and current.segments[-1].start <= now:
            state = ClockState.RUNNING
        else:
            state = ClockState.PAUSED
        points: tuple[EscalationPoint, ...] = ()
        if not current.ended and duration is not None:
            found = []
            for level in self.policy.levels_for(kind):
                at = current.instant_at(self.calendar, duration * level.fraction)
                found.append(EscalationPoint(kind, level, at, at is not None and at <= now))
            points = tuple(found)
        return TargetClock(
            kind=kind, state=state, duration=duration, elapsed=elapsed,
            remaining=None if duration is None else max(duration - elapsed, _ZERO),
            due=due, started_at=current.started_at, ended_at=current.ended_at,
            cycles=len(cycles), breached_cycles=earlier_breaches + breached,
            escalations=points,
        )

    # -- folding ---------------------------------------------------------------------------

    def apply(self, event: TicketEvent) -> SlaState:
        """The state after ``event``; events that do not concern SLA only advance time."""
        at = ensure_utc(event.at)
        if self.last_at is not None and at < self.last_at:
            at = self.last_at
        # Only the first ``created`` starts the clocks; nothing counts before it.
        if event.kind not in _SLA_EVENTS or (self.created is (event.kind is EventKind.CREATED)):
            return attrs.evolve(self, last_at=at)
        before = self._pending_dues()
        state, reasons = self._step(event, at)
        after = state._pending_dues()
        changes = [
            DeadlineChange(at, kind, before.get(kind), due,
                           reasons.get(kind, reasons.get(None, "")), event.seq)
            for kind, due in after.items() if due != before.get(kind)
        ]
        return attrs.evolve(state, last_at=at, changes=(*state.changes, *changes))

    def _map(self, change: dict[TargetKind, tuple[Cycle, ...]]) -> SlaState:
        return attrs.evolve(self, cycles=tuple(
            (kind, change.get(kind, cycles)) for kind, cycles in self.cycles))

    def _each_open(self, operation: str, at: datetime) -> SlaState:
        """Run or pause the open cycle of every target."""
        change = {}
        for kind, cycles in self.cycles:
            if cycles and not cycles[-1].ended:
                last = cycles[-1]._run(at) if operation == "run" else cycles[-1]._pause(at)
                change[kind] = (*cycles[:-1], last)
        return self._map(change)

    def _begin_cycle(self, kind: TargetKind, at: datetime) -> SlaState:
        cycles = self.cycles_of(kind)
        if kind not in dict(self.cycles):
            return self
        fresh = Cycle(at)
        if self.status in _RUNNING:
            fresh = fresh._run(at)
        return self._map({kind: (*cycles, fresh)})

    def _end_cycle(self, kind: TargetKind, at: datetime, outcome: str) -> SlaState:
        cycles = self.cycles_of(kind)
        if not cycles or cycles[-1].ended:
            return self
        return self._map({kind: (*cycles[:-1], cycles[-1]._end(at, outcome, self.priority))})

    def _open(self, kind: TargetKind) -> bool:
        cycles = self.cycles_of(kind)
        return bool(cycles) and not cycles[-1].ended

    def _step(self, event: TicketEvent, at: datetime
              ) -> tuple[SlaState, dict[TargetKind | None, str]]:
        if event.kind is EventKind.CREATED:
            return self._created(event, at), {None: "ticket created"}
        if event.kind is EventKind.PRIORITY_CHANGED:
            try:
                priority = Priority(event.new)
            except ValueError:
                return self, {}
            reason = f"priority {self.priority.value} → {priority.value}"
            return attrs.evolve(self, priority=priority), {None: reason}
        if event.kind is EventKind.STATUS_CHANGED:
            return self._status_changed(event, at)
        if event.kind is EventKind.MERGED:
            return self._merged(event), {}
        if event.kind is EventKind.MERGE_RECEIVED:
            return self._merge_received(event)
        if event.kind is EventKind.MERGE_RELEASED:
            return self._merge_released(event)
        return self._article(event, at)

    def _created(self, event: TicketEvent, at: datetime) -> SlaState:
        state = attrs.evolve(self, created=True, status=StatusCategory.NEW)
        with contextlib.suppress(KeyError, ValueError):
            state = attrs.evolve(state, priority=Priority(event.data["priority"]))
        for kind in (TargetKind.FIRST_RESPONSE, TargetKind.PERIODIC_UPDATE,
                     TargetKind.RESOLUTION):
            state = state._begin_cycle(kind, at)
        return state

    def _status_changed(self, event: TicketEvent, at: datetime
                        ) -> tuple[SlaState, dict[TargetKind | None, str]]:
        new = _category(event)
        if new is None:
            return self, {}
        old = self.status
        state = attrs.evolve(self, status=new)
        if new is _C.MERGED:
            return state._merge_stop(event, at)
        if old is _C.MERGED or event.data.get("from_category") == _C.MERGED.value:
            return state._merge_undone(new, at)
        reopened = old in _STOPPED and new not in _STOPPED
        if reopened:
            resolution = state.cycles_of(TargetKind.RESOLUTION)
            if resolution:
                state = state._map({TargetKind.RESOLUTION:
                                    (*resolution[:-1], resolution[-1]._reopen())})
            if not state._open(TargetKind.PERIODIC_UPDATE):
                state = state._begin_cycle(TargetKind.PERIODIC_UPDATE, at)
        if new in _RUNNING:
            reason = "reopened" if reopened else "resumed" if old.is_waiting else ""
            return state._each_open("run", at), {None: reason}
        if new.is_waiting:
            paused = f"paused: {_status_words(new)}"
            return (state._each_open("pause", at),
                    {None: f"reopened, {paused}" if reopened else paused})
        # resolved, closed: every open cycle ends
        word = _status_words(new)
        for kind, _ in state.cycles:
            state = state._end_cycle(kind, at, word)
        return state, {None: f"stopped: {word}"}

    def _merge_stop(self, event: TicketEvent, at: datetime
                    ) -> tuple[SlaState, dict[TargetKind | None, str]]:
        """Merged into another ticket: every open cycle ends, marked as ended by the merge
        (judged ``merged``, not met, unless it was breached already)."""
        number = event.data.get("other_number") or _ANOTHER_TICKET
        outcome = f"merged into {number}"
        state = attrs.evolve(self, merge_seq=event.seq)
        for kind, cycles in self.cycles:
            if cycles and not cycles[-1].ended:
                ended = attrs.evolve(cycles[-1]._end(at, outcome, self.priority), merged=True)
                state = state._map({kind: (*cycles[:-1], ended)})
        return state, {None: f"stopped: {outcome}"}

    def _merge_undone(self, new: StatusCategory, at: datetime
                      ) -> tuple[SlaState, dict[TargetKind | None, str]]:
        """The merge undone (``new`` is the category the ticket had): what the merge ended is
        open again with the elapsed time it had, running from now if ``new`` runs; what had
        ended before the merge stays ended. Not a reopening: no periodic update starts."""
        state = attrs.evolve(self, merge_seq=None)._map({
            kind: (*cycles[:-1], cycles[-1]._reopen())
            for kind, cycles in self.cycles if cycles and cycles[-1].merged})
        if new in _RUNNING:
            return state._each_open("run", at), {None: "merge undone"}
        if new.is_waiting:
            return state, {None: f"merge undone, paused: {_status_words(new)}"}
        return state, {None: f"merge undone, {_status_words(new)}"}

    def _merged(self, event: TicketEvent) -> SlaState:
        """The ``merged`` event names the target the status change did not: the cycles the
        merge ended, and the explanation of the stop, name it from now on."""
        number = event.data.get("other_number")
        if not number or self.status is not _C.MERGED:
            return self
        vague, named = f"merged into {_ANOTHER_TICKET}", f"merged into {number}"
        state = self._map({kind: (*cycles[:-1], attrs.evolve(cycles[-1], outcome=named))
                           for kind, cycles in self.cycles
                           if cycles and cycles[-1].merged and cycles[-1].outcome == vague})
        changes = tuple(
            attrs.evolve(c, reason=f"stopped: {named}")
            if c.seq is not None and c.seq == self.merge_seq and c.reason == f"stopped: {vague}"
            else c
            for c in self.changes)
        return attrs.evolve(state, changes=changes)

    def _merge_received(self, event: TicketEvent
                        ) -> tuple[SlaState, dict[TargetKind | None, str]]:
        """Another ticket merged into this one, whose first response is owed since earlier:
        this ticket's first response, if still owed, is owed since then."""
        raw = event.data.get("first_response_since")
        cycles = self.cycles_of(TargetKind.FIRST_RESPONSE)
        if not raw or not cycles or cycles[-1].ended:
            return self, {}
        try:
            since = ensure_utc(datetime.fromisoformat(str(raw)))
        except ValueError:
            return self, {}
        operation = str(event.data.get("operation", ""))
        current = cycles[-1]
        if since >= current.started_at:
            if current.own_start is not None and since < current.own_start:
                # Owed since later than an earlier merge says: counts once that one is undone.
                kept = attrs.evolve(current, owed=(*current.owed, (operation, since)))
                return self._map({TargetKind.FIRST_RESPONSE: (*cycles[:-1], kept)}), {}
            return self, {}
        number = event.data.get("other_number") or _ANOTHER_TICKET
        reason = f"merge of {number}: first response owed since {since.isoformat()}"
        return (self._map({TargetKind.FIRST_RESPONSE: (*cycles[:-1],
                                                       cycles[-1]._owed_since(since, operation))}),
                {TargetKind.FIRST_RESPONSE: reason})

    def _merge_released(self, event: TicketEvent
                        ) -> tuple[SlaState, dict[TargetKind | None, str]]:
        """A merge that made the first response owed since earlier was undone: the start it
        moved goes back (only while that response is still owed)."""
        cycles = self.cycles_of(TargetKind.FIRST_RESPONSE)
        if not cycles or cycles[-1].ended:
            return self, {}
        released = cycles[-1]._released(str(event.data.get("operation", "")))
        if released == cycles[-1]:
            return self, {}
        number = event.data.get("other_number") or _ANOTHER_TICKET
        return (self._map({TargetKind.FIRST_RESPONSE: (*cycles[:-1], released)}),
                {TargetKind.FIRST_RESPONSE: f"merge of {number} undone"})

    def _article(self, event: TicketEvent, at: datetime
                 ) -> tuple[SlaState, dict[TargetKind | None, str]]:
        data = event.data
        if data.get("public") is not True:
            return self, {}
        direction = data.get("direction")
        by_agent = event.actor.kind is ActorKind.AGENT
        if direction == "outbound" and by_agent:
            outcome = f"met: public reply by {_who(event)}"
            state = self
            for kind in (*_RESPONSES, TargetKind.PERIODIC_UPDATE):
                state = state._end_cycle(kind, at, outcome)
            reasons: dict[TargetKind | None, str] = {None: outcome}
            if self._open(TargetKind.PERIODIC_UPDATE) and self.status not in _STOPPED:
                state = state._begin_cycle(TargetKind.PERIODIC_UPDATE, at)
                reasons[TargetKind.PERIODIC_UPDATE] = (
                    f"public update by {_who(event)}: next update due")
            return state, reasons
        if direction == "inbound" and not by_agent:
            if self._open(TargetKind.NEXT_RESPONSE) or self._open(TargetKind.FIRST_RESPONSE):
                return self, {}
            return (self._begin_cycle(TargetKind.NEXT_RESPONSE, at),
                    {None: f"message from {_who(event)} awaits a reply"})
        return self, {}


def initial_priority(history: Iterable[TicketEvent], current: Priority | None = None
                     ) -> Priority:
    """The priority a ticket was created with: named in the ``created`` event's data, else the
    old value of its first priority change, else ``current`` (the ticket's priority now, which
    is the creation priority when it never changed), else ``normal``."""
    first_change: Priority | None = None
    for event in history:
        if event.kind is EventKind.CREATED and "priority" in event.data:
            with contextlib.suppress(ValueError):
                return Priority(event.data["priority"])
        if event.kind is EventKind.PRIORITY_CHANGED and first_change is None:
            with contextlib.suppress(ValueError):
                first_change = Priority(event.old)
    if first_change is not None:
        return first_change
    return current if current is not None else Priority.NORMAL


def compute_clocks(history: Iterable[TicketEvent], policy: SlaPolicy,
                   calendar: BusinessCalendar | None, now: datetime, *,
                   priority: Priority | None = None) -> SlaClocks:
    """Every target's clock at ``now`` from the events up to ``now``. ``calendar`` None uses
    the policy's own; ``priority`` is the ticket's current priority, needed only when the
    history does not name the one it was created with."""
    now = ensure_utc(now, field="now")
    events = sorted(history, key=lambda e: e.seq)
    start = initial_priority(events, priority)
    past = [e for e in events if ensure_utc(e.at) <= now]
    return SlaState.replay(past, policy, calendar, priority=start).clocks(now)


def changes_between(before: SlaClocks, after: SlaClocks, *, at: datetime, reason: str
                    ) -> list[DeadlineChange]:
    """The due instants a recomputation moved — after a policy or calendar change, say — as
    explained changes: ``changes_between(old, new, at=now, reason="policy gold → standard")``.
    Only open targets have a due instant to move."""
    at = ensure_utc(at)
    kinds = [c.kind for c in before.clocks] + [c.kind for c in after.clocks]

    def due(clocks: SlaClocks, kind: TargetKind) -> datetime | None:
        found = clocks.get(kind)
        return found.due if found is not None and found.open else None

    return [DeadlineChange(at, kind, due(before, kind), due(after, kind), reason)
            for kind in dict.fromkeys(kinds) if due(before, kind) != due(after, kind)]


def next_deadline(history: Iterable[TicketEvent], policy: SlaPolicy,
                  calendar: BusinessCalendar | None, now: datetime, *,
                  priority: Priority | None = None) -> datetime | None:
    """The earliest escalation level or due instant after ``now`` of any open target: when a
    sweeper next has something to do for this ticket."""
    return compute_clocks(history, policy, calendar, now, priority=priority).next_deadline
