"""Hypothesis strategies for the domain, in one module (used by core and adapter tests)."""

from __future__ import annotations

import base64
import quopri
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from helpdesk_core.domain.access import TicketScope
from helpdesk_core.domain.queue import QueueSort, TicketQuery, Visibility
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
    "hostile_query_fields",
    "hostile_strings",
    "hostile_text",
    "instants",
    "queries",
    "raw_mails",
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
        visible_to=st.none() | visibilities(),
        sort=st.sampled_from(list(QueueSort)),
        limit=st.integers(1, 7),
    )


def visibilities() -> st.SearchStrategy[Visibility]:
    """What one agent may see: some of :data:`TEAMS` (none too), and their own tickets or
    not."""
    return st.builds(Visibility, teams=st.frozensets(st.sampled_from(TEAMS)),
                     assignee=st.none() | st.sampled_from(AGENTS))


def hostile_query_fields() -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for :class:`TicketQuery` in which any field may be hostile: text from
    :data:`HOSTILE_STRINGS` (NUL, control characters, lone surrogates, SQL, 100,000
    characters), a value of a wrong type, an unknown status, priority or sort (``"id; DROP
    TABLE tickets"``), a limit out of range, a forged cursor — or a good value. Building the
    query either raises ValidationError or gives a query every storage answers alike."""
    def field(good: st.SearchStrategy[Any], *odd: Any) -> st.SearchStrategy[Any]:
        return st.one_of(good, hostile_strings(), wrong_values(), st.sampled_from(odd or [None]))

    def members(kind: Any) -> st.SearchStrategy[Any]:
        return st.lists(st.one_of(st.sampled_from(list(kind)), st.sampled_from(
            [m.value for m in kind]), hostile_strings(), wrong_values()), max_size=3)

    cursor = st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode())
    forged = st.lists(st.one_of(hostile_strings(), st.integers(-5, 5), st.none()),
                      max_size=4).map(lambda v: base64.urlsafe_b64encode(
                          repr(["due", *v]).replace("'", '"').encode()).decode().rstrip("="))
    return st.fixed_dictionaries({}, optional={
        "status_categories": field(members(StatusCategory)),
        "team": field(st.sampled_from(TEAMS)),
        "assignee": field(st.sampled_from(AGENTS)),
        "unassigned": field(st.booleans()),
        "incident_type": field(st.sampled_from(INCIDENT_TYPES), "complaint%", "complaint_",
                               "complaint/", "", "complaint\\damaged"),
        "customer_id": field(st.sampled_from(CUSTOMERS)),
        "organisation_id": field(st.sampled_from(ORGANISATIONS)),
        "priorities": field(members(Priority)),
        "tags": field(st.lists(st.sampled_from(TAGS), max_size=2), ["x\x00"], "vip"),
        "visible_to": field(visibilities(), "returns", ["returns"]),
        "sort": field(st.sampled_from([*QueueSort, *(s.value for s in QueueSort)]),
                      "id; DROP TABLE tickets", "PRIORITY", "priority "),
        "limit": field(st.integers(1, 7), 0, -1, 501, 10**100, 2.0),
        "after": field(st.none(), *[]) | cursor | forged,
    })


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
        team=st.none() | st.sampled_from(TEAMS),
        assignee=st.none() | st.sampled_from(AGENTS),
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


# -- raw mails ---------------------------------------------------------------------------------

_CHARSETS = ["utf-8", "UTF8", "iso-8859-2", "windows-1250", "cp1252", "koi8-r", "utf-7",
             "utf-16", "utf-16-le", "iso-2022-jp", "gb2312", "x-unknown", "", "us-ascii",
             "latin1", '"utf-8"', "utf-8\x00", "=?utf-8?", "unicode-1-1-utf-7"]
_ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus",
              " Base64 ", "base-64", ""]
_WORDS = ["Dobrý den", "konvice", "Grüße", "😀", "字", "\u202e", "=?utf-8?q?=C5=BE?=", "=?",
          "?=", "\x00", "\r", "\n", "\t", " ", "<", ">", "@", ",", ";", '"', "'", "\\",
          "\ud800", "HD-2026-000001", "[HD-2026-000001]", "Re: ", "cid:", "--B", "begin 644 "]
_ADDRESSES = ["jana@example.cz", "Jana Nováková <jana@example.cz>", "support@shop.example",
              '"Schmidt, Eva" <eva@firma.de>', "<>", "undisclosed-recipients:;",
              "mailer-daemon@mx.example", "=?utf-8?b?SmFuYQ==?= <jana@example.cz>",
              "jana@", "@example.cz", "a@b", "x" * 300 + "@example.cz", "žluť@příklad.cz",
              "Hans Meier hans@example.de"]
_IMAGES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff\xe0",
           "image/gif": b"GIF89a", "image/svg+xml": b"<svg onload='alert(1)'>"}


def _sized(small: st.SearchStrategy[str], huge_every: int = 8) -> st.SearchStrategy[str]:
    """``small`` text, and now and then a huge one (a pasted log: up to a few million
    characters) or an empty one."""
    huge = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=40),
                     st.integers(1_000, 80_000))
    kinds = ["small"] * (huge_every - 1) + ["huge", "empty"]
    return st.sampled_from(kinds).flatmap(
        lambda kind: huge if kind == "huge" else st.just("") if kind == "empty" else small)


def _mail_text() -> st.SearchStrategy[str]:
    return _sized(st.one_of(st.text(max_size=200),
                            st.lists(st.sampled_from(_WORDS), max_size=40).map("".join)))


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset.strip('"').split("\x00")[0] or "ascii", "replace")
    except (LookupError, UnicodeError):
        return text.encode("utf-8", "surrogatepass")


def _transfer(data: bytes, encoding: str) -> bytes:
    kind = encoding.strip().lower()
    if kind in {"base64", "base-64"}:
        return base64.encodebytes(data)
    if kind == "quoted-printable":
        return quopri.encodestring(data)
    if kind == "x-uuencode":
        return b"begin 644 file.bin\n" + data + b"\nend\n"
    return data


def _header_value() -> st.SearchStrategy[bytes]:
    """A header value: text as UTF-8 or latin-1 bytes, encoded words, or binary junk."""
    text = _sized(st.lists(st.sampled_from(_WORDS), max_size=30).map("".join), 12)
    return st.one_of(
        text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        text.map(lambda t: t.encode("latin-1", "replace")),
        text.map(lambda t: b"=?utf-8?b?" + base64.b64encode(t.encode("utf-8", "replace"))
                 + b"?="),
        st.binary(max_size=60),
    )


def _headers(extra: list[tuple[str, bytes]]) -> st.SearchStrategy[list[tuple[str, bytes]]]:
    addresses = st.lists(st.sampled_from(_ADDRESSES), min_size=1, max_size=5).map(", ".join)
    many = st.integers(0, 400).map(lambda n: ", ".join(f"c{i}@example.org" for i in range(n)))
    long_ids = st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
                       min_size=300, max_size=1200).map(lambda t: f"<{t}@x.example>")
    ids = st.one_of(st.integers(0, 10**6).map(lambda n: f"<m{n}@mail.example>"),
                    st.text(max_size=60), st.just("<" + "\u5b57" * 1000 + "@x>"), long_ids,
                    st.just(""), st.just("<HD-2026-000001.1@helpdesk.shop.example>"))
    optional = {
        "To": addresses,
        "Cc": st.one_of(addresses, many),
        "Reply-To": addresses,
        "Message-ID": ids,
        "In-Reply-To": ids,
        "References": st.lists(ids, max_size=30).map(" ".join),
        "Date": st.sampled_from(["Mon, 2 Mar 2026 08:30:00 +0100", "gestern", "",
                                 "Mon, 2 Mar 99999 08:30:00 +0100", "2026-03-02T08:30:00"]),
        "Auto-Submitted": st.sampled_from(["auto-replied", "no", "auto-generated"]),
        "Return-Path": st.sampled_from(["<>", "<jana@example.cz>"]),
    }
    pairs = [st.tuples(st.just(name), value.map(lambda v: v.encode("utf-8", "surrogatepass")))
             for name, value in optional.items()]
    chosen = st.lists(st.one_of(*pairs), max_size=len(optional))
    senders = st.sampled_from(["jana@example.cz", "Jana Nováková <jana@example.cz>",
                               "petr@example.cz", "mailer-daemon@mx.example", "eve@evil.example",
                               "support@shop.example", "=?utf-8?q?Jana_N=C3=B3v=C3=A1?= <j@x.cz>",
                               '"' + "Jana " * 80 + '" <jana@example.cz>'])
    sender = st.sampled_from(["valid"] * 8 + ["junk", "none"]).flatmap(
        lambda kind: st.just([]) if kind == "none" else st.lists(
            st.tuples(st.just("From"), (_header_value() if kind == "junk" else senders.map(
                lambda v: v.encode()))), min_size=1, max_size=1))
    subject = st.tuples(st.just("Subject"), _header_value())
    junk = st.tuples(st.sampled_from(["X-Junk", "Received", "DKIM-Signature", "Subject",
                                      "Content-Type", "From"]), _header_value())
    return st.tuples(sender, chosen, st.lists(subject, max_size=1),
                     st.lists(junk, max_size=3)).map(
        lambda t: [*t[0], *t[1], *t[2], *t[3], *extra])


@st.composite
def _leaf(draw: st.DrawFn) -> tuple[list[tuple[str, bytes]], bytes]:
    kind = draw(st.sampled_from(["text/plain", "text/html", "image", "application/pdf",
                                 "application/octet-stream", "text/calendar", "none"]))
    charset = draw(st.sampled_from(_CHARSETS))
    encoding = draw(st.sampled_from(_ENCODINGS))
    headers: list[tuple[str, bytes]] = []
    if kind in {"text/plain", "text/html"}:
        text = draw(_mail_text())
        if kind == "text/html":
            text = f"<html><body><p>{text}</p><img src='cid:i1'><script>x()</script></body>"
        data = _encode(text, charset)
        ctype = f"{kind}; charset={charset}".encode("utf-8", "replace")
    elif kind == "image":
        image = draw(st.sampled_from(sorted(_IMAGES)))
        data = _IMAGES[image] + draw(st.binary(max_size=200))
        ctype = draw(st.sampled_from([image, image.upper(), "application/octet-stream"])
                     ).encode()
        headers.append(("Content-ID", b"<i1>"))
    elif kind == "none":
        data, ctype = draw(st.binary(max_size=300)), b""
    else:
        data = draw(st.one_of(st.binary(max_size=300), st.just(b""), st.integers(
            10_000, 300_000).map(lambda n: b"\x00\xff" * n)))
        ctype = kind.encode()
    if ctype:
        headers.append(("Content-Type", ctype))
    disposition = draw(st.sampled_from(["", "inline", "attachment", "Inline", "garbage"]))
    name = draw(st.one_of(st.just(""), st.text(max_size=30), st.just("x" * 500 + ".pdf"),
                          st.just("../../etc/passwd"), st.just("photo.png")))
    if disposition or name:
        value = disposition + (f'; filename="{name}"' if name else "")
        headers.append(("Content-Disposition", value.encode("utf-8", "surrogatepass")))
    if encoding:
        headers.append(("Content-Transfer-Encoding", encoding.encode()))
    return headers, _transfer(data, encoding)


def _part_bytes(headers: list[tuple[str, bytes]], body: bytes, newline: bytes) -> bytes:
    head = b"".join(name.encode() + b": " + value + newline for name, value in headers)
    return head + newline + body


def _multipart(children: list[tuple[list[tuple[str, bytes]], bytes]], subtype: str,
               boundary: str) -> tuple[list[tuple[str, bytes]], bytes]:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + _part_bytes(h, b, b"\r\n") + b"\r\n"
                    for h, b in children)
    closing = b"--" + boundary.encode() + b"--\r\n" if boundary else b""
    return ([("Content-Type", f'multipart/{subtype}; boundary="{boundary}"'.encode())],
            b"preamble\r\n" + body + closing)


def _parts() -> st.SearchStrategy[tuple[list[tuple[str, bytes]], bytes]]:
    return st.recursive(
        _leaf(),
        lambda children: st.builds(
            _multipart, st.lists(children, max_size=5),
            st.sampled_from(["mixed", "alternative", "related", "signed", "report", "bogus"]),
            st.sampled_from(["B", "b1", "=_x", "", "a" * 80])),
        max_leaves=10,
    )


@st.composite
def raw_mails(draw: st.DrawFn) -> bytes:
    """Raw inbound mails a helpdesk must survive: valid and broken MIME, empty and huge parts,
    odd charsets and transfer encodings, missing, repeated and oversized headers, hostile file
    names, active content, binary junk, mail cut off in the middle."""
    part_headers, body = draw(_parts())
    headers = draw(_headers(part_headers))
    newline = draw(st.sampled_from([b"\r\n", b"\n"]))
    data = _part_bytes(headers, body, newline)
    if newline == b"\n":
        data = data.replace(b"\r\n", b"\n")
    prefix = draw(st.sampled_from([b""] * 5 + [b"From jana@example.cz Mon Mar  2 08:30:00 2026\n",
                                               b"\xef\xbb\xbf", b"\x00\x01garbage\n"]))
    data = prefix + data
    ending = draw(st.sampled_from(["whole"] * 8 + ["cut", "junk", "binary"]))
    if ending == "cut":  # cut off in the middle
        data = data[:draw(st.integers(0, len(data)))]
    elif ending == "junk":
        data += draw(st.binary(max_size=200))
    elif ending == "binary":
        data = draw(st.binary(max_size=400))
    return data
