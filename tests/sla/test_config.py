"""SlaConfig refuses, when it is built, what would be accepted and then fail at every intake."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from tests.sla.support import CZ_OFFICE

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.sla import (
    BusinessCalendar,
    EscalationLevel,
    PolicyRule,
    PolicySelector,
    Recipient,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

RESOLUTION = [SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))]


def test_a_calendar_that_never_opens_is_refused_naming_the_policy_and_calendar() -> None:
    """The calendar refuses itself when built; a configuration restored without building it
    (an older version's pickle, say) is refused by the config's own check."""
    office = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"},
                                     name="Prague office")
    config = SlaConfig(PolicySelector.standard(default=SlaPolicy("standard", office,
                                                                 RESOLUTION)))
    restored = pickle.loads(pickle.dumps(config))
    [policy] = restored.selector.policies
    object.__setattr__(policy.calendar, "week", ((),) * 7)
    with pytest.raises(ConfigurationError, match="SLA policy 'standard': calendar 'Prague "
                                                 "office' has no business hours on any weekday"):
        restored.check()
    with pytest.raises(ConfigurationError, match="Prague office"):
        SlaConfig(restored.selector)


def test_the_selector_must_be_a_selector() -> None:
    with pytest.raises(ConfigurationError, match="PolicySelector"):
        SlaConfig([PolicyRule(SlaPolicy("standard", CZ_OFFICE, RESOLUTION))])  # type: ignore[arg-type]


def test_policies_are_listed_once_in_rule_order() -> None:
    a = SlaPolicy("a", CZ_OFFICE, RESOLUTION)
    b = SlaPolicy("b", CZ_OFFICE, RESOLUTION)
    selector = PolicySelector([PolicyRule(b, customer_id="c-1"), PolicyRule(a, customer_id="c-2"),
                               PolicyRule(b)])
    assert selector.policies == (b, a)


STANDARD = SlaPolicy("standard", CZ_OFFICE, RESOLUTION)


def _with(policy: SlaPolicy = STANDARD, **kwargs: object) -> SlaConfig:
    return SlaConfig(PolicySelector.standard(default=policy), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SlaConfig(PolicySelector([])), "no rules, so no ticket would be measured"),
        # A ticket's record names its policy: a recomputation would mistake one for the other.
        (lambda: SlaConfig(PolicySelector([
            PolicyRule(STANDARD, customer_id="c-1"),
            PolicyRule(SlaPolicy("standard", CZ_OFFICE, [
                SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=2))]))])),
         "two different SLA policies are called 'standard'"),
        (lambda: _with(addresses={"helpdesk_manager": "boss"}),
         "address of 'helpdesk_manager', 'boss', is not an e-mail address or an E.164"),
        (lambda: _with(addresses={"helpdesk_manager": "+420 601 000 111"}), "E.164"),
        (lambda: _with(sender="helpdesk"), "'sender', 'helpdesk', is not an e-mail address"),
        (lambda: _with(sender="+420601000111"), "is not an e-mail address"),
        (lambda: _with(addresses=["boss@shop.example"]), "mapping"),
        # An SMS-only level to a fixed recipient with an e-mail address was never sent.
        (lambda: _with(SlaPolicy("standard", CZ_OFFICE, RESOLUTION, escalation=[
            EscalationLevel(1.5, ["helpdesk_manager"], channels=["sms"], name="breach")]),
            addresses={"helpdesk_manager": "boss@shop.example"}),
         "SLA policy 'standard', level 'breach': the address of helpdesk_manager is an e-mail "
         r"address \(boss@shop.example\), but the level notifies by sms only"),
        (lambda: _with(SlaPolicy("standard", CZ_OFFICE, [SlaTarget(
            TargetKind.RESOLUTION, {"normal": timedelta(hours=8)},
            [EscalationLevel(1.0, [Recipient.of_person("karel")])])]),
            addresses={"karel": "+420601000111"}),
         "person karel is a phone number"),
    ],
)
def test_a_config_that_would_do_nothing_or_fail_later_is_refused(build: object,
                                                                 message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()  # type: ignore[operator]


def test_what_the_config_accepts() -> None:
    levels = [EscalationLevel(0.75, ["assignee", "team"]),
              EscalationLevel(1.0, ["helpdesk_manager"], channels=["email", "sms"]),
              EscalationLevel(1.5, ["owner"])]
    config = _with(SlaPolicy("standard", CZ_OFFICE, RESOLUTION, escalation=levels),
                   addresses={"helpdesk_manager": "+420601000111", "eva": "eva@shop.example",
                              "assignee": "+420601000112"},  # the assignee's is theirs
                   sender="helpdesk@shop.example")
    # No address for "owner": the escalation event names it, plugins may tell them.
    assert config.selector.policies == (config.selector.rules[0].policy,)
