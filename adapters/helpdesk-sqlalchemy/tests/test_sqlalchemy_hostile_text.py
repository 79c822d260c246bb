"""Text no database can store (a lone UTF-16 surrogate) is a ValidationError naming the field,
on SQLite and PostgreSQL, before anything is written — it was a UnicodeEncodeError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import attrs
import pytest

from helpdesk_core import Actor, Helpdesk, Settings, StaffVia, bootstrap
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.templates import MessageTemplate, TemplateKind
from helpdesk_core.errors import NotFound, TicketNotFound, ValidationError
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.telephony import Call

EVA = Actor.agent("eva", "Eva")
LONE = "\ud800"


@pytest.fixture
def desk(url: str) -> Iterator[Helpdesk]:
    helpdesk = bootstrap(Settings(database_url=url), environ={})
    yield helpdesk
    helpdesk.close()


@pytest.mark.parametrize(("field", "form"), [
    ("message", {"email": "jana@example.cz", "message": f"Konvice {LONE} netopí"}),
    ("subject", {"email": "jana@example.cz", "message": "Konvice", "subject": f"x{LONE}"}),
    ("name", {"email": "jana@example.cz", "message": "Konvice", "name": f"Jana{LONE}"}),
])
def test_a_lone_surrogate_in_a_form_is_refused_and_nothing_is_written(
        desk: Helpdesk, field: str, form: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as refused:
        desk.tickets.open_from_web_form(form)
    assert refused.value.field == field
    assert desk.tickets.queue().items == []


def test_a_lone_surrogate_in_a_note_or_a_staff_entry_is_refused(desk: Helpdesk) -> None:
    ticket = desk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Hovor",
                                        message="Volala zákaznice.")
    with pytest.raises(ValidationError):
        desk.tickets.add_note(ticket.number, f"pozor {LONE}", agent=EVA)
    with pytest.raises(ValidationError):
        desk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject=LONE, message="x")
    assert len(desk.tickets.articles(ticket.number)) == 1
    assert len(desk.tickets.queue().items) == 1


def test_a_lone_surrogate_anywhere_in_an_argument_is_refused_naming_it(desk: Helpdesk) -> None:
    """In a key looked up, a list, a value object's field: refused at the facade, nothing
    written (it reached the database driver: UnicodeEncodeError)."""
    ticket = desk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Hovor",
                                        message="Volala zákaznice.")
    before = (len(desk.tickets.queue().items), len(desk.tickets.history(ticket.number)))
    ringing = CallEvent(provider_call_id="c1", kind="ringing", direction="inbound",
                        from_number="+420601234567", to_number="+420800123456",
                        at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    calls = [
        ("key", lambda: desk.tickets.get(f"HD{LONE}")),
        ("key", lambda: desk.outbox.for_ticket(LONE)),
        ("outbox_id", lambda: desk.outbox.resend(LONE, actor=EVA)),
        ("provider_call_id", lambda: desk.calls.find_recorded(LONE)),
        ("account", lambda: desk.mail.staged(account=LONE)),
        ("keys", lambda: desk.mail.reprocess(keys=[LONE])),
        ("key", lambda: desk.templates.list(key=LONE)),
        ("ticket_key", lambda: desk.calls.record(call=Call.from_events([
            ringing, attrs.evolve(ringing, kind="answered"),
            attrs.evolve(ringing, kind="ended")]),
            agent=EVA, summary="x", ticket_key=LONE)),
        # a value object refuses it when it is made
        ("event.provider_call_id", lambda: desk.calls.screen_pop(
            attrs.evolve(ringing, provider_call_id=f"c{LONE}"))),
        ("template.body_html", lambda: desk.templates.save(MessageTemplate(
            key="thanks", kind=TemplateKind.REPLY, language="cs", name="Díky",
            subject="Díky", body_text="Díky.", body_html=f"<p>{LONE}</p>"))),
    ]
    for field, call in calls:
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.field == field
    assert (len(desk.tickets.queue().items), len(desk.tickets.history(ticket.number))) == before
    assert desk.templates.list() == []


# -- keys that cannot exist (issue 12) -------------------------------------------------------

NUL_KEYS = ["\x00", "HD-\x00", "HD-2026-000001\x00", "\x1b[31m", "\x7f", "x" * 100_000]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql",
                                                         marks=pytest.mark.postgres)])
def any_desk(request: pytest.FixtureRequest) -> Iterator[Helpdesk]:
    """A helpdesk on each backend: in memory, SQLite, PostgreSQL."""
    if request.param == "memory":
        settings = Settings(storage="memory")
    else:
        settings = Settings(database_url=request.getfixturevalue(
            "sqlite_url" if request.param == "sqlite" else "pg_url"))
    helpdesk = bootstrap(settings, environ={})
    yield helpdesk
    helpdesk.close()


def _answer(call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception as error:  # the answer compared is the error's class
        return type(error)


@pytest.mark.parametrize("key", NUL_KEYS, ids=["nul", "hd-nul", "number-nul", "escape",
                                                "del", "long"])
def test_a_key_that_cannot_exist_is_not_found_on_every_backend(any_desk: Helpdesk,
                                                                 key: str) -> None:
    """A NUL byte in a ticket key was a StorageError on PostgreSQL and nothing on SQLite:
    every facade method that looks something up by key now answers as for a missing key."""
    desk = any_desk
    ticket = desk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Hovor",
                                        message="Volala zákaznice.")
    expected: list[tuple[str, Callable[[], object], object]] = [
        ("tickets.get", lambda: desk.tickets.get(key), TicketNotFound),
        ("tickets.get by id", lambda: desk.tickets.get(ticket.id + key), TicketNotFound),
        ("tickets.history", lambda: desk.tickets.history(key), TicketNotFound),
        ("tickets.articles", lambda: desk.tickets.articles(key), TicketNotFound),
        ("tickets.transition", lambda: desk.tickets.transition(key, "open", actor=EVA),
         TicketNotFound),
        ("tickets.add_note", lambda: desk.tickets.add_note(key, "x", agent=EVA),
         TicketNotFound),
        ("tickets.reply", lambda: desk.tickets.reply(key, "x", agent=EVA), TicketNotFound),
        ("staff.assign", lambda: desk.staff.assign(key, "eva", actor=EVA), TicketNotFound),
        ("staff.trace", lambda: desk.staff.trace(key), TicketNotFound),
        ("outbox.for_ticket", lambda: desk.outbox.for_ticket(key), TicketNotFound),
        ("outbox.resend", lambda: desk.outbox.resend(key, actor=EVA), NotFound),
        ("sla.clocks", lambda: desk.sla.clocks(key), None),
        ("calls.find_recorded", lambda: desk.calls.find_recorded(key), None),
        ("mail.staged", lambda: desk.mail.staged(account=key), []),
        ("mail.reprocess keys", lambda: desk.mail.reprocess(keys=[key]), []),
        ("mail.reprocess account", lambda: desk.mail.reprocess(account=key), []),
        ("templates.list", lambda: desk.templates.list(key=key), []),
        ("templates.delete", lambda: desk.templates.delete(key, "cs"), False),
        ("templates.delete language", lambda: desk.templates.delete("thanks", key), False),
        ("templates.delete type", lambda: desk.templates.delete("thanks", "cs", key), False),
        ("templates.context", lambda: desk.templates.context(key, language="cs"),
         TicketNotFound),
    ]
    answers = {name: _answer(call) for name, call, _ in expected}
    assert answers == {name: answer for name, _, answer in expected}
    assert [t.id for t in desk.tickets.queue().items] == [ticket.id]


@pytest.mark.parametrize("field", ["team", "assignee", "customer_id", "organisation_id",
                                   "incident_type"])
def test_a_nul_byte_in_a_queue_filter_is_refused_naming_the_field(any_desk: Helpdesk,
                                                                   field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        any_desk.tickets.queue(TicketQuery(**{field: "a\x00"}))
    assert refused.value.field == field
