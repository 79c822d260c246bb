"""SLA clocks derived from ticket histories: the tracker's example and the rules one by one."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.sla.support import (
    AGENT,
    CZ_LUNCH,
    CZ_OFFICE,
    Story,
    hours,
    prague,
    resolution_policy,
    shown,
)

from helpdesk_core.domain import (
    Actor,
    Channel,
    Direction,
    EventKind,
    Priority,
    Status,
    StatusCategory,
    TicketEvent,
    Workflow,
)
from helpdesk_core.sla import (
    ClockState,
    EscalationLevel,
    SlaPolicy,
    SlaState,
    SlaTarget,
    TargetClock,
    TargetKind,
    compute_clocks,
    initial_priority,
    next_deadline,
)

R = TargetKind.RESOLUTION
FIRST = TargetKind.FIRST_RESPONSE
NEXT = TargetKind.NEXT_RESPONSE
PERIODIC = TargetKind.PERIODIC_UPDATE

LEVELS = [EscalationLevel(0.75, ["assignee"]), EscalationLevel(1.0, ["team_lead"]),
          EscalationLevel(1.5, ["helpdesk_manager"], channels=["email", "sms"])]
FULL = SlaPolicy("full", CZ_OFFICE, [
    SlaTarget(FIRST, {Priority.URGENT: hours(1), Priority.HIGH: hours(2),
                      Priority.NORMAL: hours(4), Priority.LOW: hours(8)}),
    SlaTarget.uniform(NEXT, hours(4)),
    SlaTarget.uniform(PERIODIC, hours(6)),
    SlaTarget(R, {Priority.URGENT: hours(4), Priority.HIGH: hours(8),
                  Priority.NORMAL: hours(16), Priority.LOW: hours(40)}),
], escalation=LEVELS)


def clock(story: Story, policy: SlaPolicy, now: datetime, kind: TargetKind = R) -> TargetClock:
    found = compute_clocks(story.events, policy, None, now)
    result = found.get(kind)
    assert result is not None
    return result


def explained(story: Story, policy: SlaPolicy, kind: TargetKind = R) -> list[tuple[str | None,
                                                                                  ...]]:
    found = compute_clocks(story.events, policy, None, prague(2030, 1, 1))
    return [(shown(c.at), shown(c.old_due), shown(c.new_due), c.reason)
            for c in found.changes if c.target is kind]


# -- the tracker's example ---------------------------------------------------------------


def test_tracker_example_due_monday_after_christmas() -> None:
    story = Story(prague(2026, 12, 23, 15))
    found = clock(story, resolution_policy(), prague(2026, 12, 23, 15, 30))
    assert found.state is ClockState.RUNNING
    assert shown(found.due) == "Mon 2026-12-28 15:00"
    assert found.elapsed == timedelta(minutes=30)
    assert found.remaining == hours(7.5)


def test_tracker_example_waiting_on_the_customer_moves_it_to_tuesday_16_00() -> None:
    story = (Story(prague(2026, 12, 23, 15))
             .status("waiting_on_customer", prague(2026, 12, 28, 9))
             .status("open", prague(2026, 12, 29, 10)))
    paused = clock(story, resolution_policy(), prague(2026, 12, 28, 12))
    assert paused.state is ClockState.PAUSED
    assert paused.due is None  # depends on when the customer answers
    assert paused.elapsed == hours(2)  # Wednesday 15-16, Monday 8-9
    assert paused.remaining == hours(6)
    resumed = clock(story, resolution_policy(), prague(2026, 12, 29, 10))
    assert resumed.state is ClockState.RUNNING
    assert shown(resumed.due) == "Tue 2026-12-29 16:00"
    assert explained(story, resolution_policy()) == [
        ("Wed 2026-12-23 15:00", None, "Mon 2026-12-28 15:00", "ticket created"),
        ("Mon 2026-12-28 09:00", "Mon 2026-12-28 15:00", None, "paused: waiting on customer"),
        ("Tue 2026-12-29 10:00", None, "Tue 2026-12-29 16:00", "resumed"),
    ]


def test_tracker_example_is_met_when_resolved_on_tuesday() -> None:
    story = (Story(prague(2026, 12, 23, 15))
             .status("waiting_on_customer", prague(2026, 12, 28, 9))
             .status("open", prague(2026, 12, 29, 10))
             .status("resolved", prague(2026, 12, 29, 15, 59)))
    done = clock(story, resolution_policy(), prague(2027, 1, 10))
    assert done.state is ClockState.MET
    assert done.elapsed == hours(8) - timedelta(minutes=1)
    assert done.ended_at == prague(2026, 12, 29, 15, 59)


# -- pauses ------------------------------------------------------------------------------


def test_leaving_a_pause_continues_where_the_clock_stopped() -> None:
    # 7 of 8 hours used, two days waiting on a third party: one hour is left afterwards,
    # not a breach the moment the ticket is opened again.
    story = (Story(prague(2026, 3, 2, 8))
             .status("waiting_on_third_party", prague(2026, 3, 2, 15))
             .status("open", prague(2026, 3, 4, 15)))
    found = clock(story, resolution_policy(), prague(2026, 3, 4, 15))
    assert found.state is ClockState.RUNNING
    assert found.remaining == hours(1)
    assert shown(found.due) == "Wed 2026-03-04 16:00"
    assert explained(story, resolution_policy())[1][3] == "paused: waiting on third party"


def test_a_breached_clock_stays_breached_while_paused_and_keeps_its_due() -> None:
    story = (Story(prague(2026, 3, 2, 8))
             .status("waiting_on_customer", prague(2026, 3, 3, 10)))
    found = clock(story, resolution_policy(), prague(2026, 3, 4, 9))
    assert found.state is ClockState.BREACHED
    assert shown(found.due) == "Mon 2026-03-02 16:00"
    assert found.remaining == timedelta(0)
    assert found.elapsed == hours(10)


def test_pause_and_resume_across_the_spring_clock_change_with_lunch_breaks() -> None:
    # Friday 27 March 15:00, 4 h on the lunch-break calendar: Friday 15:00-16:30 (1.5 h),
    # then waiting from Saturday 09:30 to Monday 09:00, Saturday 09:00-09:30 used.
    policy = resolution_policy(hours(4), CZ_LUNCH)
    story = (Story(prague(2026, 3, 27, 15))
             .status("waiting_on_customer", prague(2026, 3, 28, 9, 30))
             .status("open", prague(2026, 3, 30, 9)))
    found = clock(story, policy, prague(2026, 3, 30, 9))
    assert found.elapsed == hours(2)
    assert shown(found.due) == "Mon 2026-03-30 11:00"  # summer time now
    assert found.due == prague(2026, 3, 30, 9) + hours(2)


# -- first, next and periodic responses --------------------------------------------------


def test_first_response_is_met_only_by_an_agents_public_reply() -> None:
    story = (Story(prague(2026, 3, 2, 9))
             .note(prague(2026, 3, 2, 9, 30))
             .customer_writes(prague(2026, 3, 2, 10))
             .reply(prague(2026, 3, 2, 10, 30), public=False))
    assert clock(story, FULL, prague(2026, 3, 2, 11), FIRST).state is ClockState.RUNNING
    story.reply(prague(2026, 3, 2, 11))
    found = clock(story, FULL, prague(2026, 3, 2, 12), FIRST)
    assert found.state is ClockState.MET
    assert found.elapsed == hours(2)
    assert found.ended_at == prague(2026, 3, 2, 11)
    assert explained(story, FULL, FIRST)[-1] == (
        "Mon 2026-03-02 11:00", "Mon 2026-03-02 13:00", None,
        "met: public reply by Petra Malá")


def test_a_late_first_response_is_breached() -> None:
    story = Story(prague(2026, 3, 2, 9)).reply(prague(2026, 3, 3, 9))
    found = clock(story, FULL, prague(2026, 3, 3, 10), FIRST)
    assert found.state is ClockState.BREACHED
    assert found.breached_cycles == 1
    assert found.elapsed == hours(8)


def test_next_response_measures_the_oldest_unanswered_customer_message() -> None:
    story = (Story(prague(2026, 3, 2, 9))
             .customer_writes(prague(2026, 3, 2, 9, 5))  # before the first reply: not counted
             .reply(prague(2026, 3, 2, 10)))
    assert compute_clocks(story.events, FULL, None, prague(2026, 3, 2, 11)).get(NEXT) is None
    story.customer_writes(prague(2026, 3, 2, 14)).customer_writes(prague(2026, 3, 3, 9))
    waiting = clock(story, FULL, prague(2026, 3, 3, 9, 30), NEXT)
    assert waiting.state is ClockState.RUNNING
    assert waiting.started_at == prague(2026, 3, 2, 14)
    assert shown(waiting.due) == "Tue 2026-03-03 10:00"
    story.reply(prague(2026, 3, 3, 9, 45))
    answered = clock(story, FULL, prague(2026, 3, 3, 12), NEXT)
    assert answered.state is ClockState.MET
    assert answered.cycles == 1
    story.customer_writes(prague(2026, 3, 4, 8)).reply(prague(2026, 3, 5, 8))
    late = clock(story, FULL, prague(2026, 3, 5, 9), NEXT)
    assert late.state is ClockState.BREACHED
    assert (late.cycles, late.breached_cycles) == (2, 1)


def test_without_a_first_response_target_the_first_message_starts_next_response() -> None:
    policy = SlaPolicy("next only", CZ_OFFICE, [SlaTarget.uniform(NEXT, hours(2))])
    story = Story(prague(2026, 3, 2, 9)).customer_writes(prague(2026, 3, 2, 9))
    assert shown(clock(story, policy, prague(2026, 3, 2, 9), NEXT).due) == "Mon 2026-03-02 11:00"


def test_periodic_update_measures_the_gaps_between_agent_replies() -> None:
    story = (Story(prague(2026, 3, 2, 8))
             .reply(prague(2026, 3, 2, 13))  # 5 h: met
             .reply(prague(2026, 3, 3, 12)))  # 7 h: breached
    found = clock(story, FULL, prague(2026, 3, 3, 12), PERIODIC)
    assert found.state is ClockState.RUNNING
    assert found.started_at == prague(2026, 3, 3, 12)
    assert shown(found.due) == "Wed 2026-03-04 10:00"
    assert (found.cycles, found.breached_cycles) == (3, 1)
    assert explained(story, FULL, PERIODIC)[1] == (
        "Mon 2026-03-02 13:00", "Mon 2026-03-02 14:00", "Tue 2026-03-03 11:00",
        "public update by Petra Malá: next update due")


def test_resolving_ends_waiting_responses_and_reopening_starts_a_new_update_cycle() -> None:
    story = (Story(prague(2026, 3, 2, 8))
             .status("resolved", prague(2026, 3, 2, 10))
             .status("open", prague(2026, 3, 3, 8)))
    found = compute_clocks(story.events, FULL, None, prague(2026, 3, 3, 9))
    first, periodic = found.get(FIRST), found.get(PERIODIC)
    assert first is not None
    assert periodic is not None
    assert first.state is ClockState.MET
    assert first.ended_at == prague(2026, 3, 2, 10)
    assert (periodic.cycles, periodic.state, periodic.elapsed) == (2, ClockState.RUNNING,
                                                                   hours(1))


# -- priority, reopen, merge -------------------------------------------------------------


def test_a_priority_change_retargets_the_whole_elapsed_time() -> None:
    story = Story(prague(2026, 3, 2, 8)).priority(Priority.URGENT, prague(2026, 3, 2, 9))
    found = clock(story, FULL, prague(2026, 3, 2, 9))
    assert found.duration == hours(4)
    assert shown(found.due) == "Mon 2026-03-02 12:00"
    assert explained(story, FULL)[-1] == (
        "Mon 2026-03-02 09:00", "Tue 2026-03-03 16:00", "Mon 2026-03-02 12:00",
        "priority normal → urgent")
    story.priority(Priority.LOW, prague(2026, 3, 2, 10))
    assert shown(clock(story, FULL, prague(2026, 3, 2, 10)).due) == "Fri 2026-03-06 16:00"


def test_raising_the_priority_late_breaches_at_once_with_the_due_in_the_past() -> None:
    story = Story(prague(2026, 3, 2, 8)).priority(Priority.URGENT, prague(2026, 3, 2, 15))
    found = clock(story, FULL, prague(2026, 3, 2, 15))
    assert found.state is ClockState.BREACHED
    assert shown(found.due) == "Mon 2026-03-02 12:00"


def test_reopening_after_resolve_continues_the_resolution_clock() -> None:
    story = (Story(prague(2026, 3, 2, 8))
             .status("open", prague(2026, 3, 2, 8, 30))
             .status("resolved", prague(2026, 3, 2, 11))
             .status("closed", prague(2026, 3, 3, 8))
             .status("open", prague(2026, 3, 5, 9)))
    policy = resolution_policy()
    resolved = clock(story, policy, prague(2026, 3, 4, 12))
    assert (resolved.state, resolved.elapsed) == (ClockState.MET, hours(3))
    reopened = clock(story, policy, prague(2026, 3, 5, 9))
    assert reopened.state is ClockState.RUNNING
    assert reopened.remaining == hours(5)
    assert shown(reopened.due) == "Thu 2026-03-05 14:00"
    assert [c[3] for c in explained(story, policy)] == ["ticket created", "stopped: resolved",
                                                        "reopened"]


def test_reopening_into_waiting_stays_paused_until_opened() -> None:
    story = (Story(prague(2026, 3, 2, 8))
             .status("resolved", prague(2026, 3, 2, 11))
             .status("open", prague(2026, 3, 3, 8))
             .status("waiting_on_customer", prague(2026, 3, 3, 9)))
    found = clock(story, resolution_policy(), prague(2026, 3, 4, 9))
    assert (found.state, found.elapsed, found.due) == (ClockState.PAUSED, hours(4), None)


# -- escalation and next deadline --------------------------------------------------------


def test_escalation_levels_are_reached_at_their_fractions_and_move_with_pauses() -> None:
    policy = SlaPolicy("esc", CZ_OFFICE, [SlaTarget.uniform(R, hours(8))], escalation=LEVELS)
    story = Story(prague(2026, 3, 2, 8))
    found = clock(story, policy, prague(2026, 3, 2, 15))
    assert [(p.level.fraction, shown(p.at), p.reached) for p in found.escalations] == [
        (0.75, "Mon 2026-03-02 14:00", True),
        (1.0, "Mon 2026-03-02 16:00", False),
        (1.5, "Tue 2026-03-03 12:00", False),
    ]
    assert shown(next_deadline(story.events, policy, None, prague(2026, 3, 2, 9))) == (
        "Mon 2026-03-02 14:00")
    assert shown(next_deadline(story.events, policy, None, prague(2026, 3, 2, 14))) == (
        "Mon 2026-03-02 16:00")
    story.status("waiting_on_customer", prague(2026, 3, 2, 15))
    paused = clock(story, policy, prague(2026, 3, 2, 15))
    assert [shown(p.at) for p in paused.escalations] == ["Mon 2026-03-02 14:00", None, None]
    assert next_deadline(story.events, policy, None, prague(2026, 3, 2, 15)) is None
    story.status("open", prague(2026, 3, 4, 8))
    assert [shown(p.at) for p in clock(story, policy, prague(2026, 3, 4, 8)).escalations] == [
        "Mon 2026-03-02 14:00", "Wed 2026-03-04 09:00", "Wed 2026-03-04 13:00"]


def test_next_deadline_is_the_earliest_instant_across_targets() -> None:
    story = Story(prague(2026, 3, 2, 8), priority=Priority.HIGH)
    # High: first response 2 h (levels 09:30, 10:00, 11:00), periodic update 6 h (12:30,
    # 14:00, ...), resolution 8 h (14:00, 16:00, ...).
    def next_at(now: datetime) -> str | None:
        return shown(next_deadline(story.events, FULL, None, now, priority=Priority.HIGH))

    assert next_at(prague(2026, 3, 2, 9)) == "Mon 2026-03-02 09:30"
    assert next_at(prague(2026, 3, 2, 9, 30)) == "Mon 2026-03-02 10:00"
    story.reply(prague(2026, 3, 2, 9, 45))
    assert next_at(prague(2026, 3, 2, 9, 40)) == "Mon 2026-03-02 10:00"  # reply not yet sent
    # Answered: resolution's 75 % comes next, then the new periodic cycle's 75 % (09:45 + 4.5 h).
    assert next_at(prague(2026, 3, 2, 9, 45)) == "Mon 2026-03-02 14:00"
    assert next_at(prague(2026, 3, 2, 14)) == "Mon 2026-03-02 14:15"


def test_a_resolved_ticket_has_no_next_deadline() -> None:
    story = Story(prague(2026, 3, 2, 8)).reply(prague(2026, 3, 2, 9)).status(
        "resolved", prague(2026, 3, 2, 10))
    assert next_deadline(story.events, FULL, None, prague(2026, 3, 2, 10)) is None


# -- reading history ---------------------------------------------------------------------


def test_initial_priority_comes_from_the_first_priority_change() -> None:
    story = Story(prague(2026, 3, 2, 8), priority=Priority.HIGH).priority(
        Priority.LOW, prague(2026, 3, 2, 9))
    assert initial_priority(story.events) is Priority.HIGH
    assert initial_priority(Story(prague(2026, 3, 2, 8)).events, Priority.LOW) is Priority.LOW
    before = clock(story, FULL, prague(2026, 3, 2, 8, 30))  # the change is after now
    assert before.duration == hours(8)


def test_events_after_now_are_ignored() -> None:
    story = Story(prague(2026, 3, 2, 8)).status("resolved", prague(2026, 3, 2, 10))
    assert clock(story, FULL, prague(2026, 3, 2, 9)).state is ClockState.RUNNING


def test_the_incremental_state_can_be_fed_event_by_event() -> None:
    story = (Story(prague(2026, 12, 23, 15))
             .status("waiting_on_customer", prague(2026, 12, 28, 9))
             .status("open", prague(2026, 12, 29, 10)))
    state = SlaState.start(resolution_policy())
    for event in story.events:
        state = state.apply(event)
    assert state == SlaState.replay(story.events, resolution_policy())
    found = state.clocks(prague(2026, 12, 29, 10)).get(R)
    assert found is not None
    assert shown(found.due) == "Tue 2026-12-29 16:00"


def test_a_repeated_created_event_does_not_restart_the_clocks() -> None:
    story = Story(prague(2026, 3, 2, 8))
    created = story.events[0]
    again = TicketEvent(ticket_id=created.ticket_id, seq=2, at=prague(2026, 3, 2, 12),
                        actor=created.actor, kind=EventKind.CREATED, data=dict(created.data))
    found = compute_clocks([created, again], FULL, None, prague(2026, 3, 2, 13)).get(R)
    assert found is not None
    assert (found.elapsed, found.cycles) == (hours(5), 1)


def test_a_custom_status_pauses_by_its_category() -> None:
    workflow = Workflow.with_custom([
        Status("awaiting_parts", StatusCategory.WAITING_ON_THIRD_PARTY, "awaiting parts")])
    story = Story(prague(2026, 3, 2, 8))
    story.ticket.transition("awaiting_parts", workflow=workflow, at=prague(2026, 3, 2, 10),
                            actor=AGENT)
    found = clock(story, resolution_policy(), prague(2026, 3, 3, 12))
    assert (found.state, found.elapsed) == (ClockState.PAUSED, hours(2))


def test_an_automatic_acknowledgement_is_not_a_first_response() -> None:
    story = Story(prague(2026, 3, 2, 8))
    story.ticket.add_article(direction=Direction.OUTBOUND, channel=Channel.EMAIL,
                             author=Actor.system("acknowledgement"), body_text="Received",
                             at=prague(2026, 3, 2, 8, 1))
    assert clock(story, FULL, prague(2026, 3, 2, 9), FIRST).state is ClockState.RUNNING


def test_a_priority_change_while_paused_applies_when_the_clock_resumes() -> None:
    story = (Story(prague(2026, 3, 2, 8))
             .status("waiting_on_customer", prague(2026, 3, 2, 10))
             .priority(Priority.URGENT, prague(2026, 3, 3, 9))
             .status("open", prague(2026, 3, 4, 8)))
    paused = clock(story, FULL, prague(2026, 3, 3, 12))
    assert (paused.state, paused.remaining, paused.due) == (ClockState.PAUSED, hours(2), None)
    resumed = clock(story, FULL, prague(2026, 3, 4, 8))
    assert shown(resumed.due) == "Wed 2026-03-04 10:00"


# -- across a merge and its undo -----------------------------------------------------------


def outcome(story: Story, kind: TargetKind = R) -> str | None:
    return SlaState.replay(story.events, FULL).cycles_of(kind)[-1].outcome


def test_a_merged_ticket_stops_its_clocks_without_a_verdict() -> None:
    story = Story(prague(2026, 3, 2, 8)).merged(prague(2026, 3, 2, 9))
    for kind in (FIRST, PERIODIC, R):
        found = clock(story, FULL, prague(2026, 3, 3, 9), kind)
        assert (found.state, found.elapsed) == (ClockState.MERGED, hours(1))
        assert (found.ended_at, found.breached_cycles) == (prague(2026, 3, 2, 9), 0)
        assert outcome(story, kind) == "merged into HD-2026-000002"
    assert explained(story, FULL)[-1] == (
        "Mon 2026-03-02 09:00", "Tue 2026-03-03 16:00", None,
        "stopped: merged into HD-2026-000002")
    assert next_deadline(story.events, FULL, None, prague(2026, 3, 2, 9)) is None


def test_a_merge_without_the_other_number_ends_the_cycles_into_another_ticket() -> None:
    story = Story(prague(2026, 3, 2, 8)).merged(prague(2026, 3, 2, 9), number=None)
    assert outcome(story) == "merged into another ticket"
    assert explained(story, FULL)[-1][3] == "stopped: merged into another ticket"
    assert clock(story, FULL, prague(2026, 3, 3, 9)).state is ClockState.MERGED


def test_a_breach_before_the_merge_stays_a_breach() -> None:
    # Five hours without an answer: the four-hour first response was breached at 12:00.
    story = Story(prague(2026, 3, 2, 8)).merged(prague(2026, 3, 2, 13))
    first = clock(story, FULL, prague(2026, 3, 4, 9), FIRST)
    assert (first.state, first.breached_cycles, first.elapsed) == (
        ClockState.BREACHED, 1, hours(5))
    resolution = clock(story, FULL, prague(2026, 3, 4, 9))
    assert (resolution.state, resolution.breached_cycles) == (ClockState.MERGED, 0)


def test_a_met_target_stays_met_and_only_the_open_cycle_ends_by_the_merge() -> None:
    story = Story(prague(2026, 3, 2, 8)).reply(prague(2026, 3, 2, 8, 30)).merged(
        prague(2026, 3, 2, 9))
    assert clock(story, FULL, prague(2026, 3, 3, 9), FIRST).state is ClockState.MET
    periodic = clock(story, FULL, prague(2026, 3, 3, 9), PERIODIC)
    assert (periodic.state, periodic.cycles, periodic.breached_cycles) == (
        ClockState.MERGED, 2, 0)
    assert outcome(story, FIRST) == "met: public reply by Petra Malá"


def test_undoing_the_merge_runs_the_clocks_on_without_the_merged_interval() -> None:
    story = (Story(prague(2026, 3, 2, 8)).reply(prague(2026, 3, 2, 8, 30))
             .merged(prague(2026, 3, 2, 10)).unmerged(prague(2026, 3, 4, 10)))
    resolution = clock(story, FULL, prague(2026, 3, 4, 11))
    assert (resolution.state, resolution.elapsed, resolution.cycles) == (
        ClockState.RUNNING, hours(3), 1)
    assert shown(resolution.due) == "Thu 2026-03-05 16:00"  # 2 h before, 14 h from Wed 10:00
    periodic = clock(story, FULL, prague(2026, 3, 4, 11), PERIODIC)
    assert (periodic.state, periodic.cycles, periodic.elapsed) == (
        ClockState.RUNNING, 2, hours(2.5))
    assert shown(periodic.due) == "Wed 2026-03-04 14:30"
    first = clock(story, FULL, prague(2026, 3, 4, 11), FIRST)
    assert (first.state, first.ended_at) == (ClockState.MET, prague(2026, 3, 2, 8, 30))
    assert explained(story, FULL)[-2:] == [
        ("Mon 2026-03-02 10:00", "Tue 2026-03-03 16:00", None,
         "stopped: merged into HD-2026-000002"),
        ("Wed 2026-03-04 10:00", None, "Thu 2026-03-05 16:00", "merge undone"),
    ]
    assert outcome(story) is None


def test_undoing_the_merge_of_a_waiting_ticket_keeps_the_clocks_paused() -> None:
    story = (Story(prague(2026, 3, 2, 8))
             .status("waiting_on_customer", prague(2026, 3, 2, 9))
             .merged(prague(2026, 3, 2, 10)).unmerged(prague(2026, 3, 4, 10)))
    paused = clock(story, FULL, prague(2026, 3, 4, 12))
    assert (paused.state, paused.elapsed, paused.due) == (ClockState.PAUSED, hours(1), None)
    assert explained(story, FULL)[-1][3] == "paused: waiting on customer"  # nothing moved
    story.status("open", prague(2026, 3, 4, 13))
    resumed = clock(story, FULL, prague(2026, 3, 4, 13))
    assert (resumed.state, shown(resumed.due)) == (ClockState.RUNNING, "Fri 2026-03-06 12:00")


def test_undoing_the_merge_of_a_resolved_ticket_leaves_its_clocks_as_they_were() -> None:
    story = (Story(prague(2026, 3, 2, 8)).status("resolved", prague(2026, 3, 2, 9))
             .merged(prague(2026, 3, 2, 10)).unmerged(prague(2026, 3, 4, 10)))
    resolution = clock(story, FULL, prague(2026, 3, 4, 12))
    assert (resolution.state, resolution.ended_at) == (ClockState.MET, prague(2026, 3, 2, 9))
    assert outcome(story) == "resolved"


def test_undoing_the_merge_reopens_the_next_response_that_was_waiting() -> None:
    story = (Story(prague(2026, 3, 2, 8)).reply(prague(2026, 3, 2, 8, 30))
             .customer_writes(prague(2026, 3, 2, 9)).merged(prague(2026, 3, 2, 10)))
    merged = clock(story, FULL, prague(2026, 3, 3, 9), NEXT)
    assert (merged.state, merged.elapsed, merged.cycles) == (ClockState.MERGED, hours(1), 1)
    story.unmerged(prague(2026, 3, 3, 9))
    again = clock(story, FULL, prague(2026, 3, 3, 10), NEXT)
    assert (again.state, again.elapsed, again.cycles, shown(again.due)) == (
        ClockState.RUNNING, hours(2), 1, "Tue 2026-03-03 12:00")
    story.reply(prague(2026, 3, 3, 10))
    answered = clock(story, FULL, prague(2026, 3, 3, 11), NEXT)
    assert (answered.state, answered.elapsed) == (ClockState.MET, hours(2))


def test_a_merge_can_owe_the_first_response_since_the_source_was_opened() -> None:
    story = Story(prague(2026, 3, 2, 12)).received(prague(2026, 3, 2, 13),
                                                   since=prague(2026, 3, 2, 9))
    first = clock(story, FULL, prague(2026, 3, 2, 13), FIRST)
    assert (first.started_at, first.elapsed, shown(first.due)) == (
        prague(2026, 3, 2, 9), hours(4), "Mon 2026-03-02 13:00")
    assert explained(story, FULL, FIRST)[-1] == (
        "Mon 2026-03-02 13:00", "Mon 2026-03-02 16:00", "Mon 2026-03-02 13:00",
        "merge of HD-2026-000009: first response owed since 2026-03-02T08:00:00+00:00")
    # the other targets keep their own start
    assert clock(story, FULL, prague(2026, 3, 2, 13)).elapsed == hours(1)
    story.reply(prague(2026, 3, 2, 14))
    assert clock(story, FULL, prague(2026, 3, 2, 15), FIRST).state is ClockState.BREACHED


def test_a_merge_changes_no_first_response_already_met_or_owed_since_earlier() -> None:
    met = (Story(prague(2026, 3, 2, 12)).reply(prague(2026, 3, 2, 12, 30))
           .received(prague(2026, 3, 2, 13), since=prague(2026, 3, 2, 9)))
    later = Story(prague(2026, 3, 2, 12)).received(prague(2026, 3, 2, 13),
                                                   since=prague(2026, 3, 2, 12, 30))
    none = Story(prague(2026, 3, 2, 12)).received(prague(2026, 3, 2, 13), since=None)
    for story in (met, later, none):
        first = clock(story, FULL, prague(2026, 3, 2, 13), FIRST)
        assert first.started_at == prague(2026, 3, 2, 12)
        assert not [c for c in compute_clocks(story.events, FULL, None, prague(2026, 3, 2, 13))
                    .changes if c.reason.startswith("merge")]


def test_undoing_the_merge_gives_the_first_response_its_own_start_back() -> None:
    story = (Story(prague(2026, 3, 2, 12))
             .received(prague(2026, 3, 2, 13), since=prague(2026, 3, 2, 9), operation="a")
             .received(prague(2026, 3, 2, 13, 30), since=prague(2026, 3, 2, 10),
                       number="HD-2026-000010", operation="b"))
    assert clock(story, FULL, prague(2026, 3, 2, 14), FIRST).started_at == prague(2026, 3, 2, 9)
    story.released(prague(2026, 3, 2, 14), operation="a")
    first = clock(story, FULL, prague(2026, 3, 2, 14), FIRST)
    # the other merge still stands: owed since its source's start
    assert (first.started_at, first.elapsed) == (prague(2026, 3, 2, 10), hours(4))
    story.released(prague(2026, 3, 2, 14, 30), number="HD-2026-000010", operation="b")
    own = clock(story, FULL, prague(2026, 3, 2, 15), FIRST)
    assert (own.started_at, own.elapsed) == (prague(2026, 3, 2, 12), hours(3))
    assert explained(story, FULL, FIRST)[-1][-1] == "merge of HD-2026-000010 undone"
