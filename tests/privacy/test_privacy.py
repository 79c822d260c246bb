"""``helpdesk.privacy`` in memory: export and erasure of a customer with a realistic history;
after the erasure no stored value holds her name, addresses or numbers, and the statistics
are those of before."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from helpdesk_core import Actor, Helpdesk, Settings, bootstrap
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.staff import Agent, HelpdeskStaff, Role
from helpdesk_core.errors import ContactNotFound, PermissionDenied, ValidationError
from helpdesk_core.inmemory import FakeClock, InMemoryBlobStore, InMemoryStorage
from helpdesk_core.testing.privacy import (
    ADMIN,
    EVA,
    T0,
    Person,
    build_history,
    leaks,
    statistics,
)

REASON = "erasure request 2026/17"


@pytest.fixture
def desk() -> Iterator[Helpdesk]:
    """Blobs kept in the storage's database, as a database adapter keeps them."""
    storage = InMemoryStorage()
    with bootstrap(Settings(storage="memory", autoload_plugins=False), storage=storage,
                   blob_store=InMemoryBlobStore(storage), clock=FakeClock(T0),
                   environ={}) as helpdesk:
        yield helpdesk


@pytest.fixture
def jana(desk: Helpdesk) -> Person:
    return build_history(desk)


def _stored(desk: Helpdesk) -> list[Any]:
    state = desk.storage._state  # type: ignore[attr-defined]
    return [getattr(state, f.name) for f in attrs.fields(type(state))
            if f.name not in {"lock", "claimed"}]


def test_the_history_holds_her_data_everywhere_before(desk: Helpdesk, jana: Person) -> None:
    found = leaks(_stored(desk), jana)
    assert len(found) > 20
    assert any("invoice" in text for text in found)


def test_the_export_holds_everything_about_her(desk: Helpdesk, jana: Person) -> None:
    export = desk.privacy.export(jana.contact_id, actor=EVA)
    assert export.contact.id == jana.contact_id
    assert {t["number"] for t in export.tickets} == set(jana.ticket_numbers)
    # the web form's (merged), the mail's (the SMS went onto it too), Petr's (her in Cc)
    assert len(export.tickets) == 3
    assert {a.channel.value for a in export.articles} >= {"web_form", "email", "sms"}
    assert any(f.filename.endswith("invoice.pdf") and f.data.startswith(b"%PDF")
               for f in export.files)
    assert any(f.content_type == "message/rfc822" for f in export.files)
    assert export.staged_mail
    assert export.messages
    assert export.outbox
    assert all(a.public or a.author.id == jana.contact_id for a in export.articles)
    document = json.loads(export.to_json())
    assert document["contact"]["id"] == jana.contact_id
    assert document["exported_at"] == T0.isoformat()
    assert {f["path"] for f in document["files"]} == {f.path for f in export.files}
    with zipfile.ZipFile(io.BytesIO(export.zip_bytes())) as archive:
        names = set(archive.namelist())
        assert "personal-data.json" in names
        assert {f.path for f in export.files} <= names
        assert json.loads(archive.read("personal-data.json")) == document


def test_after_erasure_nothing_stored_names_her_and_the_statistics_stay(
        desk: Helpdesk, jana: Person) -> None:
    before = statistics(desk)
    report = desk.privacy.erase(jana.contact_id, actor=ADMIN, reason=REASON)
    assert leaks(_stored(desk), jana) == []
    assert statistics(desk) == before
    assert set(report.tickets) == set(jana.ticket_numbers)
    assert report.blobs_deleted > 0
    assert report.blobs_kept == ()
    assert report.automatic_senders == 0
    assert not report.already_erased
    for number in jana.ticket_numbers:
        [event] = [e for e in desk.tickets.history(number)
                   if e.kind is EventKind.PERSONAL_DATA_ERASED]
        assert event.actor == ADMIN
        assert event.data == {"reason": REASON}
    with desk.storage.unit_of_work(read_only=True) as uow:
        contact = uow.contacts.get(jana.contact_id)
    assert contact.name.startswith("erased-")
    assert not contact.emails
    assert not contact.phones


def test_an_erasure_runs_once(desk: Helpdesk, jana: Person) -> None:
    desk.privacy.erase(jana.contact_id, actor=ADMIN, reason=REASON)
    after = statistics(desk)
    histories = {n: desk.tickets.history(n) for n in jana.ticket_numbers}
    again = desk.privacy.erase(jana.contact_id, actor=ADMIN, reason=REASON)
    assert again.already_erased
    assert again.tickets == ()
    assert statistics(desk) == after
    assert {n: desk.tickets.history(n) for n in jana.ticket_numbers} == histories
    export = desk.privacy.export(jana.contact_id, actor=EVA)
    assert leaks([export.to_json()], jana) == []


def test_who_may_export_and_erase() -> None:
    staff = (Agent("sue", role=Role.SUPERVISOR), Agent("ada", role=Role.ADMIN),
             Agent("al", role=Role.AGENT))
    with bootstrap(Settings(storage="memory", autoload_plugins=False,
                            staff=HelpdeskStaff(agents=staff)),
                   clock=FakeClock(T0), environ={}) as desk:
        person = build_history(desk)
        sue, ada, al = (Actor.agent(a.id) for a in staff)
        customer = Actor.customer(person.contact_id)
        for actor in (al, customer):
            with pytest.raises(PermissionDenied):
                desk.privacy.export(person.contact_id, actor=actor)
        desk.privacy.export(person.contact_id, actor=sue)
        for actor in (sue, customer):
            with pytest.raises(PermissionDenied):
                desk.privacy.erase(person.contact_id, actor=actor, reason=REASON)
        desk.privacy.erase(person.contact_id, actor=ada, reason=REASON)


def test_unknown_contacts_and_empty_reasons_are_refused(desk: Helpdesk, jana: Person) -> None:
    with pytest.raises(ContactNotFound):
        desk.privacy.export("no-such-contact", actor=EVA)
    with pytest.raises(ContactNotFound):
        desk.privacy.erase("no-such-contact", actor=ADMIN, reason=REASON)
    with pytest.raises(ValidationError):
        desk.privacy.erase(jana.contact_id, actor=ADMIN, reason=" ")


def test_blobs_kept_outside_the_database_are_reported() -> None:
    with bootstrap(Settings(storage="memory", autoload_plugins=False), clock=FakeClock(T0),
                   environ={}) as desk:
        person = build_history(desk)
        report = desk.privacy.erase(person.contact_id, actor=ADMIN, reason=REASON)
        assert report.blobs_deleted == 0
        assert report.blobs_kept
        assert all(desk.blob_store.exists(key) for key in report.blobs_kept)
