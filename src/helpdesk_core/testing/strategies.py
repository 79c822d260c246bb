"""Hypothesis strategies for the domain, in one module (used by core and adapter tests)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from helpdesk_core.domain.access import TicketScope
from helpdesk_core.domain.queue import QueueSort, TicketQuery
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.values import Actor, ActorKind, Channel, EntityKind, EntityRef, Priority

__all__ = [
    "AGENTS",
    "CUSTOMERS",
    "HOSTILE_STRINGS",
    "INCIDENT_TYPES",
    "ORGANISATIONS",
    "TAGS",
    "TEAMS",
    "actors",
    "entity_refs",
    "hostile_instants",
    "hostile_strings",
    "hostile_text",
    "instants",
    "queries",
    "ticket_kwargs",
    "ticket_scopes",
    "wrong_values",
]

# Small pools make collisions (same team, same tag) likely, which is what filters need.
AGENTS = ["alice", "bob", "cyril"]
TEAMS = ["returns", "billing"]
CUSTOMERS = ["cust-1", "cust-2", "cust-3"]
TAGS = ["vip", "reklamace", "rückgabe", "b2b"]
INCIDENT_TYPES = ["complaint", "complaint/damaged", "complaint/missing", "question"]
ORGANISATIONS = ["org-1", "org-2"]

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def instants(days: int = 400) -> st.SearchStrategy[datetime]:
    """UTC instants with whole microseconds, within ``days`` of 2026-01-01."""
    return st.integers(0, days * 86_400_000_000).map(
        lambda us: _EPOCH + timedelta(microseconds=us)
    )


def hostile_text(min_size: int = 1, max_size: int = 60) -> st.SearchStrategy[str]:
    """Text with diacritics, emoji, RTL, quotes, SQL and template syntax — but not empty
    after cleaning (at least one letter)."""
    pieces = st.sampled_from(
        [*list("abcřžšéüßőĺ ЖЯ中文🙂'\"%_\\<>{}$;-\u202e"), "{{", "}}", "' OR 1=1 --"]
    )
    return st.lists(pieces, min_size=max(min_size - 1, 0), max_size=max_size // 3).map(
        lambda parts: "x" + "".join(parts)
    )


def entity_refs() -> st.SearchStrategy[EntityRef]:
    return st.builds(
        EntityRef,
        st.sampled_from(list(EntityKind)),
        st.sampled_from(["eshop", "erp", "pohoda"]),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,15}", fullmatch=True),
    )


def ticket_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for :func:`helpdesk_core.testing.builders.open_ticket`."""
    return st.fixed_dictionaries(
        {
            "subject": hostile_text(),
            "channel": st.sampled_from(list(Channel)),
            "priority": st.sampled_from(list(Priority)),
            "at": instants(),
            "customer_id": st.none() | st.sampled_from(CUSTOMERS),
            "incident_type": st.none() | st.sampled_from(INCIDENT_TYPES),
            "team": st.none() | st.sampled_from(TEAMS),
            "assignee": st.none() | st.sampled_from(AGENTS),
            "tags": st.frozensets(st.sampled_from(TAGS), max_size=3),
            "links": st.frozensets(entity_refs(), max_size=2),
            "custom_fields": st.dictionaries(
                st.sampled_from(["serial_no", "weight", "fragile", "note"]),
                st.none() | st.booleans() | st.integers(-(2**53), 2**53) | hostile_text(0, 20),
                max_size=2,
            ),
        }
    )


def queries() -> st.SearchStrategy[TicketQuery]:
    return st.builds(
        TicketQuery,
        status_categories=st.none() | st.frozensets(st.sampled_from(list(StatusCategory)),
                                                    min_size=1),
        team=st.none() | st.sampled_from(TEAMS),
        assignee=st.none() | st.sampled_from(AGENTS),
        incident_type=st.none() | st.sampled_from(["complaint", "question", "complaint/damaged"]),
        customer_id=st.none() | st.sampled_from(CUSTOMERS),
        priorities=st.none() | st.frozensets(st.sampled_from(list(Priority)), min_size=1),
        tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
        sort=st.sampled_from(list(QueueSort)),
        limit=st.integers(1, 7),
    )


def actors(kinds: Iterable[ActorKind] = tuple(ActorKind)) -> st.SearchStrategy[Actor]:
    """Actors of the given kinds: agents from :data:`AGENTS`, the system under a few names,
    customers from :data:`CUSTOMERS` or without an id (an unknown sender)."""
    makers = {
        ActorKind.AGENT: st.builds(Actor.agent, st.sampled_from(AGENTS),
                                   st.sampled_from(["", "Eva"])),
        ActorKind.SYSTEM: st.builds(Actor.system, st.sampled_from(["system", "mailer", "sla"])),
        ActorKind.CUSTOMER: st.builds(Actor.customer, st.none() | st.sampled_from(CUSTOMERS),
                                      st.sampled_from(["", "Jana"])),
    }
    return st.one_of(*(makers[kind] for kind in dict.fromkeys(kinds)))


def ticket_scopes() -> st.SearchStrategy[TicketScope]:
    """What the access policy sees of a ticket: customers and participants drawn from the same
    small pool as :func:`actors`, so an actor often is, and often is not, involved."""
    return st.builds(
        TicketScope,
        ticket_id=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
        number=st.integers(1, 99_999).map(lambda n: f"HD-2026-{n:05d}"),
        customer_id=st.none() | st.sampled_from(CUSTOMERS),
        organisation_id=st.none() | st.sampled_from(ORGANISATIONS),
        participant_ids=st.frozensets(st.sampled_from(CUSTOMERS), max_size=2),
    )


# Strings that are perfectly good Python text and still break things built carelessly: what
# a web form, a mail header, a gateway callback or a host's import may hand the library.
HOSTILE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\t\n",
    "\ud800",  # a lone surrogate: no encoder and no database takes it
    "x\udfffy",
    "\x00",
    "nul\x00inside",
    "\x1b[31mred\x1b[0m",
    "\u202eevil.exe\u202c",  # right-to-left override
    "\u2066isolate",
    "zero\u200bwidth\u200d\ufeff",
    "🙂👍🏽🇨🇿",
    "e\u0301\u0301\u0301",  # stacked combining marks
    "Subject: x\r\nBcc: victim@example.org",
    "line\nbreak",
    "cr\ronly",
    "\u2028\u2029",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/dev/null",
    "CON",
    "' OR 1=1 --",
    "'; DROP TABLE tickets; --",
    "%s%s%n%x",
    "{0}{1}",
    "{{ 7*7 }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "<script>alert(1)</script>",
    "jana@example.cz\r\nBcc: victim@example.org",
    "HD-9999-999999",
    "HD-2026-000001 ",
    "0" * 32,
    "ß" * 300,
    "x" * 100_000,
)


def hostile_strings(around: str | None = None) -> st.SearchStrategy[str]:
    """One of :data:`HOSTILE_STRINGS`, two of them joined, or — with ``around``, a good
    value — one put before or after the good value (``jana@example.cz\\r\\nBcc: …``)."""
    one = st.sampled_from(HOSTILE_STRINGS)
    joined = st.tuples(one, one).map("".join)
    if around is None:
        return st.one_of(one, joined)
    return st.one_of(one, joined, one.map(lambda h: around + h), one.map(lambda h: h + around))


def hostile_instants() -> st.SearchStrategy[datetime]:
    """Datetimes a careless caller passes: naive ones, the first and last instants Python
    has (which overflow when moved to another zone), odd offsets, and ordinary ones."""
    return st.one_of(
        st.sampled_from([
            datetime(2026, 3, 2, 9, 0),
            datetime.min,
            datetime.max,
            datetime.min.replace(tzinfo=UTC),
            datetime.max.replace(tzinfo=UTC),
            datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=23, minutes=59))),
            datetime(2026, 3, 2, 9, 0, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
            datetime(1, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
            datetime(9999, 12, 31, 12, 0, tzinfo=timezone(timedelta(hours=14))),
        ]),
        st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=45))])),
    )


def wrong_values() -> st.SearchStrategy[Any]:
    """Values of the types a caller gets wrong: none, numbers (NaN, huge, negative),
    bytes, containers, a bare object, text, naive and aware instants, a date, an actor, an
    enum member, a link. Filter out what the parameter under test legitimately takes."""
    return st.sampled_from(_wrong_pool())


def _wrong_pool() -> list[Any]:
    return [
        None, True, False, 0, -1, 2**63, 10**100, 1.5, float("nan"), float("inf"), -0.0,
        b"bytes", b"", bytearray(b"x"), [], ["x"], [None], (), ("x", 1), {}, {"x": 1},
        {1: "x"}, set(), frozenset({"x"}), object(), "text", "",
        datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 2, 9, 0, tzinfo=UTC), date(2026, 3, 2),
        timedelta(hours=1), Actor.agent("eva"), Actor.customer(None), Priority.HIGH,
        Channel.SMS, EntityRef(EntityKind.ORDER, "eshop", "2026-00042"), len, type,
    ]
