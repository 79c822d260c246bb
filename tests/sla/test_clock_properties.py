"""Properties of SLA clocks over random ticket stories: the one-shot computation equals the
event-by-event fold, resolution time matches a direct reading of the status history, a
pause never makes a deadline earlier, and a merge undone leaves the clocks as they were."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sla.support import ALWAYS, CZ_LUNCH, CZ_OFFICE, Story, hours

from helpdesk_core.domain import EventKind, Priority, StatusCategory, TicketEvent
from helpdesk_core.errors import InvalidTransition
from helpdesk_core.sla import (
    BusinessCalendar,
    ClockState,
    EscalationLevel,
    SlaClocks,
    SlaPolicy,
    SlaState,
    SlaTarget,
    TargetKind,
    compute_clocks,
    initial_priority,
)

FAST = settings(max_examples=200, deadline=None)

NIGHT = BusinessCalendar.weekly(
    "Europe/Prague", {"mon-sat": "00:00-06:00, 22:00-24:00", "sun": "01:00-02:30, 03:10-05:00"},
    country="CZ")
calendars = st.sampled_from([CZ_OFFICE, CZ_LUNCH, ALWAYS, NIGHT])


def full_policy(calendar: BusinessCalendar) -> SlaPolicy:
    return SlaPolicy("full", calendar, [
        SlaTarget(TargetKind.FIRST_RESPONSE, {Priority.URGENT: hours(1), Priority.HIGH: hours(2),
                                              Priority.NORMAL: hours(4)}),  # none for low
        SlaTarget.uniform(TargetKind.NEXT_RESPONSE, hours(3)),
        SlaTarget.uniform(TargetKind.PERIODIC_UPDATE, hours(6)),
        SlaTarget(TargetKind.RESOLUTION, {Priority.URGENT: hours(4), Priority.HIGH: hours(8),
                                          Priority.NORMAL: hours(16), Priority.LOW: hours(40)}),
    ], escalation=[EscalationLevel(0.5, ["assignee"]), EscalationLevel(1.0, ["team_lead"]),
                   EscalationLevel(2.0, ["helpdesk_manager"])])


starts = st.one_of(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1),
                 timezones=st.just(UTC)),
    st.sampled_from([datetime(2026, 3, 27, 14, tzinfo=UTC), datetime(2026, 10, 23, 14, tzinfo=UTC),
                     datetime(2026, 12, 23, 14, tzinfo=UTC)]),
).map(lambda d: d.replace(second=0, microsecond=0))
priorities = st.sampled_from(list(Priority))
ACTIONS = ["open", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed",
           "reply", "customer", "note", *(p.value for p in Priority)]
steps = st.lists(st.tuples(st.integers(0, 36 * 60), st.sampled_from(ACTIONS)), max_size=14)


def tell(start: datetime, priority: Priority, plan: list[tuple[int, str]]) -> Story:
    story = Story(start, priority=priority)
    at = start
    for minutes, action in plan:
        at += timedelta(minutes=minutes)
        if action == "reply":
            story.reply(at)
        elif action == "customer":
            story.customer_writes(at)
        elif action == "note":
            story.note(at)
        elif action in {p.value for p in Priority}:
            story.priority(Priority(action), at)
        else:
            with contextlib.suppress(InvalidTransition):
                story.status(action, at)
    return story


@FAST
@given(calendars, starts, priorities, steps, st.integers(0, 5 * 24 * 60))
def test_the_fold_event_by_event_equals_the_one_shot_computation(
        calendar: BusinessCalendar, start: datetime, priority: Priority,
        plan: list[tuple[int, str]], later: int) -> None:
    policy = full_policy(calendar)
    events = tell(start, priority, plan).events
    first = initial_priority(events, priority)
    state = SlaState.start(policy, calendar, priority=first)
    for index, event in enumerate(events):
        state = state.apply(event)
        assert state.clocks(event.at) == compute_clocks(events[:index + 1], policy, calendar,
                                                        event.at, priority=first)
    now = events[-1].at + timedelta(minutes=later)
    assert state == SlaState.replay(events, policy, calendar, priority=first)
    assert state.clocks(now) == compute_clocks(events, policy, calendar, now, priority=priority)


def _resolution_by_hand(events: list[TicketEvent], calendar: BusinessCalendar,
                        now: datetime) -> tuple[timedelta, StatusCategory]:
    """Business time spent in new/open, read straight from the status changes."""
    category, since, total = StatusCategory.NEW, events[0].at, timedelta(0)
    for event in events[1:]:
        if event.kind is EventKind.STATUS_CHANGED:
            if category in (StatusCategory.NEW, StatusCategory.OPEN):
                total += calendar.elapsed(since, event.at)
            category, since = StatusCategory(event.data["to_category"]), event.at
    if category in (StatusCategory.NEW, StatusCategory.OPEN):
        total += calendar.elapsed(since, now)
    return total, category


@FAST
@given(calendars, starts, priorities, steps, st.integers(0, 5 * 24 * 60))
def test_resolution_time_is_the_business_time_spent_open(
        calendar: BusinessCalendar, start: datetime, priority: Priority,
        plan: list[tuple[int, str]], later: int) -> None:
    policy = full_policy(calendar)
    events = tell(start, priority, plan).events
    now = events[-1].at + timedelta(minutes=later)
    found = compute_clocks(events, policy, calendar, now, priority=priority).get(
        TargetKind.RESOLUTION)
    assert found is not None
    elapsed, category = _resolution_by_hand(events, calendar, now)
    assert found.elapsed == elapsed
    assert found.duration is not None
    assert (found.state is ClockState.BREACHED) == (elapsed > found.duration)
    if found.state is not ClockState.BREACHED:
        expected = {StatusCategory.NEW: ClockState.RUNNING, StatusCategory.OPEN: ClockState.RUNNING,
                    StatusCategory.WAITING_ON_CUSTOMER: ClockState.PAUSED,
                    StatusCategory.WAITING_ON_THIRD_PARTY: ClockState.PAUSED,
                    StatusCategory.RESOLVED: ClockState.MET, StatusCategory.CLOSED: ClockState.MET}
        assert found.state is expected[category]
    if found.state is ClockState.RUNNING:
        assert found.due is not None
        assert calendar.elapsed(now, found.due) == found.remaining


pauses = st.lists(st.tuples(st.integers(0, 3 * 24 * 60), st.integers(1, 3 * 24 * 60),
                            st.sampled_from(["waiting_on_customer", "waiting_on_third_party"])),
                  min_size=1, max_size=5)


@FAST
@given(calendars, starts, priorities, pauses)
def test_a_pause_never_makes_a_deadline_earlier(
        calendar: BusinessCalendar, start: datetime, priority: Priority,
        plan: list[tuple[int, int, str]]) -> None:
    policy = full_policy(calendar)
    previous: dict[TargetKind, datetime | None] = {}
    for count in range(len(plan) + 1):
        story, at = Story(start, priority=priority), start
        for gap, length, waiting in plan[:count]:
            at += timedelta(minutes=gap)
            story.status(waiting, at)
            at += timedelta(minutes=length)
            story.status("open", at)
        found = compute_clocks(story.events, policy, calendar, at, priority=priority)
        for kind in (TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION):
            clock = found.get(kind)
            assert clock is not None
            before = previous.get(kind)
            if before is not None:
                assert clock.due is not None
                assert clock.due >= before
            previous[kind] = clock.due


@FAST
@given(calendars, starts, priorities, steps, st.integers(0, 3 * 24 * 60),
       st.integers(0, 5 * 24 * 60), st.integers(0, 3 * 24 * 60))
def test_a_merge_undone_leaves_the_clocks_as_they_were_at_the_merge(
        calendar: BusinessCalendar, start: datetime, priority: Priority,
        plan: list[tuple[int, str]], gap: int, length: int, later: int) -> None:
    policy = full_policy(calendar)
    story = tell(start, priority, plan)
    before = list(story.events)
    merged_at = before[-1].at + timedelta(minutes=gap)
    undone_at = merged_at + timedelta(minutes=length)
    events = story.merged(merged_at).unmerged(undone_at).events
    at_merge = compute_clocks(before, policy, calendar, merged_at, priority=priority)
    after_undo = compute_clocks(events, policy, calendar, undone_at, priority=priority)

    def seen(clocks: SlaClocks) -> list[tuple[object, ...]]:
        return [(c.kind, c.state, c.elapsed, c.cycles, c.breached_cycles, c.open,
                 c.started_at, c.ended_at) for c in clocks.clocks]

    assert seen(after_undo) == seen(at_merge)
    # While merged nothing is open, nothing is due, and no cycle breaches for the merge.
    merged = compute_clocks(events[:len(before) + 2], policy, calendar, undone_at,
                            priority=priority)
    assert merged.next_deadline is None
    for clock, was in zip(merged.clocks, at_merge.clocks, strict=True):
        assert not clock.open
        assert clock.breached_cycles == was.breached_cycles
        assert clock.state is (was.state if was.state in (ClockState.MET, ClockState.BREACHED)
                               else ClockState.MERGED)
    # Later on, the undone history reads as the one without the merge on a calendar that
    # does not count [merged_at, undone_at): the same business time, shifted by the interval.
    now = undone_at + timedelta(minutes=later)
    found = compute_clocks(events, policy, calendar, now, priority=priority)
    for clock, was in zip(found.clocks, at_merge.clocks, strict=True):
        if was.state is ClockState.RUNNING and clock.cycles == was.cycles:
            assert clock.elapsed == was.elapsed + calendar.elapsed(undone_at, now)
    # And the fold event by event still equals the one-shot computation.
    first = initial_priority(events, priority)
    state = SlaState.start(policy, calendar, priority=first)
    for event in events:
        state = state.apply(event)
    assert state.clocks(now) == found
