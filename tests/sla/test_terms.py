"""What a ticket's deadlines are computed from (SlaTerms), and why the SLA moves a due date.

Issue 11: a recomputation after a policy or calendar change gave the reason "ticket created".
The terms (policy name, digests of targets and calendar) tell what changed; a new event's move
is named only when the event is new.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sla.support import CZ_OFFICE, Story, hours, prague

from helpdesk_core.domain import Priority
from helpdesk_core.sla import (
    RECOMPUTED,
    BusinessCalendar,
    EscalationLevel,
    SlaPolicy,
    SlaTarget,
    SlaTerms,
    TargetKind,
    compute_clocks,
    due_reason,
)

FAST = settings(max_examples=150, deadline=None)

_hours = st.sampled_from(["08:00-16:00", "09:00-17:00", "08:00-12:00, 12:30-16:30",
                          "00:00-24:00"])
calendars = st.builds(
    lambda zone, week, sat, closed, country: BusinessCalendar.weekly(
        zone, {"mon-fri": week, **({"sat": sat} if sat else {})}, country=country,
        closed_days=closed),
    st.sampled_from(["Europe/Prague", "UTC", "America/New_York"]),
    _hours,
    st.none() | _hours,
    st.frozensets(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=3),
    st.sampled_from([None, "CZ"]),
)
durations = st.dictionaries(st.sampled_from(list(Priority)),
                            st.integers(1, 80).map(lambda h: timedelta(hours=h)), min_size=1)
targets = st.lists(st.tuples(st.sampled_from(list(TargetKind)), durations), max_size=4,
                   unique_by=lambda t: t[0]).filter(bool).map(
    lambda items: [SlaTarget(kind, spec) for kind, spec in items])
policies = st.builds(SlaPolicy, st.sampled_from(["standard", "gold contract"]), calendars,
                     targets)


@FAST
@given(policies, policies)
def test_terms_differ_exactly_when_the_deadlines_may(a: SlaPolicy, b: SlaPolicy) -> None:
    moved = b.terms.moved_since(a.terms)
    same_targets = {t.kind: dict(t.durations) for t in a.targets} == \
        {t.kind: dict(t.durations) for t in b.targets}
    if a.name != b.name:
        assert moved == f"policy {a.name!r} → {b.name!r}"
    elif same_targets and a.calendar == b.calendar:
        assert moved is None
    else:
        assert moved in ("targets changed", "calendar changed", "targets and calendar changed")
        assert ("targets" in moved) is not same_targets
        assert ("calendar" in moved) is (a.calendar != b.calendar)


@FAST
@given(policies)
def test_terms_are_the_same_for_an_equal_policy_built_again(policy: SlaPolicy) -> None:
    again = SlaPolicy(policy.name, BusinessCalendar(
        policy.calendar.zone, policy.calendar.week, country=policy.calendar.country,
        closed_days=sorted(policy.calendar.closed_days)),
        [SlaTarget(t.kind, dict(reversed(t.durations.items()))) for t in policy.targets][::-1],
        escalation=[EscalationLevel(0.5, ["assignee"])], responsible="petra")
    assert again.terms == policy.terms  # order, levels and owners move no deadline
    assert policy.terms.moved_since(policy.terms) is None


def test_digests_are_stable_across_processes() -> None:
    """Stored records compare with these: changing how a digest is made would make every
    record say "targets changed" once."""
    policy = SlaPolicy("standard", CZ_OFFICE, [SlaTarget.uniform("resolution", hours(8))])
    assert CZ_OFFICE.fingerprint == "cb983c2ba6f30684"
    assert policy.terms == SlaTerms("standard", "fa1e39c0072ad470", "cb983c2ba6f30684")


def test_words_for_a_policy_that_starts_or_stops_applying() -> None:
    gold = SlaTerms("gold contract", "t", "c")
    assert gold.moved_since(SlaTerms()) == "policy 'gold contract' applies, none did before"
    assert SlaTerms().moved_since(gold) == "policy 'gold contract' no longer applies"
    assert SlaTerms().moved_since(SlaTerms()) is None
    # Digests not known (a record kept before they were): nothing can be said.
    assert gold.moved_since(SlaTerms("gold contract")) is None


def test_the_reason_is_a_terms_change_first_then_a_new_event() -> None:
    start = prague(2026, 12, 21, 9)
    story = Story(start).status("waiting_on_customer", start + hours(2))
    policy = SlaPolicy("standard", CZ_OFFICE, [SlaTarget.uniform("resolution", hours(8))])
    read = compute_clocks(story.events, policy, None, start + hours(3))
    pause = story.events[-1].seq
    terms = policy.terms

    assert due_reason(terms, None, read, since_seq=1) == "paused: waiting on customer"
    assert due_reason(terms, None, read, since_seq=pause) == "paused: waiting on customer"
    assert due_reason(terms, terms, read, since_seq=pause) == "paused: waiting on customer"
    # No new event moved it: the creation long ago is not the reason.
    assert due_reason(terms, terms, read, since_seq=pause + 1) == RECOMPUTED
    assert due_reason(terms, terms, read, since_seq=None) == RECOMPUTED
    other = SlaTerms("standard", "other", terms.calendar)
    assert due_reason(terms, other, read, since_seq=pause) == "targets changed"
    assert due_reason(SlaTerms(), terms, None, since_seq=None) == \
        "policy 'standard' no longer applies"
