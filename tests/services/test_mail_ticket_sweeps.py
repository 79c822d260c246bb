"""Sweeping ticket numbers: the answer to a stranger never tells whether a number exists, and
one sender opens at most ``MailPolicy.new_ticket_limit`` tickets by mail per window.

A stranger who names an existing ticket gets what a stranger naming a missing one gets: a
ticket of their own and its acknowledgement (the existing ticket keeps an unpublished note
they never see). Mail past the limit is quarantined — visible to the operator, released by
reprocessing it by key, or opened by a later run once the window has moved on.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.services.conftest import MakeHelpdesk
from tests.services.mail_support import T0, raw_mail
from tests.services.mail_support import world as shared_world

from helpdesk_core import Helpdesk
from helpdesk_core.domain import StaffVia
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.testing import MemoryInbox

AGENT = Actor.agent("eva", "Eva")
POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")
NUMBER = re.compile(r"HD-\d{4}-\d{6}")
MISSING = "HD-2026-000777"


def world(**policy: Any) -> tuple[Helpdesk, FakeClock]:
    return shared_world(attrs.evolve(POLICY, **policy))


def seen_by(desk: Helpdesk, address: str) -> list[tuple[object, ...]]:
    """Everything the helpdesk sent to ``address``, numbers blanked out."""
    def blank(text: str) -> str:
        return NUMBER.sub("HD-N", text)
    found = []
    for ticket in desk.tickets.queue().items:
        for message in desk.outbox.for_ticket(ticket.number):
            if address in message.recipients:
                found.append((message.kind, message.sender, message.recipients, message.cc,
                              blank(message.subject), blank(message.body_text),
                              sorted(message.headers), message.headers.get("In-Reply-To"),
                              message.created_at))
    return sorted(found, key=repr)


def janas_ticket(desk: Helpdesk) -> str:
    outcome = desk.mail.receive(raw_mail(message_id="<jana-1@mail.example.cz>"))
    assert outcome.outcome == "new_ticket"
    return outcome.ticket_number or ""


# -- the same answer for an existing and a missing number --------------------------------------

NAMINGS = [
    lambda n: {"subject": f"Re: [{n}] Konvice"},
    lambda n: {"subject": f"AW: WG: {n}"},
    lambda n: {"subject": f"Fwd: Ticket {n} - prosím o info"},
    lambda n: {"subject": f"RE: [EXT] [ABC-17] {n}"},
    lambda n: {"subject": f"Dotaz k {n} a {n}"},
]


@pytest.mark.parametrize("naming", NAMINGS)
@pytest.mark.parametrize("stranger", ["Mallory <mallory@evil.example>", "petr@example.cz",
                                      "Jana <jana@example.cz.evil.example>"])
@pytest.mark.parametrize("policy", [{}, {"unverified_reply": "new_ticket"},
                                    {"unknown_sender": "quarantine"}, {"acknowledge": False}])
def test_a_stranger_naming_an_existing_number_gets_what_a_missing_number_gets(
        naming: Any, stranger: str, policy: dict[str, Any]) -> None:
    address = stranger.split("<")[-1].strip(">")
    answers = []
    for exists in (True, False):
        desk, _clock = world(**policy)
        number = janas_ticket(desk)
        before = [a.public for a in desk.tickets.articles(number)]
        named = number if exists else MISSING
        outcome = desk.mail.receive(raw_mail(sender=stranger, message_id="<s1@evil.example>",
                                             **naming(named)))
        answers.append((outcome.outcome, outcome.acknowledgement is not None, outcome.reason,
                        seen_by(desk, address), len(desk.tickets.queue().items)))
        if exists and outcome.outcome == "new_ticket":
            # ... the named ticket kept it as an unpublished note (by default), unchanged else
            articles = desk.tickets.articles(number)
            hold = policy.get("unverified_reply", "hold") == "hold"
            assert outcome.held_on == (number if hold else None)
            assert [a.public for a in articles] == before + ([False] if hold else [])
            if hold:
                assert articles[-1].meta["opened"] == outcome.ticket_number
        desk.close()
    assert answers[0] == answers[1]


def test_naming_our_message_id_or_a_made_up_one_gets_the_same_answer() -> None:
    answers = []
    for exists in (True, False):
        desk, _clock = world()
        number = janas_ticket(desk)
        [ack] = desk.outbox.for_ticket(number)
        parent = ack.message_id if exists else "<made-up@helpdesk.shop.example>"
        outcome = desk.mail.receive(raw_mail(sender="mallory@evil.example",
                                             subject="Re: Vaše zpráva", in_reply_to=parent,
                                             message_id="<s1@evil.example>"))
        answers.append((outcome.outcome, seen_by(desk, "mallory@evil.example")))
        desk.close()
    assert answers[0] == answers[1]
    assert answers[0][0] == "new_ticket"


def test_the_strangers_follow_up_lands_on_their_own_ticket() -> None:
    desk, _clock = world()
    number = janas_ticket(desk)
    first = desk.mail.receive(raw_mail(sender="mallory@evil.example",
                                       subject=f"Re: [{number}] Konvice",
                                       message_id="<mal-1@evil.example>"))
    own = first.ticket_number or ""
    [ack] = desk.outbox.for_ticket(own)
    assert ack.recipients == ("mallory@evil.example",)
    again = desk.mail.receive(raw_mail(sender="mallory@evil.example",
                                       subject=f"Re: {ack.subject}",
                                       in_reply_to=ack.message_id,
                                       references=f"<mal-1@evil.example> {ack.message_id}"))
    assert (again.outcome, again.ticket_number) == ("reply", own)
    bare = desk.mail.receive(raw_mail(sender="mallory@evil.example", subject=ack.subject))
    assert (bare.outcome, bare.ticket_number) == ("reply", own)  # its own number comes first
    assert len(desk.tickets.articles(number)) == 3


CHOICES = st.lists(st.tuples(st.sampled_from(["existing", "missing", "none", "own"]),
                             st.integers(0, 40)), min_size=1, max_size=9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES, limit=st.integers(1, 4), ack_limit=st.integers(0, 3))
def test_a_sweep_learns_nothing_about_which_numbers_exist(
        choices: list[tuple[str, int]], limit: int, ack_limit: int) -> None:
    """Any sequence of mails from one stranger, naming existing numbers, missing ones, none,
    or their own new tickets, over any pace, answered exactly as the same sequence with every
    existing number replaced by a missing one."""
    runs = []
    for real in (True, False):
        desk, clock = world(new_ticket_limit=limit, ack_limit=ack_limit)
        existing = [janas_ticket(desk)]
        outcomes = []
        own: list[str] = []
        for i, (choice, minutes) in enumerate(choices):
            clock.advance(timedelta(minutes=minutes))
            if choice == "existing" and not real:
                choice = "missing"
            named = {"existing": existing[0], "missing": f"HD-2026-{900 + i:06d}",
                     "none": "", "own": own[-1] if own else ""}[choice]
            outcome = desk.mail.receive(raw_mail(sender="mallory@evil.example",
                                                 subject=f"Dotaz {named}".strip(),
                                                 message_id=f"<s{i}@evil.example>"))
            if outcome.outcome == "new_ticket":
                own.append(outcome.ticket_number or "")
            outcomes.append((outcome.outcome, outcome.acknowledgement is not None,
                             outcome.reason, NUMBER.sub("HD-N", outcome.ticket_number or "")))
        runs.append((outcomes, seen_by(desk, "mallory@evil.example")))
        desk.close()
    assert runs[0] == runs[1]


# -- the new-ticket limit --------------------------------------------------------------------


def test_one_sender_opens_at_most_ten_tickets_an_hour_by_default(
        make_helpdesk: MakeHelpdesk, clock: FakeClock) -> None:
    desk = make_helpdesk(mail_policy=POLICY)
    outcomes = [desk.mail.receive(raw_mail(subject=f"Dotaz {i}")) for i in range(12)]
    assert [o.outcome for o in outcomes] == ["new_ticket"] * 10 + ["quarantined"] * 2
    assert outcomes[10].reason == ("new-ticket limit: jana@example.cz opened 10 tickets by "
                                   "mail within 1:00:00")
    assert outcomes[10].acknowledgement is None
    assert len(desk.tickets.queue().items) == 10
    # the operator sees them, with the reason
    rows = desk.mail.staged(state=StagedState.QUARANTINED)
    assert [r.reason for r in rows] == [outcomes[10].reason] * 2
    # replies to her own tickets still arrive; other senders are not limited by her
    number = outcomes[0].ticket_number
    assert desk.mail.receive(raw_mail(subject=f"Re: [{number}]")).outcome == "reply"
    assert desk.mail.receive(raw_mail(sender="petr@example.cz")).outcome == "new_ticket"
    # once the window has moved on, she opens tickets again
    clock.advance(timedelta(hours=1, seconds=1))
    assert desk.mail.receive(raw_mail(subject="Dotaz 13")).outcome == "new_ticket"


# (limit, window, minutes between mails, how many) -> which of them open a ticket
LIMITS = [
    (1, timedelta(hours=1), 0, 3, [True, False, False]),
    (1, timedelta(hours=1), 61, 3, [True, True, True]),
    (1, timedelta(hours=1), 60, 3, [True, False, True]),  # the window includes its start
    (3, timedelta(hours=1), 15, 7, [True, True, True, False, False, True, True]),
    (2, timedelta(minutes=10), 4, 6, [True, True, False, True, True, False]),
    (5, timedelta(days=1), 60, 7, [True] * 5 + [False] * 2),
    (None, timedelta(hours=1), 0, 15, [True] * 15),
]


@pytest.mark.parametrize(("limit", "window", "every", "count", "opens"), LIMITS)
def test_the_limit_counts_tickets_within_the_window(
        make_helpdesk: MakeHelpdesk, clock: FakeClock, limit: int | None, window: timedelta,
        every: int, count: int, opens: list[bool]) -> None:
    desk = make_helpdesk(mail_policy=attrs.evolve(POLICY, new_ticket_limit=limit,
                                                  new_ticket_window=window))
    got = []
    for i in range(count):
        got.append(desk.mail.receive(raw_mail(subject=f"Dotaz {i}")).outcome == "new_ticket")
        clock.advance(timedelta(minutes=every))
    assert got == opens


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limit=st.integers(1, 5), window=st.integers(1, 120),
       gaps=st.lists(st.integers(0, 90), min_size=1, max_size=14))
def test_the_limit_follows_its_definition(limit: int, window: int, gaps: list[int]) -> None:
    """A mail opens a ticket exactly when fewer than ``limit`` of the sender's mail tickets
    were opened in the ``window`` minutes up to it."""
    desk, clock = world(new_ticket_limit=limit, new_ticket_window=timedelta(minutes=window))
    opened: list[datetime] = []
    for i, gap in enumerate(gaps):
        clock.advance(timedelta(minutes=gap))
        now = clock.now()
        expected = sum(1 for at in opened if at >= now - timedelta(minutes=window)) < limit
        outcome = desk.mail.receive(raw_mail(sender="mallory@evil.example",
                                             subject=f"Dotaz {i}"))
        assert (outcome.outcome == "new_ticket") is expected
        if expected:
            opened.append(now)
    desk.close()


def test_tickets_not_opened_by_mail_do_not_count(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=attrs.evolve(POLICY, new_ticket_limit=2))
    for i in range(3):
        desk.tickets.open_by_staff(agent=AGENT, via=StaffVia.PHONE, subject=f"Telefon {i}",
                                   message="Volala", customer_email="jana@example.cz")
    outcomes = [desk.mail.receive(raw_mail(subject=f"Dotaz {i}")).outcome for i in range(3)]
    assert outcomes == ["new_ticket", "new_ticket", "quarantined"]


def test_held_mail_is_released_by_reprocessing_it_by_key(make_helpdesk: MakeHelpdesk,
                                                         clock: FakeClock) -> None:
    desk = make_helpdesk(mail_policy=attrs.evolve(POLICY, new_ticket_limit=2))
    for i in range(4):
        desk.mail.receive(raw_mail(subject=f"Dotaz {i}"))
    first, second = desk.mail.staged(state=StagedState.QUARANTINED)
    # run with the rest, the limit still holds them
    assert [outcome for _row, outcome in desk.mail.reprocess()] == [None, None]
    assert len(desk.mail.staged(state=StagedState.QUARANTINED)) == 2
    # named by key, the operator lets one through
    [(row, outcome)] = desk.mail.reprocess(keys=[first.key])
    assert outcome is not None
    assert outcome.outcome == "new_ticket"
    assert row.state is StagedState.PROCESSED
    ticket = desk.tickets.get(outcome.ticket_id or "")
    assert ticket.subject in {"Dotaz 2", "Dotaz 3"}
    # and the rest open once the window has moved on
    clock.advance(timedelta(hours=1, seconds=1))
    [(_row, later)] = desk.mail.reprocess()
    assert later is not None
    assert later.outcome == "new_ticket"
    assert desk.mail.staged(state=StagedState.QUARANTINED) == []
    assert len(desk.tickets.queue().items) == 4
    assert second.key != first.key


def test_a_fetch_holds_mail_past_the_limit(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=attrs.evolve(POLICY, new_ticket_limit=3))
    inbox = MemoryInbox()
    for i in range(5):
        inbox.deliver(raw_mail(subject=f"Dotaz {i}"))
    report = desk.mail.fetch(inbox)
    assert report.outcomes == {"new_ticket": 3, "quarantined": 2}
    assert inbox.messages == {}  # the held mail is ours to keep, off the server
    rows = desk.mail.staged(state=StagedState.QUARANTINED)
    assert len(rows) == 2
    assert all((r.reason or "").startswith("new-ticket limit:") for r in rows)
    [(_row, outcome)] = desk.mail.reprocess(keys=[rows[0].key])
    assert outcome is not None
    assert outcome.outcome == "new_ticket"


@pytest.mark.parametrize(("field", "value"), [
    ("new_ticket_limit", 0), ("new_ticket_limit", -3), ("new_ticket_limit", True),
    ("new_ticket_limit", "10"), ("new_ticket_limit", 2.5), ("new_ticket_window", timedelta(0)),
    ("new_ticket_window", timedelta(seconds=-1)), ("new_ticket_window", 3600),
])
def test_the_limit_must_be_sensible(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        MailPolicy(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(("limit", "opened_minutes_ago", "reached"), [
    (None, [0] * 100, False),
    (1, [], False),
    (1, [0], True),
    (1, [60], True),
    (1, [61], False),
    (2, [1, 61], False),
    (2, [1, 59], True),
    (3, [-5, 10, 20], True),  # a clock that ran back still counts
])
def test_new_ticket_limit_reached(limit: int | None, opened_minutes_ago: list[int],
                                  reached: bool) -> None:
    policy = MailPolicy(new_ticket_limit=limit, new_ticket_window=timedelta(hours=1))
    opened = [T0 - timedelta(minutes=m) for m in opened_minutes_ago]
    assert policy.new_ticket_limit_reached(opened, now=T0) is reached
