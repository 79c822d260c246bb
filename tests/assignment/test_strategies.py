"""Team strategies: round-robin, least open load, skills and language."""

from __future__ import annotations

from assign_support import AGENTS, EVA, open_ticket, staff, the_reason

from helpdesk_core.domain import IncidentType
from helpdesk_core.domain.staff import Agent, Team


def team_desk(make_helpdesk, team: Team, agents=AGENTS):
    helpdesk = make_helpdesk(staff=staff(agents=agents, teams=(team,), helpdesk_team=team.key))
    return helpdesk


def assignees(helpdesk, count, **details):
    return [helpdesk.tickets.get(open_ticket(helpdesk,
                                             **details).id).assignee for _ in range(count)]


# -- round-robin -------------------------------------------------------------------------------


def test_round_robin_takes_turns_in_member_order(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, Team("returns", members=("cyril", "ales", "bara")))
    assert assignees(helpdesk, 7) == ["cyril", "ales", "bara"] * 2 + ["cyril"]


def test_round_robin_turns_are_kept_per_team(make_helpdesk):
    teams = (Team("returns", members=("ales", "bara")), Team("billing", members=("olga",
                                                                                 "hana")))
    helpdesk = make_helpdesk(staff=staff(teams=teams))
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint",
                                                             team="returns"))
    helpdesk.configuration.define_incident_type(IncidentType("billing", "Billing", team="billing"))
    picked = [helpdesk.tickets.get(open_ticket(helpdesk, incident_type=k).id).assignee
              for k in ("complaint", "billing", "complaint", "billing")]
    assert picked == ["ales", "olga", "bara", "hana"]


def test_agents_may_join_a_team_from_their_own_record(make_helpdesk):
    agents = (*AGENTS, Agent("dana", "Dana", teams=("returns",)))
    helpdesk = team_desk(make_helpdesk, Team("returns", members=("ales",)), agents)
    assert assignees(helpdesk, 3) == ["ales", "dana", "ales"]


# -- least load --------------------------------------------------------------------------------


def test_least_load_picks_the_member_with_fewest_active_tickets(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, Team("returns", members=("ales", "bara", "cyril"),
                                             strategy="least_load"))
    for assignee in ("ales", "ales", "bara"):
        open_ticket(helpdesk, assignee=assignee)
    ticket = open_ticket(helpdesk)
    assert helpdesk.tickets.get(ticket.id).assignee == "cyril"
    reason = the_reason(helpdesk, ticket)
    assert reason["strategy"] == "least_load"
    pick = reason["trace"][-1]["team_pick"]
    assert pick["loads"] == {"ales": 2, "bara": 1, "cyril": 0}
    assert pick["why"] == "fewest open tickets in team returns (0)"
    # then the loads even out; ties go to the member listed first
    assert assignees(helpdesk, 3) == ["bara", "cyril", "ales"]


def test_least_load_counts_only_active_tickets(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, Team("returns", members=("ales", "bara"),
                                             strategy="least_load"))
    done = open_ticket(helpdesk, assignee="ales")
    open_ticket(helpdesk, assignee="bara")
    helpdesk.tickets.transition(done.id, "resolved", actor=EVA)
    assert assignees(helpdesk, 1) == ["ales"]


# -- skills and language -----------------------------------------------------------------------


LINGUISTS = (
    Agent("ales", "Aleš", languages=("cs", "sk")),
    Agent("bara", "Bára", languages=("de",), skills=("complaint",)),
    Agent("cyril", "Cyril", languages=("en", "de"), skills=("warranty", "billing")),
    Agent("olga", "Olga"), Agent("petr", "Petr"), Agent("hana", "Hana"),
)
SKILLED = Team("returns", members=("ales", "bara", "cyril"), strategy="skills")


def test_skills_match_the_tickets_language(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, SKILLED, LINGUISTS)
    ticket = open_ticket(helpdesk, customer_email="jana@example.cz")  # Jana writes Czech
    assert helpdesk.tickets.get(ticket.id).assignee == "ales"
    pick = the_reason(helpdesk, ticket)["trace"][-1]["team_pick"]
    assert pick["matches"] == {"ales": ["language:cs"], "bara": [], "cyril": []}
    assert pick["why"] == "best match in team returns (language:cs; 0 open)"


def test_skills_match_the_incident_type_and_its_ancestors(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, SKILLED, LINGUISTS)
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Complaint"))
    helpdesk.configuration.define_incident_type(IncidentType("complaint/damaged", "Damaged"))
    ticket = open_ticket(helpdesk, incident_type="complaint/damaged", language="de")
    assert helpdesk.tickets.get(ticket.id).assignee == "bara"  # German and complaints
    pick = the_reason(helpdesk, ticket)["trace"][-1]["team_pick"]
    assert pick["matches"]["bara"] == ["language:de", "incident_type:complaint"]
    assert pick["matches"]["cyril"] == ["language:de"]


def test_skills_match_tags(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, SKILLED, LINGUISTS)
    ticket = open_ticket(helpdesk, language="de", tags=["warranty"])
    assert helpdesk.tickets.get(ticket.id).assignee == "cyril"


def test_equal_skills_go_to_the_lighter_load_then_by_turns(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, SKILLED, LINGUISTS)
    open_ticket(helpdesk, assignee="bara")
    # German: bara and cyril match equally; cyril holds fewer tickets
    ticket = open_ticket(helpdesk, language="de")
    assert helpdesk.tickets.get(ticket.id).assignee == "cyril"
    assert "position" not in the_reason(helpdesk, ticket)["trace"][-1]["team_pick"]
    # now one each: a tie on skill and load is broken by round-robin turns
    ties = assignees(helpdesk, 4, language="de")
    assert sorted(ties) == ["bara", "bara", "cyril", "cyril"]
    last = the_reason(helpdesk, open_ticket(helpdesk, language="de"))
    assert "round-robin turn" in last["why"]


def test_nobody_matching_falls_back_to_load(make_helpdesk):
    helpdesk = team_desk(make_helpdesk, SKILLED, LINGUISTS)
    open_ticket(helpdesk, assignee="ales")
    open_ticket(helpdesk, assignee="cyril")
    assert assignees(helpdesk, 1, language="fr") == ["bara"]
