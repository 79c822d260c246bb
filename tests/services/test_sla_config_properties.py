"""Every SLA configuration accepted when it is built lets tickets in, sweeps and recomputes.

Issue 11: configurations were accepted and then failed at every intake (a target's own levels at
one fraction, a rule naming its policy by name, a calendar that never opens again) or silently
did nothing (a level that could never fire). Random configurations, sensible and not, are
either refused with a ConfigurationError when built or work through the public API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Priority, Settings, bootstrap
from helpdesk_core.domain import EntityKind, EntityRef
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.sla import (
    BusinessCalendar,
    EscalationLevel,
    PolicyRule,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
EVA = Actor.agent("eva", "Eva")
CONTRACT = EntityRef(EntityKind.CONTRACT, "erp", "K-2026-7")

calendars = st.sampled_from([
    BusinessCalendar.weekly("UTC", {"mon-fri": "08:00-16:00"}),
    BusinessCalendar.weekly("Europe/Prague", {"sat": "09:00-12:00"}, country="CZ",
                            closed_days=[date(2026, 3, 7) + timedelta(weeks=n)
                                         for n in range(60)]),
])
# Sensible values mostly, nonsense now and then: the nonsense must be refused when built.
levels = st.builds(
    lambda fraction, name, notify, channels: (fraction, name, notify, channels),
    st.sampled_from([0.5, 0.75, 1.0, 1.5] * 4 + [0.751, 0, "1.0"]),
    st.sampled_from(["", "", "", "warning", "breach"]),
    st.sampled_from([["assignee"], ["team_lead", "helpdesk_manager"], ["helpdesk_manager"]] * 3
                    + [[]]),
    st.sampled_from([["email"], ["email", "sms"]] * 5 + [["sms"], "sms"]),
)
durations = st.dictionaries(st.sampled_from(list(Priority)),
                            st.sampled_from([timedelta(hours=1), timedelta(hours=8)]),
                            min_size=1, max_size=4).map(lambda d: [d] * 9).flatmap(
    lambda many: st.sampled_from([*many, {}]))
targets = st.lists(st.tuples(st.sampled_from(list(TargetKind)), durations,
                             st.none() | st.lists(levels, max_size=2,
                                                  unique_by=lambda level: level[0])),
                             max_size=3,
                   unique_by=lambda t: t[0]) | st.lists(
    st.tuples(st.sampled_from(list(TargetKind)), durations, st.none()), max_size=3)
policies = st.tuples(st.sampled_from(["standard"] * 19 + [""]), calendars, targets,
                     st.lists(levels, max_size=2, unique_by=lambda level: level[0])) | st.tuples(
    st.just("standard"), calendars, targets, st.just([]))
rules = st.lists(st.tuples(policies, st.booleans(),
                           st.sampled_from([None, None, "complaint", "complaint/damaged"] * 3
                                           + ["Complaint"]),
                           st.sampled_from([None, CONTRACT])), min_size=1, max_size=3)
addresses = st.dictionaries(st.sampled_from(["helpdesk_manager", "team_lead", "eva"]),
                            st.sampled_from(["boss@shop.example", "+420601000111"] * 3
                                            + ["boss"]),
                            max_size=3)


def _level(spec: tuple[Any, ...]) -> EscalationLevel:
    fraction, name, notify, channels = spec
    return EscalationLevel(fraction, notify, channels=channels, name=name)


def _policy(spec: tuple[Any, ...]) -> SlaPolicy:
    name, calendar, target_specs, level_specs = spec
    return SlaPolicy(name, calendar, [
        SlaTarget(kind, spec, None if own is None else [_level(o) for o in own])
        for kind, spec, own in target_specs], escalation=[_level(s) for s in level_specs])


def _config(rule_specs: list[tuple[Any, ...]], by_name: bool,
            addresses: dict[str, str]) -> SlaConfig:
    built = []
    for index, (policy_spec, named, incident_type, contract) in enumerate(rule_specs):
        name, *rest = policy_spec
        policy = _policy((f"{name} {index}" if name else name, *rest))
        last = index == len(rule_specs) - 1
        # An earlier rule without conditions would shadow the later ones: give it a customer.
        customer = None if last or incident_type or contract else f"c-{index}"
        built.append(PolicyRule(policy.name if named and by_name else policy,
                                incident_type=incident_type, contract=contract,
                                customer_id=customer))
    return SlaConfig(PolicySelector(built), addresses=addresses)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules, st.sampled_from([False] * 9 + [True]), addresses)
def test_a_configuration_accepted_when_built_works_through_the_public_api(
        rule_specs: list[tuple[Any, ...]], by_name: bool, addresses: dict[str, str]) -> None:
    try:
        config = _config(rule_specs, by_name, addresses)
    except ConfigurationError as exc:
        event("refused: " + str(exc)[:45])
        return  # the host hears of it at once
    event("accepted")
    clock = FakeClock(T0)
    with bootstrap(Settings(storage="memory", sla=config, autoload_plugins=False),
                   directory=InMemoryDirectory(), clock=clock, environ={}) as desk:
        plain = desk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "x"})
        linked = desk.tickets.open_from_web_form({"email": "petr@example.cz", "message": "y"})
        desk.tickets.link(linked.number, CONTRACT, actor=EVA)
        desk.tickets.set_priority(plain.number, Priority.URGENT, actor=EVA)
        desk.staff.assign(plain.number, "eva", actor=EVA)
        for _ in range(3):
            clock.advance(hours=20)
            desk.sla.sweep()
        assert desk.sla.recompute() == 2
        for number in (plain.number, linked.number):
            desk.sla.clocks(number)
