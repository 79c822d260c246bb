"""The chain's fallback steps, its configurable order, hook resolvers, and the trace."""

from __future__ import annotations

from assign_support import open_ticket, raw_mail, staff, steps, the_reason

from helpdesk_core import Settings, bootstrap, hookimpl
from helpdesk_core.domain import EventKind, IncidentType
from helpdesk_core.domain.extensions import AssignmentProposal
from helpdesk_core.domain.staff import DEFAULT_CHAIN
from helpdesk_core.inmemory.staff import InMemoryStaffDirectory
from helpdesk_core.mail.policy import MailChannel


def test_the_default_chain_is_the_four_steps_in_order():
    assert DEFAULT_CHAIN == ("incident_type", "account_owner", "channel_owner",
                             "helpdesk_owner")
    assert staff().chain == DEFAULT_CHAIN


# -- each fallback step ------------------------------------------------------------------------


def test_step_1_the_incident_types_responsible_person(make_helpdesk):
    helpdesk = make_helpdesk()
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             responsible="petr"))
    ticket = open_ticket(helpdesk, incident_type="complaint", customer_email="petr@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "petr"
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "incident_type"
    assert steps(reason) == ["incident_type"]


def test_step_2_the_customers_account_owner(make_helpdesk):
    helpdesk = make_helpdesk()
    helpdesk.configuration.define_incident_type(IncidentType("question",
                                                             "Question"))  # nobody responsible
    ticket = open_ticket(helpdesk, incident_type="question", customer_email="petr@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "olga"
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "account_owner"
    assert reason["why"] == "account owner of Petr Svoboda"
    assert steps(reason) == ["incident_type", "account_owner"]
    assert reason["trace"][0]["answer"] is None


def test_step_3_the_person_responsible_for_the_mail_channel(make_helpdesk):
    helpdesk = make_helpdesk(mail_channels=(MailChannel(
        name="support", addresses=frozenset({"support@shop.example"}), owner="carla"),))
    outcome = helpdesk.mail.receive(raw_mail(sender="Jana <jana@example.cz>"),
                                    channel="support")
    ticket = helpdesk.tickets.get(outcome.ticket_id)
    assert ticket.assignee == "carla"
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "channel_owner"
    assert reason["why"] == "responsible for the email channel"
    assert steps(reason) == ["incident_type", "account_owner", "channel_owner"]


def test_step_4_the_general_helpdesk_owner(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(helpdesk_owner="hana"))
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "hana"
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "helpdesk_owner"
    assert reason["why"] == "owner of the helpdesk"
    assert steps(reason) == ["incident_type", "account_owner", "channel_owner",
                             "helpdesk_owner"]
    assert [step["answer"] for step in reason["trace"][:3]] == [None, None, None]


def test_the_helpdesk_owner_may_be_a_team(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(helpdesk_team="returns"))
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == ("ales", "returns")
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "helpdesk_owner"
    assert reason["strategy"] == "round_robin"
    assert reason["why"].startswith("owner of the helpdesk; round-robin turn 1")


def test_without_any_answer_nothing_is_assigned(make_helpdesk):
    helpdesk = make_helpdesk()
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee is None
    assert not [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.ASSIGNED]


def test_without_teams_configured_a_named_team_keeps_the_ticket_in_its_queue(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(teams=()))
    helpdesk.configuration.define_incident_type(IncidentType("billing", "Billing",
                                                             team="accounting"))
    ticket = open_ticket(helpdesk, incident_type="billing", customer_email="petr@example.cz")
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == (None, "accounting")
    [team] = [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.TEAM_CHANGED]
    assert team.data["reason"]["winner"] == "incident_type"


def test_an_answer_with_person_and_team_assigns_the_person_and_sets_the_team(make_helpdesk):
    helpdesk = make_helpdesk()
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             responsible="petr",
                                               team="returns"))
    ticket = open_ticket(helpdesk, incident_type="complaint")
    stored = helpdesk.tickets.get(ticket.id)
    assert (stored.assignee, stored.team) == ("petr", "returns")
    # an available person wins without a team pick: the trace says only what was asked
    assert the_reason(helpdesk, ticket)["trace"] == [{"resolver": "incident_type", "answer": {
        "assignee": "petr", "team": "returns", "reason": "responsible for incident type "
                                                         "complaint"}}]


# -- configurable order ------------------------------------------------------------------------


def test_the_order_is_configurable(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(chain=("account_owner", "incident_type")))
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             responsible="petr"))
    ticket = open_ticket(helpdesk, incident_type="complaint", customer_email="petr@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "olga"
    assert steps(the_reason(helpdesk, ticket)) == ["account_owner"]


def test_a_step_left_out_of_the_chain_is_never_asked(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(chain=("incident_type", "helpdesk_owner"),
                                         helpdesk_owner="hana"))
    ticket = open_ticket(helpdesk, customer_email="petr@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "hana"  # not olga, the account owner
    assert steps(the_reason(helpdesk, ticket)) == ["incident_type", "helpdesk_owner"]


def test_the_optional_ticket_team_step_picks_from_the_tickets_own_team(make_helpdesk):
    helpdesk = make_helpdesk(staff=staff(chain=("incident_type", "ticket_team",
                                                "helpdesk_owner"), helpdesk_owner="hana"))
    ticket = open_ticket(helpdesk, team="returns")
    assert helpdesk.tickets.get(ticket.id).assignee == "ales"
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "ticket_team"
    assert steps(reason) == ["incident_type", "ticket_team"]


# -- hook resolvers ----------------------------------------------------------------------------


class Fixed:
    def __init__(self, name, assignee=None, team=None):
        self.name, self.assignee, self.team = name, assignee, team
        self.asked = 0

    def propose(self, ticket):
        self.asked += 1
        return AssignmentProposal(self.name, self.assignee, self.team, f"{self.name} says so")


class Plugin:
    def __init__(self, *resolvers):
        self.resolvers = list(resolvers)

    @hookimpl
    def helpdesk_assignment_resolvers(self):
        return self.resolvers


def test_hook_resolvers_come_after_the_chain_by_default(make_helpdesk):
    crm = Fixed("crm", "hana")
    helpdesk = make_helpdesk(plugins=(Plugin(crm),))
    ticket = open_ticket(helpdesk, customer_email="petr@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "olga"
    assert crm.asked == 0
    jana = open_ticket(helpdesk, customer_email="jana@example.cz")
    assert helpdesk.tickets.get(jana.id).assignee == "hana"
    assert steps(the_reason(helpdesk, jana)) == [*DEFAULT_CHAIN, "crm"]


def test_hook_resolvers_can_come_first(make_helpdesk):
    crm = Fixed("crm", "hana")
    helpdesk = make_helpdesk(plugins=(Plugin(crm),),
                             staff=staff(chain=("hooks", *DEFAULT_CHAIN)))
    ticket = open_ticket(helpdesk, customer_email="petr@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "hana"
    assert steps(the_reason(helpdesk, ticket)) == ["crm"]


def test_a_hook_resolver_named_in_the_chain_takes_that_place(make_helpdesk):
    crm, late = Fixed("crm", None), Fixed("late", "cyril")
    helpdesk = make_helpdesk(plugins=(Plugin(crm, late),),
                             staff=staff(chain=("incident_type", "crm", "account_owner")))
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
    assert helpdesk.tickets.get(ticket.id).assignee == "cyril"
    assert steps(the_reason(helpdesk, ticket)) == ["incident_type", "crm", "account_owner",
                                                   "late"]


def test_a_hook_resolver_answering_a_team_gets_the_teams_strategy(make_helpdesk):
    helpdesk = make_helpdesk(plugins=(Plugin(Fixed("router", team="returns")),))
    first = open_ticket(helpdesk, customer_email="jana@example.cz")
    second = open_ticket(helpdesk, customer_email="jana@example.cz")
    assert [helpdesk.tickets.get(t.id).assignee for t in (first, second)] == ["ales", "bara"]
    assert the_reason(helpdesk, second)["why"] == ("router says so; round-robin turn 2 in "
                                                   "team returns")


# -- the trace ---------------------------------------------------------------------------------


def test_the_trace_records_every_step_the_team_pick_and_the_winner(make_helpdesk):
    helpdesk = make_helpdesk()
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             team="returns"))
    ticket = open_ticket(helpdesk, incident_type="complaint", customer_email="petr@example.cz")
    reason = the_reason(helpdesk, ticket)
    assert reason["winner"] == "incident_type"
    assert reason["strategy"] == "round_robin"
    assert reason["why"] == ("responsible for incident type complaint; round-robin turn 1 "
                             "in team returns")
    [entry] = reason["trace"]
    assert entry["answer"] == {"assignee": None, "team": "returns",
                               "reason": "responsible for incident type complaint"}
    assert entry["team_pick"] == {
        "team": "returns", "strategy": "round_robin", "candidates": ["ales", "bara", "cyril"],
        "position": 1, "picked": "ales", "why": "round-robin turn 1 in team returns",
    }


def test_the_facade_reads_the_traces(make_helpdesk):
    helpdesk = make_helpdesk()
    ticket = open_ticket(helpdesk, customer_email="petr@example.cz")
    [trace] = helpdesk.staff.trace(ticket.number)
    assert (trace["old"], trace["new"]) == (None, "olga")
    assert trace["actor"] == {"kind": "system", "id": None, "name": "assignment"}
    assert trace["winner"] == "account_owner"
    assert [s["resolver"] for s in trace["trace"]] == ["incident_type", "account_owner"]


# -- wiring ------------------------------------------------------------------------------------


def test_a_host_passes_its_own_staff_directory(clock, directory):
    hr = InMemoryStaffDirectory(staff(helpdesk_owner="hana"))
    with bootstrap(Settings(storage="memory", autoload_plugins=False, staff=staff()),
                   directory=directory, clock=clock, staff=hr, environ={}) as helpdesk:
        assert helpdesk.staff.directory is hr
        ticket = open_ticket(helpdesk, customer_email="jana@example.cz")
        assert helpdesk.tickets.get(ticket.id).assignee == "hana"


def test_without_staff_settings_the_directory_is_empty(clock, directory):
    with bootstrap(Settings(storage="memory", autoload_plugins=False), directory=directory,
                   clock=clock, environ={}) as helpdesk:
        assert helpdesk.staff.directory.chain() == DEFAULT_CHAIN
        assert helpdesk.staff.directory.helpdesk_owner() == (None, None)
        assert helpdesk.staff.directory.agent("olga") is None
