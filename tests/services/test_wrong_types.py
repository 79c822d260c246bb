"""Values of the wrong type at the facade get a typed error that names the field, and nothing
is written — never an AttributeError from deep inside (found trying the library as a new user
would)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.services.conftest import MakeHelpdesk

from helpdesk_core import Actor, Helpdesk, Priority, StaffVia
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import ValidationError
from helpdesk_core.sla import (
    BusinessCalendar,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

EVA = Actor.agent("eva", "Eva")
FORM = {"email": "jana@example.cz", "name": "Jana", "message": "Konvice netopí."}
SLA = SlaConfig(selector=PolicySelector.standard(default=SlaPolicy(
    "standard", BusinessCalendar.weekly("UTC", {"mon-sun": "00:00-24:00"}),
    targets=[SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=8))])))


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk()


def _stored(desk: Helpdesk) -> list[tuple[Any, ...]]:
    return [(t.snapshot(), len(desk.tickets.history(t.id)))
            for t in desk.tickets.queue().items]


@pytest.mark.parametrize("fields", [None, ["email", "message"], "email=jana@example.cz", 42])
def test_a_web_form_that_is_no_mapping_is_refused(desk: Helpdesk, fields: object) -> None:
    with pytest.raises(ValidationError) as refused:
        desk.tickets.open_from_web_form(fields)  # type: ignore[arg-type]
    assert refused.value.field == "fields"
    assert _stored(desk) == []


def test_a_priority_given_as_its_text_counts_and_anything_else_is_refused(
        desk: Helpdesk) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    assert desk.tickets.set_priority(number, "urgent", actor=EVA).priority is Priority.URGENT  # type: ignore[arg-type]
    before = _stored(desk)
    for wrong in ("panic", None, 1, Priority):
        with pytest.raises(ValidationError) as refused:
            desk.tickets.set_priority(number, wrong, actor=EVA)  # type: ignore[arg-type]
        assert refused.value.field == "priority"
    assert _stored(desk) == before


@pytest.mark.parametrize("actor", ["eva", 7, {"kind": "agent"}])
def test_an_actor_that_is_no_actor_is_refused(desk: Helpdesk, actor: object) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    before = _stored(desk)
    with pytest.raises(ValidationError) as refused:
        desk.tickets.tag(number, "vip", actor=actor)  # type: ignore[arg-type]
    assert refused.value.field == "actor"
    assert _stored(desk) == before


def test_a_change_without_an_actor_is_refused_and_nothing_is_written(desk: Helpdesk) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    before = _stored(desk)
    with pytest.raises(ValidationError) as refused:
        desk.tickets.set_priority(number, Priority.HIGH, actor=None)  # type: ignore[arg-type]
    assert refused.value.field == "actor"
    assert _stored(desk) == before


def test_staff_entry_takes_the_channel_as_its_text_and_refuses_others(desk: Helpdesk) -> None:
    ticket = desk.tickets.open_by_staff(agent=EVA, via="phone", subject="Hovor",  # type: ignore[arg-type]
                                        message="Volala zákaznice.")
    assert ticket.channel.value == "phone"
    before = _stored(desk)
    for wrong in ("fax", None, 3):
        with pytest.raises(ValidationError) as refused:
            desk.tickets.open_by_staff(agent=EVA, via=wrong, subject="x",  # type: ignore[arg-type]
                                       message="x")
        assert refused.value.field == "via"
    assert _stored(desk) == before
    assert StaffVia.of("in_store") is StaffVia.IN_STORE


@pytest.mark.parametrize("limit", ["10", 2.5, None, True])
def test_a_queue_limit_that_is_no_whole_number_is_refused(desk: Helpdesk, limit: object) -> None:
    from helpdesk_core import TicketQuery

    with pytest.raises(ValidationError) as refused:
        desk.tickets.queue(TicketQuery.active(limit=limit))  # type: ignore[arg-type]
    assert refused.value.field == "limit"


@pytest.mark.parametrize("version", ["abc", "1", 1.0, True])
def test_an_expected_version_that_is_no_version_is_refused(desk: Helpdesk,
                                                           version: object) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    before = _stored(desk)
    with pytest.raises(ValidationError) as refused:
        desk.tickets.set_priority(number, Priority.HIGH, actor=EVA,
                                  expected_version=version)  # type: ignore[arg-type]
    assert refused.value.field == "expected_version"
    assert _stored(desk) == before


# -- every argument is checked against its annotation ----------------------------------------

def _calls(desk: Helpdesk, number: str) -> list[tuple[str, Any]]:
    """(the parameter that is wrong, a call with it) — a value object that is no instance,
    a key that is no text, a list of addresses given as one string, a flag that is no bool,
    a limit that is no whole number, a mailbox that is no inbox."""
    return [
        ("key", lambda: desk.tickets.history({"id": number})),
        ("key", lambda: desk.staff.assign([number], "eva", actor=EVA)),
        ("to", lambda: desk.tickets.link(number, 42, actor=EVA)),
        ("query", lambda: desk.tickets.queue(True)),
        ("to", lambda: desk.tickets.reply(number, "Hi", agent=EVA, to="jana@example.cz")),
        ("html", lambda: desk.tickets.reply(number, "Hi", agent=EVA, html=())),
        ("agent", lambda: desk.tickets.reply(number, "Hi", agent=None)),
        ("public_only", lambda: desk.tickets.articles(number, public_only="false")),
        ("filename", lambda: desk.tickets.add_attachment(data=b"x", filename=None)),
        ("data", lambda: desk.tickets.add_attachment(data="x", filename="a.txt")),
        ("limit", lambda: desk.mail.staged(limit=2.5)),
        ("inbox", lambda: desk.mail.fetch(None)),
        ("raw", lambda: desk.mail.receive("From: a@b.cz\r\n\r\nx")),
        ("keys", lambda: desk.sla.recompute(True)),
        ("call", lambda: desk.calls.record(call=None, agent=EVA, summary="x")),
        ("event", lambda: desk.calls.screen_pop(None)),
        ("template", lambda: desk.templates.save(None)),
        ("incident_type", lambda: desk.configuration.define_incident_type("complaint")),
        ("policy", lambda: desk.outbox.dispatch(policy=True)),
        ("reason", lambda: desk.staff.reassign(number, "eva", actor=EVA, reason=None)),
        ("tags", lambda: desk.tickets.tag(number, "vip", None, actor=EVA)),
        ("custom_fields", lambda: desk.tickets.open_by_staff(
            agent=EVA, via="phone", subject="x", message="x", custom_fields=True)),
        ("tags", lambda: desk.tickets.open_from_order(
            agent=EVA, order_number="2026-00042", subject="x", message="x", tags=None)),
        ("colour", lambda: desk.tickets.open_by_staff(
            agent=EVA, via="phone", subject="x", message="x", colour="red")),
        ("meta", lambda: desk.tickets.add_article(
            number, direction=Direction.INBOUND, channel=Channel.WEB_FORM, author=EVA,
            body_text="x", meta={"n": 1})),
        ("direction", lambda: desk.tickets.add_article(
            number, direction="inbound", channel=Channel.WEB_FORM, author=EVA, body_text="x")),
    ]


def test_an_argument_of_the_wrong_type_is_refused_naming_it_and_nothing_is_written(
        desk: Helpdesk) -> None:
    number = desk.tickets.open_from_web_form(FORM).number
    before = _stored(desk)
    for field, call in _calls(desk, number):
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.field == field, refused.value
    assert _stored(desk) == before


@pytest.mark.parametrize("now", [datetime(2026, 3, 2, 9, 0),  # naive
                                 datetime.max.replace(tzinfo=UTC)])
def test_an_sla_instant_that_is_naive_or_at_the_end_of_time_is_refused(
        make_helpdesk: MakeHelpdesk, now: datetime) -> None:
    desk = make_helpdesk(sla=SLA)
    number = desk.tickets.open_from_web_form(FORM).number
    for call in (lambda: desk.sla.clocks(number, now=now), lambda: desk.sla.sweep(now=now)):
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.field == "now"


@pytest.mark.parametrize("limit", [-1, 2**63, 10**30])
def test_a_limit_that_is_negative_or_beyond_any_database_is_refused(
        make_helpdesk: MakeHelpdesk, limit: int) -> None:
    """SQLite cannot hold 2**63 (OverflowError) and PostgreSQL refuses a negative LIMIT."""
    desk = make_helpdesk(sla=SLA)
    for call in (lambda: desk.mail.staged(limit=limit), lambda: desk.sla.sweep(limit=limit)):
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.field == "limit"
