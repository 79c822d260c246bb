"""Text no database can store (a lone UTF-16 surrogate) is a ValidationError naming the field,
on SQLite and PostgreSQL, before anything is written — it was a UnicodeEncodeError."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import attrs
import pytest

from helpdesk_core import Actor, Helpdesk, Settings, StaffVia, bootstrap
from helpdesk_core.domain.templates import MessageTemplate, TemplateKind
from helpdesk_core.errors import ValidationError
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
    ringing = CallEvent(provider_call_id=f"c{LONE}", kind="ringing", direction="inbound",
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
            attrs.evolve(ringing, provider_call_id="c1"),
            attrs.evolve(ringing, provider_call_id="c1", kind="answered"),
            attrs.evolve(ringing, provider_call_id="c1", kind="ended")]),
            agent=EVA, summary="x", ticket_key=LONE)),
        ("event.provider_call_id", lambda: desk.calls.screen_pop(ringing)),
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
