"""Text no database can store (a lone UTF-16 surrogate) is a ValidationError naming the field,
on SQLite and PostgreSQL, before anything is written — it was a UnicodeEncodeError."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk_core import Actor, Helpdesk, Settings, StaffVia, bootstrap
from helpdesk_core.errors import ValidationError

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
