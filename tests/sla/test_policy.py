"""SLA policies and the rules that choose one for a ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.sla.support import CZ_LUNCH, CZ_OFFICE, hours, prague, shown

from helpdesk_core.domain import Actor, Channel, EntityKind, EntityRef, Priority, Ticket
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.sla import (
    EscalationLevel,
    NotifyChannel,
    PolicyRule,
    PolicySelector,
    PolicySubject,
    Recipient,
    SlaPolicy,
    SlaTarget,
    TargetKind,
    changes_between,
    compute_clocks,
)

STANDARD = SlaPolicy("standard", CZ_OFFICE, [
    SlaTarget(TargetKind.FIRST_RESPONSE, {Priority.URGENT: hours(1), Priority.HIGH: hours(2),
                                          Priority.NORMAL: hours(8)}),
    SlaTarget.uniform(TargetKind.RESOLUTION, hours(40)),
], escalation=[
    EscalationLevel(1.5, ["helpdesk_manager"], channels=["email", "sms"]),
    EscalationLevel(0.75, ["assignee"]),
    EscalationLevel(1.0, ["team_lead", Recipient.of_person("karel")]),
], responsible="petra", team="support")
COMPLAINTS = SlaPolicy("complaints", CZ_OFFICE, [SlaTarget.uniform(TargetKind.RESOLUTION,
                                                                   hours(24))])
DAMAGED = SlaPolicy("damaged goods", CZ_OFFICE, [SlaTarget.uniform(TargetKind.RESOLUTION,
                                                                   hours(16))])
GOLD = SlaPolicy("gold contract", CZ_LUNCH, [SlaTarget.uniform(TargetKind.RESOLUTION,
                                                               hours(4))])
VIP = SlaPolicy("vip customer", CZ_OFFICE, [SlaTarget.uniform(TargetKind.FIRST_RESPONSE,
                                                              hours(1))])
GOLD_CONTRACT = EntityRef(EntityKind.CONTRACT, "erp", "K-2026-7")

SELECTOR = PolicySelector.standard(
    overrides=[
        PolicyRule(GOLD, name="Gold", contract=GOLD_CONTRACT),
        PolicyRule(VIP, name="VIP complaints", customer_id="c-vip", incident_type="complaint"),
        PolicyRule(VIP, name="Big account", organisation_id="org-big"),
    ],
    by_incident_type={"complaint": COMPLAINTS, "complaint/damaged": DAMAGED},
    default=STANDARD,
)


def test_targets_per_priority_and_missing_priorities() -> None:
    first = STANDARD.target(TargetKind.FIRST_RESPONSE)
    assert first is not None
    assert first.duration_for(Priority.URGENT) == hours(1)
    assert first.duration_for(Priority.LOW) is None  # no first-response promise for low
    assert STANDARD.target(TargetKind.NEXT_RESPONSE) is None


def test_escalation_levels_are_ordered_by_fraction() -> None:
    levels = STANDARD.levels_for(TargetKind.RESOLUTION)
    assert [level.fraction for level in levels] == [0.75, 1.0, 1.5]
    assert [str(r) for r in levels[1].notify] == ["team_lead", "person karel"]
    assert levels[2].channels == (NotifyChannel.EMAIL, NotifyChannel.SMS)
    assert levels[0].label == "75%"
    assert STANDARD.levels_for(TargetKind.PERIODIC_UPDATE) == ()


def test_a_target_can_have_its_own_levels_or_none() -> None:
    quiet = SlaPolicy("quiet", CZ_OFFICE, [
        SlaTarget(TargetKind.RESOLUTION, {"normal": hours(8)}, escalation=()),
        SlaTarget(TargetKind.FIRST_RESPONSE, {"normal": hours(1)},
                  escalation=(EscalationLevel(0.5, ["assignee"]),)),
    ], escalation=[EscalationLevel(1.0, ["team_lead"])])
    assert quiet.levels_for(TargetKind.RESOLUTION) == ()
    assert [lv.fraction for lv in quiet.levels_for(TargetKind.FIRST_RESPONSE)] == [0.5]


@pytest.mark.parametrize(
    ("subject", "policy", "reason"),
    [
        (PolicySubject(incident_type="complaint/damaged"), DAMAGED,
         "rule 'incident type complaint/damaged': incident type complaint/damaged"
         " → policy 'damaged goods'"),
        (PolicySubject(incident_type="complaint/late"), COMPLAINTS,
         "rule 'incident type complaint': incident type complaint (inherited by "
         "complaint/late) → policy 'complaints'"),
        (PolicySubject(incident_type="complaint/damaged/glass"), DAMAGED,
         "rule 'incident type complaint/damaged': incident type complaint/damaged (inherited"
         " by complaint/damaged/glass) → policy 'damaged goods'"),
        (PolicySubject(incident_type="complaints"), STANDARD,  # a sibling, not a child
         "rule 'default': every ticket (default) → policy 'standard'"),
        (PolicySubject(incident_type="complaint/damaged", customer_id="c-vip"), VIP,
         "rule 'VIP complaints': customer c-vip and incident type complaint (inherited by "
         "complaint/damaged) → policy 'vip customer'"),
        (PolicySubject(incident_type="question", customer_id="c-vip"), STANDARD,
         "rule 'default': every ticket (default) → policy 'standard'"),
        (PolicySubject(incident_type="complaint", customer_id="c-vip",
                       contracts=frozenset({GOLD_CONTRACT})), GOLD,
         "rule 'Gold': contract contract@erp:K-2026-7 → policy 'gold contract'"),
        (PolicySubject(organisation_id="org-big"), VIP,
         "rule 'Big account': organisation org-big → policy 'vip customer'"),
    ],
)
def test_the_first_matching_rule_wins_and_says_why(subject: PolicySubject, policy: SlaPolicy,
                                                   reason: str) -> None:
    choice = SELECTOR.choose(subject)
    assert choice is not None
    assert choice.policy is policy
    assert choice.reason == reason
    assert choice.rule.policy is policy


def test_a_per_customer_override_changes_the_due_instant() -> None:
    ticket = Ticket.open(number="HD-1", subject="Broken", channel=Channel.WEB_FORM,
                         at=prague(2026, 3, 4, 10), actor=Actor.customer("c-9"),
                         customer_id="c-9", incident_type="complaint/damaged",
                         links=[GOLD_CONTRACT])
    history = list(ticket.pending_events)
    choice = SELECTOR.choose(PolicySubject.of(ticket))
    assert choice is not None
    assert choice.policy is GOLD
    plain = SELECTOR.choose(PolicySubject(incident_type="complaint/damaged"))
    assert plain is not None
    assert plain.policy is DAMAGED
    now = prague(2026, 3, 4, 11)
    gold = compute_clocks(history, GOLD, None, now)
    damaged = compute_clocks(history, DAMAGED, None, now)
    # Gold: 4 h on the lunch-break calendar; damaged goods: 16 h on the plain office one.
    assert [shown(c.due) for c in gold.clocks] == ["Wed 2026-03-04 14:30"]
    assert [shown(c.due) for c in damaged.clocks] == ["Fri 2026-03-06 10:00"]
    # The contract ends: recomputed under the other policy, the move is explained.
    moved = changes_between(gold, damaged, at=now, reason="policy 'gold contract' → "
                                                          "'damaged goods'")
    assert [(c.target, shown(c.old_due), shown(c.new_due), c.reason) for c in moved] == [
        (TargetKind.RESOLUTION, "Wed 2026-03-04 14:30", "Fri 2026-03-06 10:00",
         "policy 'gold contract' → 'damaged goods'")]
    assert changes_between(gold, gold, at=now, reason="nothing") == []


def test_no_rule_no_policy() -> None:
    selector = PolicySelector.standard(by_incident_type={"complaint": COMPLAINTS})
    assert selector.choose(PolicySubject(incident_type="question")) is None
    assert selector.choose(PolicySubject()) is None


def test_rules_are_taken_in_the_order_given() -> None:
    selector = PolicySelector([PolicyRule(VIP, customer_id="c-vip"),
                               PolicyRule(COMPLAINTS, incident_type="complaint")])
    choice = selector.choose(PolicySubject(incident_type="complaint", customer_id="c-vip"))
    assert choice is not None
    assert choice.policy is VIP
    swapped = PolicySelector(reversed(selector.rules))
    choice = swapped.choose(PolicySubject(incident_type="complaint", customer_id="c-vip"))
    assert choice is not None
    assert choice.policy is COMPLAINTS


@pytest.mark.parametrize(
    "build",
    [
        lambda: SlaTarget(TargetKind.RESOLUTION, {Priority.HIGH: timedelta(0)}),
        lambda: SlaTarget(TargetKind.RESOLUTION, {"sometime": hours(1)}),
        lambda: SlaPolicy("twice", CZ_OFFICE, [SlaTarget.uniform(TargetKind.RESOLUTION, hours(1)),
                                               SlaTarget.uniform(TargetKind.RESOLUTION, hours(2))]),
        lambda: EscalationLevel(0, ["assignee"]),
        lambda: EscalationLevel(1.0, []),
        lambda: EscalationLevel(1.0, ["assignee"], channels=["pigeon"]),
        lambda: EscalationLevel(1.0, ["Team Lead"]),
        lambda: Recipient(role="assignee", person="petra"),
        lambda: SlaPolicy("same", CZ_OFFICE, escalation=[EscalationLevel(1.0, ["assignee"]),
                                                         EscalationLevel(1.0, ["team_lead"])]),
        lambda: PolicyRule(STANDARD, contract=EntityRef(EntityKind.ORDER, "erp", "1")),
    ],
)
def test_nonsense_policies_are_refused(build: object) -> None:
    with pytest.raises(ConfigurationError):
        build()  # type: ignore[operator]


def test_policies_and_calendars_are_values() -> None:
    same = SlaPolicy("complaints", CZ_OFFICE, [SlaTarget.uniform(TargetKind.RESOLUTION,
                                                                 hours(24))])
    assert same == COMPLAINTS
    assert {COMPLAINTS: "x"}[same] == "x"
    assert len({CZ_OFFICE, CZ_LUNCH, CZ_OFFICE}) == 2


# -- a target's kind given as text (issue: a string or a typo measured nothing) --------------


def test_a_target_kind_given_as_text_measures_like_the_enum() -> None:
    assert SlaTarget.uniform("resolution", timedelta(hours=8)) == \
        SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))
    assert SlaTarget("first_response", {"normal": timedelta(hours=1)}).kind is \
        TargetKind.FIRST_RESPONSE


@pytest.mark.parametrize("kind", ["resolve", "Resolution", "", None, 3])
def test_a_target_kind_that_is_no_kind_is_refused(kind: object) -> None:
    with pytest.raises(ConfigurationError, match="is not one of"):
        SlaTarget.uniform(kind, timedelta(hours=8))  # type: ignore[arg-type]


# -- configuration that measured nothing or failed at intake (issue 11) ---------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: EscalationLevel("0.75", ["assignee"]), "is a number"),
        (lambda: EscalationLevel(-0.5, ["assignee"]), "above 0"),
        (lambda: EscalationLevel(True, ["assignee"]), "is a number"),
        (lambda: EscalationLevel(150, ["assignee"]), "at most 100"),
        (lambda: EscalationLevel(1.0, "assignee"), "must be a list"),
        (lambda: EscalationLevel(1.0, ["assignee"], channels="sms"), "must be a list"),
        (lambda: SlaTarget(TargetKind.RESOLUTION, {}), "at least one priority"),
        (lambda: SlaTarget(TargetKind.RESOLUTION, hours(8)),  # type: ignore[arg-type]
         "SlaTarget.uniform"),
        # A target's own levels were checked only when a ticket first needed them: at intake.
        (lambda: SlaTarget("resolution", {"normal": hours(8)},
                           [EscalationLevel(1.0, ["assignee"]),  # type: ignore[arg-type]
                            EscalationLevel(1.0, ["team_lead"])]),
         "same fraction"),
        # Fired levels are kept by label: a second level of the same label never fired.
        (lambda: SlaPolicy("x", CZ_OFFICE, [SlaTarget.uniform("resolution", hours(8))],
                           escalation=[EscalationLevel(0.751, ["assignee"]),
                                       EscalationLevel(0.752, ["team_lead"])]),
         "called '75%'"),
        (lambda: SlaPolicy("x", CZ_OFFICE, [SlaTarget.uniform("resolution", hours(8))],
                           escalation=[EscalationLevel(0.5, ["assignee"], name="warn"),
                                       EscalationLevel(0.75, ["team_lead"], name="warn")]),
         "called 'warn'"),
        (lambda: SlaPolicy("x", CZ_OFFICE, escalation=[EscalationLevel(1.0, ["assignee"])]),
         "no targets"),
        (lambda: SlaPolicy(" ", CZ_OFFICE), "needs a name"),
        (lambda: SlaPolicy("x", None), "BusinessCalendar"),  # type: ignore[arg-type]
        (lambda: SlaPolicy("x", CZ_OFFICE, ["resolution"]), "SlaTargets"),  # type: ignore[list-item]
        (lambda: PolicyRule("gold contract"), "by name"),  # type: ignore[arg-type]
        (lambda: PolicyRule(GOLD, contract="contract@erp:K-1"), "not a contract"),  # type: ignore[arg-type]
        (lambda: PolicyRule(GOLD, incident_type="Complaint/Damaged"), "never match"),
        (lambda: PolicySelector.standard(by_incident_type={"complaint/": COMPLAINTS}),
         "never match"),
        (lambda: PolicySelector([GOLD]), "PolicyRule\\(policy\\)"),  # type: ignore[list-item]
    ],
)
def test_configuration_that_would_measure_nothing_or_fail_at_intake_is_refused(
        build: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()  # type: ignore[operator]


def test_a_rule_that_can_never_win_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"rule 'VIP' never applies: rule 'default' "):
        PolicySelector([PolicyRule(STANDARD, name="default"),
                        PolicyRule(VIP, name="VIP", customer_id="c-vip")])
    with pytest.raises(ConfigurationError, match=r"\(incident type complaint/damaged → policy "
                                                 r"'damaged goods'\) never applies"):
        PolicySelector([PolicyRule(COMPLAINTS, incident_type="complaint"),
                        PolicyRule(DAMAGED, incident_type="complaint/damaged")])
    with pytest.raises(ConfigurationError, match="never applies"):
        PolicySelector.standard(overrides=[
            PolicyRule(GOLD, name="Gold", contract=GOLD_CONTRACT),
            PolicyRule(VIP, name="Gold VIP", contract=GOLD_CONTRACT, customer_id="c-vip")])
    # More specific first is how it is meant: both can win.
    PolicySelector([PolicyRule(DAMAGED, incident_type="complaint/damaged"),
                    PolicyRule(COMPLAINTS, incident_type="complaint"),
                    PolicyRule(VIP, customer_id="c-vip"), PolicyRule(STANDARD)])


def test_a_policy_without_targets_promises_nothing() -> None:
    """The documented meaning: a rule's way to exempt some tickets from a default policy."""
    exempt = SlaPolicy("no promise", CZ_OFFICE)
    start = prague(2026, 12, 21, 9)
    ticket = Ticket.open(number="HD-2026-000001", subject="Spam", channel=Channel.EMAIL,
                         at=start, actor=Actor.customer("c-1"))
    clocks = compute_clocks(ticket.pending_events, exempt, None, start + hours(100))
    assert clocks.clocks == ()
    assert clocks.next_deadline is None
