"""SlaConfig refuses, when it is built, what would be accepted and then fail at every intake."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from tests.sla.support import CZ_OFFICE

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.sla import (
    BusinessCalendar,
    PolicyRule,
    PolicySelector,
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
