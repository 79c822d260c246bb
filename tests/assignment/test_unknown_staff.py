"""Agents and teams a staff directory does not list are refused wherever a person or the
configuration names them — with the id suggested when a display name was given — and taken
as given where no staff is configured at all."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from assign_support import AGENTS, EVA, RETURNS, T0, open_ticket, raw_mail, staff, the_reason
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core import (
    Absence,
    Agent,
    Classification,
    ConfigurationError,
    Contact,
    EntityKind,
    EntityRef,
    EventKind,
    HelpdeskStaff,
    IncidentType,
    KeywordRule,
    MailChannel,
    Order,
    Settings,
    Team,
    UnknownStaff,
    ValidationError,
    bootstrap,
    hookimpl,
)
from helpdesk_core.domain import Channel, Ticket
from helpdesk_core.domain.assignment import choose
from helpdesk_core.domain.extensions import AssignmentProposal
from helpdesk_core.domain.staff import ensure_listed
from helpdesk_core.inmemory.staff import InMemoryStaffDirectory
from helpdesk_core.sla import (
    BusinessCalendar,
    EscalationLevel,
    PolicySelector,
    Recipient,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)
from helpdesk_core.testing import MemoryInbox

JANA = Agent("jana", "Jana Nováková")


def with_jana(**changes):
    return staff(agents=(*AGENTS, JANA), **changes)


def _refused(call, *, field, value, suggestions=()):
    with pytest.raises(UnknownStaff) as refused:
        call()
    assert (refused.value.field, refused.value.value) == (field, value)
    assert refused.value.suggestions == suggestions
    assert isinstance(refused.value, ValidationError)
    return refused.value


# -- what a person names -----------------------------------------------------------------------


def test_assigning_to_a_display_name_is_refused_suggesting_the_id(make_helpdesk):
    helpdesk = make_helpdesk(staff=with_jana())
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    before = helpdesk.tickets.history(ticket.number)

    error = _refused(lambda: helpdesk.staff.assign(ticket.number, "Jana Nováková", actor=EVA),
                     field="assignee", value="Jana Nováková", suggestions=("jana",))
    assert str(error) == ("assignee: no agent 'Jana Nováková' in the staff directory; "
                          "did you mean 'jana'?")
    _refused(lambda: helpdesk.staff.reassign(ticket.number, "jana novakova", actor=EVA,
                                             reason="she knows the customer"),
             field="assignee", value="jana novakova", suggestions=("jana",))
    _refused(lambda: helpdesk.staff.assign(ticket.number, "karel", actor=EVA),
             field="assignee", value="karel")
    _refused(lambda: helpdesk.staff.reassign(ticket.number, "jana", actor=EVA, team="Returns"),
             field="team", value="Returns", suggestions=("returns",))
    _refused(lambda: helpdesk.staff.assign(ticket.number, None, actor=EVA, team="sales"),
             field="team", value="sales")

    assert helpdesk.tickets.history(ticket.number) == before
    ticket = helpdesk.staff.assign(ticket.number, " jana ", actor=EVA, team="returns")
    assert (ticket.assignee, ticket.team) == ("jana", "returns")


def test_a_staff_entry_naming_nobody_is_refused_before_anything_is_written(make_helpdesk,
                                                                             directory):
    helpdesk = make_helpdesk(staff=with_jana())
    directory.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", "1001"), number="1001",
                              customer_email="guest@example.cz"))
    customers = dict(directory.customers)

    _refused(lambda: open_ticket(helpdesk, customer_email="new@example.cz",
                                 assignee="Jana Nováková"),
             field="assignee", value="Jana Nováková", suggestions=("jana",))
    _refused(lambda: open_ticket(helpdesk, customer_email="new@example.cz", team="Support"),
             field="team", value="Support")
    _refused(lambda: helpdesk.tickets.open_from_order(agent=EVA, order_number="1001",
                                                      subject="x", message="x", assignee="xx"),
             field="assignee", value="xx")

    assert directory.customers == customers
    assert helpdesk.tickets.queue().items == []
    ticket = open_ticket(helpdesk, customer_email="new@example.cz", assignee="jana",
                         team="returns")
    assert ticket.number.endswith("000001")  # nothing refused took a number
    assert (ticket.assignee, ticket.team) == ("jana", "returns")


def test_an_incident_type_must_name_listed_people(make_helpdesk):
    helpdesk = make_helpdesk(staff=with_jana())
    _refused(lambda: helpdesk.configuration.define_incident_type(
        IncidentType("complaint", "Complaint", responsible="Jana Nováková")),
        field="responsible", value="Jana Nováková", suggestions=("jana",))
    _refused(lambda: helpdesk.configuration.define_incident_type(
        IncidentType("billing", "Billing", team="accounting")), field="team", value="accounting")
    assert helpdesk.configuration.incident_types() == []


# -- what the configuration names ----------------------------------------------------------------


def _boot(clock, directory, **settings):
    settings.setdefault("staff", with_jana())
    return bootstrap(Settings(storage="memory", autoload_plugins=False, **settings),
                     directory=directory, clock=clock, environ={})


def _policy(**changes):
    calendar = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"})
    values = {"name": "standard", "calendar": calendar,
              "targets": [SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))]}
    values.update(changes)
    return SlaConfig(PolicySelector.standard(default=SlaPolicy(**values)))


@pytest.mark.parametrize(("settings", "field", "value"), [
    ({"mail_channels": (MailChannel("support", owner="Jana Nováková"),)},
     "mail_channels.support.owner", "Jana Nováková"),
    ({"mail_channels": (MailChannel("support", team="sales"),)},
     "mail_channels.support.team", "sales"),
    ({"classification_rules": (KeywordRule(keywords=("faktura",), team="billing"),)},
     "classification_rules.0.team", "billing"),
    ({"sla": _policy(responsible="zdenek")}, "sla.standard.responsible", "zdenek"),
    ({"sla": _policy(team="vip")}, "sla.standard.team", "vip"),
    ({"sla": _policy(escalation=[EscalationLevel(1.0, ["team_lead",
                                                       Recipient.of_person("Jana Nováková")])])},
     "sla.standard.escalation", "Jana Nováková"),
])
def test_bootstrap_refuses_configuration_naming_nobody(clock, directory, settings, field,
                                                       value):
    with pytest.raises(ConfigurationError) as refused:
        _boot(clock, directory, **settings)
    assert isinstance(refused.value.__cause__, UnknownStaff)
    assert str(refused.value).startswith(f"{field}: no ")
    assert repr(value) in str(refused.value)
    if value == "Jana Nováková":
        assert str(refused.value).endswith("did you mean 'jana'?")


def test_a_mail_channel_given_to_a_fetch_run_is_checked_before_anything_is_fetched(
        clock, directory):
    inbox = MemoryInbox("extra")
    inbox.deliver(raw_mail())
    with _boot(clock, directory) as helpdesk:
        with pytest.raises(ConfigurationError, match=r"mail_channels\.extra\.owner: no agent "
                                                     r"'Jana Nováková'.*'jana'"):
            helpdesk.mail.fetch(inbox, channel=MailChannel("extra", owner="Jana Nováková"))
        assert helpdesk.mail.staged() == []
        report = helpdesk.mail.fetch(inbox, channel=MailChannel("extra", owner="jana"))
        assert report.outcomes == {"new_ticket": 1}
        [ticket] = helpdesk.tickets.queue().items
        assert ticket.assignee == "jana"


def test_bootstrap_checks_a_host_s_own_staff_directory(clock, directory):
    class HostStaff(InMemoryStaffDirectory):
        def helpdesk_owner(self):
            return "Hana", None  # a display name, not the id

    with pytest.raises(ConfigurationError, match=r"staff\.helpdesk_owner: no agent 'Hana'.*"
                                                 r"did you mean 'hana'\?"):
        bootstrap(Settings(storage="memory", autoload_plugins=False), directory=directory,
                  clock=clock, staff=HostStaff(with_jana()), environ={})


def test_the_staff_configuration_names_only_its_own_people():
    _refused(lambda: HelpdeskStaff(agents=AGENTS, helpdesk_owner="Hana"),
             field="helpdesk_owner", value="Hana", suggestions=("hana",))
    _refused(lambda: HelpdeskStaff(agents=AGENTS, teams=(Team("returns", lead="zdenek"),)),
             field="teams.returns.lead", value="zdenek")
    _refused(lambda: HelpdeskStaff(agents=AGENTS, absences=(
        Absence("zdenek", T0, T0 + timedelta(days=1)),)), field="absences", value="zdenek")
    _refused(lambda: HelpdeskStaff(agents=(*AGENTS, Agent("dana", teams=("Returns",))),
                                   teams=(RETURNS,)),
             field="agents.dana.teams", value="Returns", suggestions=("returns",))
    _refused(lambda: HelpdeskStaff(agents=AGENTS, teams=(Team("returns", members=("Aleš",)),)),
             field="teams.returns.members", value="Aleš", suggestions=("ales",))
    directory = InMemoryStaffDirectory(staff())
    with pytest.raises(UnknownStaff):
        directory.add_absence(Absence("zdenek", T0, T0 + timedelta(days=1)))


# -- no staff configured -----------------------------------------------------------------------


def test_without_staff_configured_any_id_is_taken_as_given(clock, directory):
    rule = KeywordRule(keywords=("faktura",), team="billing")
    with _boot(clock, directory, staff=HelpdeskStaff(), classification_rules=(rule,),
               mail_channels=(MailChannel("support", owner="carla", team="sales"),),
               sla=_policy(responsible="zdenek",
                           escalation=[EscalationLevel(1.0, [Recipient.of_person("x")])]),
               ) as helpdesk:
        helpdesk.configuration.define_incident_type(
            IncidentType("complaint", "Complaint", responsible="anyone", team="anything"))
        ticket = open_ticket(helpdesk, customer_email="jana@example.cz",
                             assignee="Jana Nováková", team="sales")
        ticket = helpdesk.staff.reassign(ticket.number, "karel", actor=EVA, team="front-desk")
        assert (ticket.assignee, ticket.team) == ("karel", "front-desk")


# -- what the chain is told at run time --------------------------------------------------------


class _Resolver:
    name = "router"

    def __init__(self, assignee, team):
        self.assignee, self.team = assignee, team

    def propose(self, ticket):
        return AssignmentProposal(self.name, self.assignee, self.team, "router says so")


class _Plugin:
    def __init__(self, *, resolver=None, team=None):
        self.resolver, self.team = resolver, team

    @hookimpl
    def helpdesk_assignment_resolvers(self):
        return [self.resolver] if self.resolver else []

    @hookimpl
    def helpdesk_classify(self, ticket, text):
        return Classification("router", team=self.team) if self.team else None


def test_the_chain_skips_people_and_teams_the_directory_does_not_list(make_helpdesk,
                                                                       directory):
    directory.add_customer(Contact.create(name="Klára", email="klara@example.cz",
                                          account_owner="zdenek"))  # from the host's CRM
    helpdesk = make_helpdesk(staff=with_jana(helpdesk_owner="hana"),
                             plugins=(_Plugin(resolver=_Resolver("karel", "sales")),))
    ticket = open_ticket(helpdesk, customer_email="klara@example.cz")
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == ("hana", None)
    trace = the_reason(helpdesk, ticket)["trace"]
    owner = next(step for step in trace if step["resolver"] == "account_owner")
    assert owner["skipped"] == [{"agent": "zdenek", "why": "not in the staff directory"}]

    helpdesk = make_helpdesk(staff=with_jana(chain=("hooks",)),
                             plugins=(_Plugin(resolver=_Resolver("karel", "sales")),))
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    assert (helpdesk.tickets.get(ticket.id).assignee, ticket.team) == (None, None)
    assert not [e for e in helpdesk.tickets.history(ticket.id)
                if e.kind in (EventKind.ASSIGNED, EventKind.TEAM_CHANGED)]

    helpdesk = make_helpdesk(staff=with_jana(chain=("hooks",)),
                             plugins=(_Plugin(resolver=_Resolver("jana", "sales")),))
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == ("jana", None)
    [step] = the_reason(helpdesk, ticket)["trace"]
    assert step["skipped"] == [{"team": "sales", "why": "not in the staff directory"}]


def test_a_classifier_s_unknown_team_is_not_used_and_the_ticket_is_opened(make_helpdesk,
                                                                           caplog):
    helpdesk = make_helpdesk(plugins=(_Plugin(team="sales"),))
    with caplog.at_level(logging.WARNING, logger="helpdesk_core.intake"):
        ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    assert helpdesk.tickets.get(ticket.id).team is None
    assert "no team 'sales' in the staff directory" in caplog.text


# -- the rules, as properties --------------------------------------------------------------------

_IDS = st.sampled_from(["ales", "bara", "Bára", "BARA", "zdenek", "jana", "Jana Nováková",
                        "jana  novakova", "returns", "Returns", "sales"])


@settings(max_examples=200, deadline=None)
@given(listed=st.lists(st.tuples(st.sampled_from(["ales", "bara", "jana", "returns"]),
                                 st.sampled_from(["", "Bára", "Jana Nováková", "Returns"])),
                       unique_by=lambda pair: pair[0], max_size=4),
       value=_IDS)
def test_an_id_is_accepted_only_when_listed_or_nobody_is(listed, value):
    ids = [key for key, _ in listed]
    if not listed or value in ids:
        assert ensure_listed("agent", value, listed, field="assignee") == value
        return
    with pytest.raises(UnknownStaff) as refused:
        ensure_listed("agent", value, listed, field="assignee")
    assert set(refused.value.suggestions) <= set(ids)
    named = [key for key, name in listed if name == value or key == value.lower()]
    assert set(named) <= set(refused.value.suggestions)


class _Proposes:
    def __init__(self, name, assignee, team):
        self.name, self.assignee, self.team = name, assignee, team

    def propose(self, ticket):
        return AssignmentProposal(self.name, self.assignee, self.team, "because")


@settings(max_examples=200, deadline=None)
@given(answers=st.lists(st.tuples(st.none() | _IDS, st.none() | _IDS), max_size=4),
       configured=st.booleans())
def test_the_chain_never_chooses_an_id_the_directory_does_not_list(answers, configured):
    directory = InMemoryStaffDirectory(with_jana() if configured else HelpdeskStaff())
    ticket = Ticket.open(number="HD-1", subject="x", channel=Channel.STAFF, at=T0, actor=EVA)
    resolvers = [_Proposes(f"r{i}", who, team) for i, (who, team) in enumerate(answers)]
    decision = choose(ticket, resolvers, now=T0, staff=directory, turn=lambda team: 1,
                      load=lambda agent: 0)
    if decision is None:
        return
    if configured:
        assert decision.assignee is None or directory.agent(decision.assignee) is not None
        assert decision.team is None or directory.team(decision.team) is not None
    else:
        offered = {value for answer in answers for value in answer}
        assert {decision.assignee, decision.team} - {None} <= offered
