"""Merging, undoing, splitting and linking tickets while messages keep arriving: a hypothesis
state machine on the facade of a Helpdesk.

``merge_state_machine(make)`` builds a machine that opens, at the start of every example, a
helpdesk on the in-memory model and one with ``make`` (the storage under test; ``None``: the
model alone), both on one fake clock that moves on at every step. Each rule does the same on
both: open a ticket by web form or by mail, a customer's mail reply (by ticket number in the
subject, by In-Reply-To a Message-ID the helpdesk sent or received, or both; sometimes
delivered twice), an SMS, a portal reply, an agent's note or reply, merge (a random target,
one or two sources, sometimes undone at once), unmerge, split, link and unlink. Refusals
(MergeConflict, PermissionDenied) are fine when both agree, and a refused command changes
nothing.

After every step, on each helpdesk:

* every stored article belongs to exactly one ticket, that ticket is live, and a merged
  ticket has none; no article ever disappears, and merging, unmerging, splitting and linking
  add none;
* every mail delivered is stored exactly once (a repeat adds nothing), every SMS once;
* every ticket number issued resolves (by number, then ``merged_into``) to a live
  ticket, and every Message-ID sent or received threads to the live ticket that holds its
  article;
* a message addressed to a merged ticket landed on the live end of its merge chain;
* the model and the storage agree: the same numbers in the same states, the same article
  texts per number, the same links per number.

Articles and contacts get random ids, so the two helpdesks are compared by ticket number and
text; every text a rule writes is unique.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from helpdesk_core.app import Helpdesk
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain.article import Article, Direction
from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.relations import Relation, ticket_links
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import MergeConflict, PermissionDenied
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.settings import Settings

__all__ = ["CUSTOMERS", "SETTINGS", "MakeHelpdesk", "in_memory", "merge_state_machine"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor.agent("eva", "Eva")
# name, e-mail, phone (Karel has none: he writes no SMS)
CUSTOMERS = (("Jana Nováková", "jana@example.cz", "+420601234567"),
             ("Petr Svoboda", "petr@example.cz", "+420602345678"),
             ("Karel Malý", "karel@example.cz", None))
SMS_TO = "+420700000000"
# Every mail opens or joins a ticket: no new-ticket limit, an acknowledgement for each.
SETTINGS: dict[str, Any] = {
    "mail_policy": MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                              message_id_domain="helpdesk.shop.example",
                              new_ticket_limit=None, ack_limit=1000),
    "autoload_plugins": False,
}
LINKED = (Relation.PARENT, Relation.CHILD, Relation.RELATED, Relation.DUPLICATE_OF,
          Relation.DUPLICATED_BY)
REFUSED = (MergeConflict, PermissionDenied)

# (settings, directory, clock) → a helpdesk open for the example, closed on exit
MakeHelpdesk = Callable[[dict[str, Any], InMemoryDirectory, FakeClock],
                       AbstractContextManager[Helpdesk]]


@contextlib.contextmanager
def in_memory(settings: dict[str, Any], directory: InMemoryDirectory,
              clock: FakeClock) -> Iterator[Helpdesk]:
    desk = bootstrap(Settings(storage="memory", **settings), directory=directory, clock=clock,
                     environ={})
    try:
        yield desk
    finally:
        desk.close()


def _shop() -> InMemoryDirectory:
    shop = InMemoryDirectory()
    for name, email, phone in CUSTOMERS:
        shop.add_customer(Contact.create(name=name, email=email, phone=phone, language="cs"))
    return shop


def _raw_mail(*, sender: int, subject: str, body: str, message_id: str,
              in_reply_to: str | None) -> bytes:
    name, email, _phone = CUSTOMERS[sender]
    msg = EmailMessage()
    msg["From"] = f"{name} <{email}>"
    msg["To"] = "support@shop.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(T0)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return bytes(msg)


@attrs.define
class Known:
    """A message the helpdesks sent or received, as each side knows it: Message-ID and the
    id of its article; ``customer``: who answers it."""

    customer: int
    ids: dict[str, tuple[str, str]]  # side → (Message-ID, article id)


@attrs.define
class Side:
    """One helpdesk and what the machine knows of it."""

    name: str
    desk: Helpdesk
    customers: list[str]  # contact ids, in the order of CUSTOMERS
    articles: set[str] = attrs.Factory(set)  # every article id seen so far
    raw: dict[int, bytes] = attrs.Factory(dict)  # delivered mails' bytes by mail index


@attrs.frozen
class View:
    """A side's tickets by number: the ticket, its articles, its links."""

    tickets: dict[str, Ticket]
    articles: dict[str, list[Article]]
    links: dict[str, list[tuple[str, str]]]

    def article_ids(self) -> list[str]:
        return [a.id for arts in self.articles.values() for a in arts]

    def number_of(self, ticket_id: str | None) -> str | None:
        return next((t.number for t in self.tickets.values() if t.id == ticket_id), None)

    def live(self, ticket_id: str) -> Ticket:
        """The ticket ``ticket_id`` following ``merged_into``: never merged itself."""
        by_id = {t.id: t for t in self.tickets.values()}
        ticket, seen = by_id[ticket_id], {ticket_id}
        while ticket.merged_into is not None:
            ticket = by_id[ticket.merged_into]
            assert ticket.id not in seen, f"merge cycle at {ticket.number}"
            seen.add(ticket.id)
        assert ticket.status_category is not StatusCategory.MERGED, ticket.number
        return ticket

    def holder(self, article_id: str) -> Ticket:
        [number] = [n for n, arts in self.articles.items() if any(a.id == article_id
                                                                   for a in arts)]
        return self.tickets[number]

    def comparable(self) -> dict[str, object]:
        """What the model and the storage must agree on, without ids."""
        return {number: (t.status, t.status_category.value, self.number_of(t.merged_into),
                         sorted(t.tags), [a.body_text for a in self.articles[number]],
                         self.links[number])
                for number, t in self.tickets.items()}

    def exact(self) -> dict[str, object]:
        """Everything, ids and versions included (a refused command changes none of it)."""
        return {number: (t.snapshot(), [attrs.asdict(a) for a in self.articles[number]],
                         self.links[number]) for number, t in self.tickets.items()}


def _comparable(desk: Helpdesk, number: str) -> dict[str, object]:
    snap = desk.tickets.get(number).snapshot()
    for moving in ("version", "event_seq", "updated_at"):
        snap.pop(moving)
    return snap


def merge_state_machine(make: MakeHelpdesk | None) -> type[RuleBasedStateMachine]:
    """The machine on the in-memory model and, unless ``make`` is None, beside it the
    helpdesk ``make`` opens (a fresh store per example)."""

    class MergeMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.stack = contextlib.ExitStack()
            self.clock = FakeClock(T0)
            self.sides: list[Side] = []
            makers: list[MakeHelpdesk] = [in_memory] + ([make] if make is not None else [])
            for name, maker in zip(("model", "storage"), makers, strict=False):
                directory = _shop()
                desk = self.stack.enter_context(maker(dict(SETTINGS), directory, self.clock))
                ids = [directory.customer_by_email(email).id  # type: ignore[union-attr]
                       for _name, email, _phone in CUSTOMERS]
                self.sides.append(Side(name, desk, ids))
            self.numbers: list[str] = []
            self.owner: dict[str, int] = {}  # number → customer who opened it
            self.known: list[Known] = []  # Message-IDs sent and received
            self.mails: list[str] = []  # delivered mails' Message-IDs (distinct)
            self.sms_sent: list[tuple[int, str]] = []  # (customer, provider id)
            self.count = 0

        def teardown(self) -> None:
            if hasattr(self, "stack"):
                self.stack.close()

        # -- helpers ---------------------------------------------------------------------

        def _next(self) -> int:
            """A new number for unique texts and Message-IDs; the clock moves on."""
            self.count += 1
            self.clock.advance(timedelta(seconds=37))
            return self.count

        def _pick(self, index: int) -> str:
            return self.numbers[index % len(self.numbers)]

        def _view(self, side: Side) -> View:
            tickets, articles, links = {}, {}, {}
            with side.desk.storage.unit_of_work(read_only=True) as uow:
                for number in self.numbers:
                    ticket = uow.tickets.get_by_number(number)
                    tickets[number] = ticket
                    articles[number] = uow.tickets.articles(ticket.id)
                    links[number] = [(x.relation.value, x.number)
                                     for x in ticket_links(uow.tickets.history(ticket.id))]
            return View(tickets, articles, links)

        def _live(self, side: Side, key: str) -> Ticket:
            """``key``'s ticket through the facade, following ``merged_into``."""
            ticket = side.desk.tickets.get(key)
            seen = {ticket.id}
            while ticket.merged_into is not None:
                ticket = side.desk.tickets.get(ticket.merged_into)
                assert ticket.id not in seen, f"{side.name}: merge cycle at {ticket.number}"
                seen.add(ticket.id)
            assert ticket.status_category is not StatusCategory.MERGED, ticket.number
            return ticket

        def _issued(self, numbers: Sequence[str | None], owner: int) -> None:
            """A ticket opened on every side: the same number everywhere."""
            assert len(set(numbers)) == 1, numbers
            number = numbers[0]
            assert number is not None
            assert number not in self.owner
            self.numbers.append(number)
            self.owner[number] = owner

        def _acknowledged(self, number: str, owner: int) -> None:
            """Remember the acknowledgement's Message-ID of a new ticket (if one was sent)."""
            found = []
            for side in self.sides:
                acks = [m for m in side.desk.outbox.for_ticket(number)
                        if m.kind == "acknowledgement" and m.message_id]
                found.append([(m.message_id or "", m.article_id or "") for m in acks])
            assert len({len(f) for f in found}) == 1, found
            for i in range(len(found[0])):
                self.known.append(Known(owner, {s.name: f[i]
                                                for s, f in zip(self.sides, found, strict=True)}))

        def _refusable(self, work: Callable[[Side], Any]) -> list[Any]:
            """``work`` on every side; a refusal comes back as the exception. Both sides
            refuse or neither does, and a refusal changes nothing."""
            results: list[Any] = []
            for side in self.sides:
                before = self._view(side).exact()
                try:
                    results.append(work(side))
                except REFUSED as error:
                    results.append(error)
                if isinstance(results[-1], Exception):
                    assert self._view(side).exact() == before, f"{side.name}: {results[-1]!r}"
            kinds = {type(r) if isinstance(r, Exception) else None for r in results}
            assert len(kinds) == 1, results
            return results

        # -- opening ---------------------------------------------------------------------

        @rule(customer=st.integers(0, len(CUSTOMERS) - 1))
        def open_by_form(self, customer: int) -> None:
            n = self._next()
            name, email, _phone = CUSTOMERS[customer]
            numbers = [side.desk.tickets.open_from_web_form(
                {"email": email, "name": name, "subject": f"Request {n}",
                 "message": f"form {n}"}).number for side in self.sides]
            self._issued(numbers, customer)
            self._acknowledged(numbers[0], customer)

        @rule(customer=st.integers(0, len(CUSTOMERS) - 1))
        def open_by_mail(self, customer: int) -> None:
            n = self._next()
            mid = f"<new{n}@mail.example.cz>"
            raw = _raw_mail(sender=customer, subject=f"Question {n}", body=f"mail {n}",
                            message_id=mid, in_reply_to=None)
            outcomes = []
            for side in self.sides:
                outcome = side.desk.mail.receive(raw)
                assert outcome.outcome == "new_ticket", outcome
                side.raw[len(self.mails)] = raw
                outcomes.append(outcome)
            self._issued([o.ticket_number for o in outcomes], customer)
            self.mails.append(mid)
            self.known.append(Known(customer, {s.name: (mid, o.article_id or "")
                                               for s, o in zip(self.sides, outcomes,
                                                               strict=True)}))
            self._acknowledged(outcomes[0].ticket_number or "", customer)

        # -- messages from customers ---------------------------------------------------------

        @precondition(lambda self: self.numbers)
        @rule(data=st.data(), how=st.sampled_from(["subject", "in_reply_to", "both"]),
              repeat=st.sampled_from([None, "same", "trace"]),
              stranger=st.sampled_from([False, False, False, True]))
        def mail_reply(self, data: st.DataObject, how: str, repeat: str | None,
                       stranger: bool) -> None:
            if how != "subject" and not self.known:
                how = "subject"
            number = self._pick(data.draw(st.integers(0, 99), label="ticket"))
            message = (self.known[data.draw(st.integers(0, len(self.known) - 1),
                                            label="message")] if how != "subject" else None)
            sender = message.customer if message is not None else self.owner[number]
            if stranger:  # someone else names the ticket: held there unless they take part
                sender = (sender + 1) % len(CUSTOMERS)
            n = self._next()
            mid = f"<r{n}@mail.example.cz>"
            subject = f"Re: [{number}] Request" if how != "in_reply_to" else f"Re: answer {n}"
            results = []
            for side in self.sides:
                if message is not None:
                    reference, article_id = message.ids[side.name]
                    expected = self._view(side).holder(article_id)
                else:
                    reference, expected = None, self._live(side, number)
                raw = _raw_mail(sender=sender, subject=subject, body=f"mail {n}",
                                message_id=mid, in_reply_to=reference)
                outcome = side.desk.mail.receive(raw)
                side.raw[len(self.mails)] = raw
                if outcome.outcome == "reply":
                    # a message to a merged ticket lands on the live end of its chain
                    assert outcome.ticket_id == expected.id, (side.name, outcome, expected)
                else:
                    # the sender takes no part in that ticket (a stranger's mail, or one
                    # merged into another customer's): a ticket of its own, and a copy held
                    # on the one it named
                    assert outcome.outcome == "new_ticket", (side.name, outcome)
                    assert outcome.held_on == expected.number, (side.name, outcome)
                    assert expected.customer_id != side.customers[sender]
                if repeat is not None:
                    again = raw if repeat == "same" else (
                        b"Delivered-To: support@shop.example\r\nReceived: from mx2 by imap; "
                        b"Mon, 2 Mar 2026 09:31:00 +0000\r\n" + raw)
                    twice = side.desk.mail.receive(again)
                    assert twice.outcome == "duplicate", (side.name, twice)
                    assert twice.article_id == outcome.article_id
                results.append(outcome)
            assert len({r.outcome for r in results}) == 1, results
            self.mails.append(mid)
            self.known.append(Known(sender, {s.name: (mid, r.article_id or "")
                                             for s, r in zip(self.sides, results,
                                                             strict=True)}))
            if results[0].outcome == "new_ticket":
                self._issued([r.ticket_number for r in results], sender)
                self._acknowledged(results[0].ticket_number or "", sender)

        @precondition(lambda self: self.mails)
        @rule(pick=st.integers(0, 99))
        def mail_delivered_again(self, pick: int) -> None:
            index = pick % len(self.mails)
            self._next()
            for side in self.sides:
                outcome = side.desk.mail.receive(side.raw[index])
                assert outcome.outcome == "duplicate", (side.name, outcome)

        @rule(customer=st.integers(0, 1), repeat=st.booleans())
        def sms(self, customer: int, repeat: bool) -> None:
            n = self._next()
            phone = CUSTOMERS[customer][2]
            assert phone is not None
            provider = f"sms-{n}"
            results = []
            for side in self.sides:
                outcome = side.desk.sms.receive(from_number=phone, to_number=SMS_TO,
                                                text=f"sms {n}", at=self.clock.now(),
                                                provider_id=provider)
                assert outcome.outcome in ("reply", "new_ticket"), outcome
                landed = side.desk.tickets.get(outcome.ticket_id)
                assert landed.merged_into is None, (side.name, outcome)
                if repeat:
                    twice = side.desk.sms.receive(from_number=phone, to_number=SMS_TO,
                                                  text=f"sms {n}", at=self.clock.now(),
                                                  provider_id=provider)
                    assert twice.outcome == "duplicate", twice
                    assert twice.article_id == outcome.article_id
                results.append(outcome)
            assert len({r.outcome for r in results}) == 1, results
            self.sms_sent.append((customer, provider))
            if results[0].outcome == "new_ticket":
                self._issued([r.ticket_number for r in results], customer)
            else:
                assert len({r.ticket_number for r in results}) == 1, results

        @precondition(lambda self: self.numbers)
        @rule(pick=st.integers(0, 99))
        def portal_reply(self, pick: int) -> None:
            number = self._pick(pick)
            n = self._next()

            def work(side: Side) -> Article:
                customer = Actor.customer(side.customers[self.owner[number]],
                                          CUSTOMERS[self.owner[number]][0])
                live = self._live(side, number)
                added = side.desk.tickets.add_article(
                    number, direction=Direction.INBOUND, channel=Channel.WEB_FORM,
                    author=customer, body_text=f"portal {n}", public=True)
                assert added.ticket_id == live.id, (side.name, number)
                return added

            self._refusable(work)

        # -- agents ----------------------------------------------------------------------------

        @precondition(lambda self: self.numbers)
        @rule(pick=st.integers(0, 99))
        def agent_note(self, pick: int) -> None:
            number = self._pick(pick)
            n = self._next()
            for side in self.sides:
                live = self._live(side, number)
                note = side.desk.tickets.add_note(number, f"note {n}", agent=AGENT)
                assert note.ticket_id == live.id, (side.name, number)

        @precondition(lambda self: self.numbers)
        @rule(pick=st.integers(0, 99))
        def agent_reply(self, pick: int) -> None:
            number = self._pick(pick)
            n = self._next()
            sent: dict[str, tuple[str, str]] = {}
            owners = set()
            for side in self.sides:
                live = self._live(side, number)
                article, message = side.desk.tickets.reply(number, f"answer {n}", agent=AGENT)
                assert article.ticket_id == live.id == message.ticket_id, (side.name, number)
                assert message.message_id is not None
                sent[side.name] = (message.message_id, article.id)
                owners.add(self.owner[live.number])
            [owner] = owners
            self.known.append(Known(owner, sent))

        @precondition(lambda self: len(self.numbers) >= 2)
        @rule(into_=st.integers(0, 99), sources=st.lists(st.integers(0, 99), min_size=1,
                                                          max_size=2),
              other_customers=st.booleans(), undo_now=st.booleans())
        def merge(self, into_: int, sources: list[int], other_customers: bool,
                  undo_now: bool) -> None:
            into = self._pick(into_)
            named = [self._pick(s) for s in sources]
            self._next()
            before = {side.name: ({n: _comparable(side.desk, n) for n in named},
                                  {n: [a.id for a in side.desk.tickets.articles(n)]
                                   for n in named}, sorted(self._view(side).article_ids()))
                      for side in self.sides}
            results = self._refusable(lambda side: side.desk.tickets.merge(
                into, named, actor=AGENT, other_customers=other_customers, notify=False))
            if isinstance(results[0], Exception):
                return
            for side in self.sides:
                snapshots, articles, all_ids = before[side.name]
                # every article stays where it was, or moved to the target
                assert sorted(self._view(side).article_ids()) == all_ids
                assert all(side.desk.tickets.articles(n) == [] for n in named)
                if not undo_now:
                    continue
                self._next()
                for number in named:
                    side.desk.tickets.unmerge(number, actor=AGENT)
                for number in named:
                    assert _comparable(side.desk, number) == snapshots[number], number
                    assert [a.id for a in side.desk.tickets.articles(number)] == \
                        articles[number], number
                assert sorted(self._view(side).article_ids()) == all_ids

        @precondition(lambda self: self.numbers)
        @rule(pick=st.integers(0, 99))
        def unmerge(self, pick: int) -> None:
            merged = [n for n in self.numbers
                      if self.sides[0].desk.tickets.get(n).merged_into is not None]
            number = merged[pick % len(merged)] if merged else self._pick(pick)
            self._next()
            results = self._refusable(
                lambda side: side.desk.tickets.unmerge(number, actor=AGENT))
            if merged:
                assert not isinstance(results[0], Exception), results
                for side in self.sides:
                    assert side.desk.tickets.get(number).merged_into is None

        @precondition(lambda self: self.numbers)
        @rule(pick=st.integers(0, 99), chosen=st.sets(st.integers(0, 9), min_size=1))
        def split(self, pick: int, chosen: set[int]) -> None:
            number = self._pick(pick)
            self._next()
            if self.sides[0].desk.tickets.get(number).merged_into is not None:
                self._refusable(lambda side: side.desk.tickets.split(
                    number, [a.id for a in side.desk.tickets.articles(number)] or ["x"],
                    actor=AGENT))
                return
            arts = self.sides[0].desk.tickets.articles(number)
            picked = sorted({i % len(arts) for i in chosen}) if arts else []
            if not picked:
                return
            new_numbers = []
            for side in self.sides:
                ids = [a.id for a in side.desk.tickets.articles(number)]
                moving = [ids[i] for i in picked]
                done = side.desk.tickets.split(number, moving, actor=AGENT)
                assert [a.id for a in side.desk.tickets.articles(done.new.number)] == moving
                assert not set(moving) & {a.id for a in side.desk.tickets.articles(number)}
                new_numbers.append(done.new.number)
            self._issued(new_numbers, self.owner[number])

        @precondition(lambda self: len(self.numbers) >= 2)
        @rule(one=st.integers(0, 99), other=st.integers(0, 99),
              relation=st.sampled_from(LINKED))
        def link(self, one: int, other: int, relation: Relation) -> None:
            a, b = self._pick(one), self._pick(other)
            self._next()
            self._refusable(lambda side: side.desk.tickets.link(a, b, relation, actor=AGENT))

        @precondition(lambda self: len(self.numbers) >= 2)
        @rule(one=st.integers(0, 99), other=st.integers(0, 99))
        def unlink(self, one: int, other: int) -> None:
            a, b = self._pick(one), self._pick(other)
            self._next()
            self._refusable(lambda side: side.desk.tickets.unlink(a, b, actor=AGENT))

        # -- invariants ------------------------------------------------------------------------

        @invariant()
        def after_every_step(self) -> None:
            if not hasattr(self, "sides"):
                return
            views = [self._view(side) for side in self.sides]
            for side, view in zip(self.sides, views, strict=True):
                self._every_article_on_one_live_ticket_and_none_lost(side, view)
                self._every_mail_and_sms_stored_once(side, view)
                self._every_number_and_message_id_resolves_to_a_live_ticket(side, view)
            if len(views) == 2:
                # the model and the storage agree, by number and text
                assert views[0].comparable() == views[1].comparable()

        def _every_article_on_one_live_ticket_and_none_lost(self, side: Side,
                                                            view: View) -> None:
            for number, ticket in view.tickets.items():
                if ticket.merged_into is not None:
                    assert ticket.status_category is StatusCategory.MERGED, number
                    assert view.articles[number] == [], (side.name, number)
                assert all(a.ticket_id == ticket.id for a in view.articles[number])
            ids = view.article_ids()
            assert len(ids) == len(set(ids)), side.name
            assert side.articles <= set(ids), (side.name, side.articles - set(ids))
            side.articles = set(ids)
            # no ticket the machine does not know of
            total, after = 0, None
            while True:
                page = side.desk.tickets.queue(TicketQuery(limit=200, after=after))
                total += len(page.items)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            assert total == len(self.numbers), (side.name, total, self.numbers)

        def _every_mail_and_sms_stored_once(self, side: Side, view: View) -> None:
            stored: dict[str, int] = {}
            held: dict[str, int] = {}
            for arts in view.articles.values():
                for a in arts:
                    mid = a.meta.get("message_id")
                    if mid is None or a.direction is Direction.OUTBOUND:
                        continue
                    counts = held if a.meta.get("verified") == "false" else stored
                    counts[mid] = counts.get(mid, 0) + 1
            assert stored == dict.fromkeys(self.mails, 1), side.name
            assert all(count == 1 for count in held.values()), side.name
            texts = [a.body_text for arts in view.articles.values() for a in arts
                     if a.channel is Channel.SMS]
            assert sorted(texts) == sorted(f"sms {p.removeprefix('sms-')}"
                                           for _c, p in self.sms_sent), side.name

        def _every_number_and_message_id_resolves_to_a_live_ticket(self, side: Side,
                                                                   view: View) -> None:
            # the view read every number as tickets.get does (the repository's
            # get_by_number); merged_into is followed through it
            for number in self.numbers:
                view.live(view.tickets[number].id)
            if not self.known:
                return
            with side.desk.storage.unit_of_work(read_only=True) as uow:
                records = uow.messages.find([k.ids[side.name][0] for k in self.known])
            found: dict[str, list[str]] = {}
            for record in records:
                found.setdefault(record.message_id, []).append(record.ticket_id)
            for known in self.known:
                mid, article_id = known.ids[side.name]
                assert found.get(mid), (side.name, mid)
                for ticket_id in found[mid]:
                    # a reply threads to where the message's article is now
                    assert view.live(ticket_id).id == view.holder(article_id).id, (
                        side.name, mid)

    return MergeMachine
