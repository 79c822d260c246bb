"""Agents' roles from the staff directory, applied by the one access check of every section."""

from __future__ import annotations

import pytest
from tests.services.conftest import MakeHelpdesk

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Actor, EntityKind, EntityRef
from helpdesk_core.domain.staff import Agent, HelpdeskStaff, Role
from helpdesk_core.errors import PermissionDenied

FORM = {"email": "jana@example.cz", "name": "Jana", "subject": "Kettle", "message": "Leaks."}
STAFF = HelpdeskStaff(agents=(
    Agent("ada", role=Role.ADMIN), Agent("sam", role="supervisor"), Agent("eva"),
    Agent("lia", role=Role.LIGHT_AGENT), Agent("rob", role=Role.READ_ONLY),
    Agent("old", active=False),
))


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(staff=STAFF)


def test_a_light_agent_writes_notes_but_does_not_answer(desk: Helpdesk) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    lia = Actor.agent("lia")
    assert desk.tickets.add_note(number, "checked the stock", agent=lia).public is False
    assert desk.tickets.history(number, actor=lia)
    with pytest.raises(PermissionDenied, match="light_agent"):
        desk.tickets.reply(number, "Hello", agent=lia)
    with pytest.raises(PermissionDenied):
        desk.tickets.tag(number, "vip", actor=lia)


def test_read_only_reads_and_changes_nothing(desk: Helpdesk) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    rob = Actor.agent("rob")
    before = desk.tickets.get(number, actor=rob)
    assert desk.tickets.queue(actor=rob).items
    for change in (lambda: desk.tickets.add_note(number, "x", agent=rob),
                   lambda: desk.tickets.transition(number, "open", actor=rob),
                   lambda: desk.tickets.link(number, EntityRef(EntityKind.ORDER, "eshop", "1"),
                                             actor=rob)):
        with pytest.raises(PermissionDenied):
            change()
    assert desk.tickets.get(number).version == before.version


def test_configuration_takes_an_admin_and_templates_a_supervisor(desk: Helpdesk) -> None:
    from helpdesk_core import IncidentType

    with pytest.raises(PermissionDenied, match="admin"):
        desk.configuration.define_incident_type(IncidentType("complaint", "Complaint"),
                                                actor=Actor.agent("sam"))
    desk.configuration.define_incident_type(IncidentType("complaint", "Complaint"),
                                            actor=Actor.agent("ada"))
    assert desk.templates.list(actor=Actor.agent("sam")) is not None
    with pytest.raises(PermissionDenied, match="supervisor"):
        desk.templates.list(actor=Actor.agent("eva"))


def test_an_agent_no_longer_active_may_do_nothing(desk: Helpdesk) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    with pytest.raises(PermissionDenied, match="no longer an active agent"):
        desk.tickets.get(number, actor=Actor.agent("old"))


def test_an_agent_the_directory_does_not_list_has_no_role_to_limit_them(
        desk: Helpdesk) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    desk.tickets.reply(number, "Hello", agent=Actor.agent("temp"))


def test_without_listed_agents_any_agent_may_do_everything(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk()
    number = desk.tickets.open_from_web_form(FORM).number
    desk.tickets.reply(number, "Hello", agent=Actor.agent("anyone"))
