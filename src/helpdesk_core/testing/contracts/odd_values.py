"""Odd keys and odd filters: the same answer on every backend, and never a storage error.

Not a protocol of its own: these tests go through the storage the way the services do, and
check two rules of :mod:`helpdesk_core.domain.keys` on the backend under test.

- A lookup by a key that cannot exist (a NUL byte, another control character, a lone
  surrogate, more than ``MAX_KEY_LENGTH`` characters) made through the core's unit of work
  finds nothing — as a missing key does — and the adapter is not asked at all. A key that
  could exist, however odd (quotes, ``%`` and ``_``, backslashes, emoji, the longest key
  allowed), reaches the adapter and finds nothing there either, without an error.
- A :class:`~helpdesk_core.domain.queue.TicketQuery` built from hostile values is either
  refused with a ValidationError when it is built, or answers on the backend exactly as the
  reference rules (``TicketQuery.apply``) answer on the same tickets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from helpdesk_core.domain.keys import MAX_KEY_LENGTH, could_exist
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.errors import (
    ContactNotFound,
    HelpdeskError,
    NotFound,
    TicketNotFound,
    ValidationError,
)
from helpdesk_core.ports.storage import Storage, UnitOfWork
from helpdesk_core.services.messagebus import MessageBus
from helpdesk_core.services.unit_of_work import Unit
from helpdesk_core.testing import strategies
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets
from helpdesk_core.testing.contracts.support import all_pages, query_fields

__all__ = ["TestOddFilters", "TestOddKeys"]

COVERS = ()

#: Keys no stored record can have: the core answers for them without asking the adapter.
IMPOSSIBLE_KEYS = ("\x00", "HD-\x00", "HD-2026-000001\x00", "a\x00b", "\x01", "\t",
                   "line\nbreak", "\x1b[31m", "\x7f", "\x85", "\ud800", "x\udfffy",
                   "x" * (MAX_KEY_LENGTH + 1), "ß" * 100_000)
#: Keys a record could have, that no record here has: the adapter is asked, finds nothing.
ODD_KEYS = ("", " ", "'; DROP TABLE tickets; --", "' OR 1=1 --", "%", "_", "%%_\\",
            "\\x00", "{{ 7*7 }}", "🙂👍🏽🇨🇿", "\u202eevil", "ß" * 300, "x" * MAX_KEY_LENGTH)

#: Each lookup the services make by key, and what it answers for a key that names nothing:
#: an exception class, or the value it returns.
LOOKUPS: dict[str, tuple[Callable[[Unit, str], Any], Any]] = {
    "tickets.get": (lambda u, k: u.tickets.get(k), TicketNotFound),
    "tickets.get_by_number": (lambda u, k: u.tickets.get_by_number(k), TicketNotFound),
    "tickets.load": (lambda u, k: u.tickets.load(k), TicketNotFound),
    "tickets.history": (lambda u, k: u.tickets.history(k), []),
    "tickets.articles": (lambda u, k: u.tickets.articles(k), []),
    "outbox.get": (lambda u, k: u.outbox.get(k), NotFound),
    "outbox.for_ticket": (lambda u, k: u.outbox.for_ticket(k), []),
    "outbox.find": (lambda u, k: u.outbox.find(provider_id=k), []),
    "outbox.count_since": (lambda u, k: u.outbox.count_since(recipient=k, kind=k, since=T0),
                           0),
    "messages.find": (lambda u, k: u.messages.find([k]), []),
    "sla.get": (lambda u, k: u.sla.get(k), None),
    "sla.fired": (lambda u, k: u.sla.fired(k), []),
    "contacts.get": (lambda u, k: u.contacts.get(k), ContactNotFound),
    "contacts.find_by_email": (lambda u, k: u.contacts.find_by_email(k), None),
    "contacts.id_by_email": (lambda u, k: u.contacts.id_by_email(k), None),
    "contacts.find_by_phone": (lambda u, k: u.contacts.find_by_phone(k), None),
    "organisations.get": (lambda u, k: u.organisations.get(k), None),
    "staged_mail.get": (lambda u, k: u.staged_mail.get(k, k), None),
    "staged_mail.get_many": (lambda u, k: u.staged_mail.get_many(k, [k]), {}),
    "staged_mail.list": (lambda u, k: u.staged_mail.list(account=k), []),
    "knowledge.get": (lambda u, k: u.knowledge.get(k), NotFound),
    "knowledge.get_by_key": (lambda u, k: u.knowledge.get_by_key(k), NotFound),
    "knowledge.load": (lambda u, k: u.knowledge.load(k), NotFound),
    "knowledge.revisions": (lambda u, k: u.knowledge.revisions(k), []),
    "knowledge.list": (lambda u, k: u.knowledge.list(category=k, languages=[k]), []),
}


def _answer(lookup: Callable[[Unit, str], Any], unit: Unit, key: str) -> Any:
    try:
        return lookup(unit, key)
    except HelpdeskError as error:
        return type(error)


class _Watched:
    """A repository that records every call whose arguments hold a key that cannot exist."""

    def __init__(self, inner: Any, asked: list[str]) -> None:
        self._inner = inner
        self._asked = asked

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            values = [*args, *kwargs.values()]
            values += [v for value in values if isinstance(value, list | tuple) for v in value]
            if any(isinstance(v, str) and not could_exist(v) for v in values):
                self._asked.append(name)
            return attribute(*args, **kwargs)

        return call


class _WatchedUnit:
    """The adapter's unit of work with every repository watched."""

    def __init__(self, inner: UnitOfWork, asked: list[str]) -> None:
        self._inner = inner
        self._asked = asked

    def __getattr__(self, name: str) -> Any:
        return _Watched(getattr(self._inner, name), self._asked)

    def __enter__(self) -> _WatchedUnit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)  # type: ignore[arg-type]


class TestOddKeys:
    @pytest.mark.parametrize("name", sorted(LOOKUPS))
    def test_a_key_that_cannot_exist_finds_nothing_without_asking_the_adapter(
            self, storage: Storage, name: str) -> None:
        lookup, missing = LOOKUPS[name]
        store_tickets(storage, [open_ticket()])
        asked: list[str] = []
        watched = _WatchedUnit(storage.unit_of_work(read_only=True), asked)
        with Unit(watched, MessageBus()) as unit:
            assert _answer(lookup, unit, "no-such-key") == missing
            for key in IMPOSSIBLE_KEYS:
                assert _answer(lookup, unit, key) == missing, repr(key[:20])
        assert asked == []

    @pytest.mark.parametrize("name", sorted(LOOKUPS))
    def test_an_odd_key_that_could_exist_finds_nothing_and_raises_no_storage_error(
            self, storage: Storage, name: str) -> None:
        lookup, missing = LOOKUPS[name]
        store_tickets(storage, [open_ticket()])
        with Unit(storage.unit_of_work(read_only=True), MessageBus()) as unit:
            for key in ODD_KEYS:
                assert _answer(lookup, unit, key) == missing, repr(key[:20])

    def test_the_stored_ticket_is_still_found_after_odd_lookups(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        with Unit(storage.unit_of_work(read_only=True), MessageBus()) as unit:
            for key in (*IMPOSSIBLE_KEYS, *ODD_KEYS):
                with pytest.raises(TicketNotFound):
                    unit.tickets.load(key)
            assert unit.tickets.load(ticket.number).id == ticket.id
            assert unit.tickets.load(ticket.id).number == ticket.number


# Filter values a query may hold, however odd, and those it refuses when it is built.
ODD_FILTERS = ("", " ", "'; DROP TABLE tickets; --", "%", "_", "complaint%", "complaint_",
               "complaint\\damaged", "complaint/", "🙂", "ß" * 300, "x" * MAX_KEY_LENGTH)
REFUSED_FILTERS = ("\x00", "returns\x00", "\x1b[31m", "a\tb", "\x7f", "\ud800",
                   "x" * (MAX_KEY_LENGTH + 1))
TEXT_FILTERS = ("team", "assignee", "incident_type", "customer_id", "organisation_id")


def _tickets() -> list[Any]:
    return [open_ticket(team="returns", assignee="alice", incident_type="complaint/damaged",
                        customer_id="cust-1", organisation_id="org-1", tags=["vip"]),
            open_ticket(team="billing", incident_type="complaint", customer_id="cust-2"),
            open_ticket(team="%", incident_type="complaint_x", customer_id="_"),
            open_ticket(incident_type="question")]


class TestOddFilters:
    @pytest.mark.parametrize("field", TEXT_FILTERS)
    def test_a_control_character_in_a_text_filter_is_refused_naming_the_field(
            self, field: str) -> None:
        for value in REFUSED_FILTERS:
            fields: dict[str, Any] = {field: value}
            with pytest.raises(ValidationError) as refused:
                TicketQuery(**fields)
            assert refused.value.field == field

    def test_an_unknown_sort_or_status_is_refused_when_the_query_is_built(self) -> None:
        cases: list[tuple[dict[str, Any], str]] = [
                             ({"sort": "id; DROP TABLE tickets"}, "sort"),
                             ({"status_categories": ["open; --"]}, "status_categories"),
                             ({"priorities": ["highest"]}, "priorities"),
                             ({"tags": ["vip\x00"]}, "tags"),
                             ({"unassigned": "yes"}, "unassigned"),
                             ({"limit": 10**100}, "limit")]
        for fields, name in cases:
            with pytest.raises(ValidationError) as refused:
                TicketQuery(**fields)
            assert refused.value.field == name

    @pytest.mark.parametrize("field", TEXT_FILTERS)
    def test_odd_text_filters_answer_as_the_reference_rules(self, storage: Storage,
                                                            field: str) -> None:
        tickets = store_tickets(storage, _tickets())
        for value in ODD_FILTERS:
            fields: dict[str, Any] = {field: value}
            query = TicketQuery(**fields)
            expected = [t.id for t in query.apply(tickets).items]
            assert [t.id for t in all_pages(storage, query)] == expected, repr(value[:20])

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors,
                                     HealthCheck.function_scoped_fixture])
    @given(fields=strategies.hostile_query_fields())
    def test_a_query_from_hostile_values_is_refused_or_answers_as_the_reference(
            self, storage: Storage, fields: dict[str, Any]) -> None:
        # One store for every example: queries only read, and these tickets never change.
        tickets = _stored(storage)
        try:
            query = TicketQuery(**fields)
        except ValidationError:
            return
        with storage.unit_of_work(read_only=True) as uow:
            page = uow.tickets.query(query)
        reference = query.apply(tickets)
        assert [t.id for t in page.items] == [t.id for t in reference.items]
        assert (page.next_cursor is None) == (reference.next_cursor is None)
        everything = TicketQuery(**{**query_fields(query), "limit": 500})
        assert [t.id for t in all_pages(storage, everything)] == \
            [t.id for t in everything.apply(tickets).items]


def _stored(storage: Storage) -> list[Any]:
    """The tickets of :func:`_tickets`, stored in ``storage`` once and read back."""
    with storage.unit_of_work(read_only=True) as uow:
        found = uow.tickets.query(TicketQuery(limit=500)).items
    if found:
        return list(found)
    store_tickets(storage, _tickets())
    with storage.unit_of_work(read_only=True) as uow:
        return list(uow.tickets.query(TicketQuery(limit=500)).items)
