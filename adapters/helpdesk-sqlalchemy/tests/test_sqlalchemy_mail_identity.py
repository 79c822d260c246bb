"""A stranger speaking as a customer, on this adapter: held mail is stored and reprocessed,
Cc addresses are recorded and copied on replies, the new-ticket limit reads the tickets
table, and a stranger's answer does not depend on whether the number exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain import EventKind, StatusCategory
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.domain.ticket import copied, notified, participants
from helpdesk_core.domain.values import Actor
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.testing import MemoryInbox

AGENT = Actor.agent("eva", "Eva")
POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example", new_ticket_limit=3,
                    cc_notified=True)
CHANNELS = (MailChannel(name="reklamace", addresses=frozenset({"reklamace@shop.example"})),)


def mail(sender: str, subject: str, *, message_id: str, cc: str = "", extra: str = "") -> bytes:
    copies = f"Cc: {cc}\r\n" if cc else ""
    return (f"From: {sender}\r\nTo: support@shop.example\r\n{copies}Subject: {subject}\r\n"
            f"Message-ID: {message_id}\r\n{extra}Date: Mon, 2 Mar 2026 08:30:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nDobrý den, konvice nehřeje.\r\n"
            ).encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def desk(url: str, clock: FakeClock) -> Iterator[Helpdesk]:
    with bootstrap(Settings(database_url=url, mail_policy=POLICY, mail_channels=CHANNELS,
                            options={"sqlite_busy_timeout_ms": 5000}),
                   clock=clock, environ={}) as helpdesk:
        yield helpdesk


def opened(desk: Helpdesk, cc: str = "") -> str:
    outcome = desk.mail.receive(mail("Jana <jana@example.cz>", "Konvice", cc=cc,
                                     message_id="<j1@mail.example.cz>"))
    assert outcome.outcome == "new_ticket"
    return outcome.ticket_number or ""


@pytest.mark.parametrize(("sender", "extra", "reason"), [
    ("jana@example.cz <mallory@evil.example>", "", "sender in doubt: more than one address"),
    ("jana@example.cz)<mallory@evil.example>", "", "sender in doubt: more than one address"),
    ("=?utf-8?q?Jana_=3Cjana=40example=2Ecz=3E?=", "", "sender in doubt: no valid address"),
    ("support@shop.example", "", "our own mail: sent from our address"),
    ("reklamace@shop.example", "", "our own mail: sent from our address"),
    ("jana@example.cz", "X-Helpdesk-Loop: helpdesk-core\r\n", "our own mail: carries our"),
])
def test_held_mail_is_stored_listed_and_held_again(desk: Helpdesk, sender: str, extra: str,
                                                   reason: str) -> None:
    number = opened(desk)
    raw = mail(sender, f"Re: [{number}]", message_id="<h1@mail.example>", extra=extra)
    outcome = desk.mail.receive(raw)
    assert outcome.outcome == "quarantined"
    assert (outcome.reason or "").startswith(reason)
    assert len(desk.tickets.articles(number)) == 2
    [row] = desk.mail.staged(account="default", state=StagedState.QUARANTINED)
    assert row.key.startswith("received:")
    assert row.reason == outcome.reason
    assert desk.blob_store.get(row.blob_key or "") == raw
    assert desk.mail.receive(raw).outcome == "quarantined"  # one row for the same mail
    [(again, result)] = desk.mail.reprocess(account="default")
    assert result is None
    assert again.state is StagedState.QUARANTINED
    assert len(desk.mail.staged(state=StagedState.QUARANTINED)) == 1
    assert len(desk.tickets.queue().items) == 1


def test_cc_addresses_are_recorded_and_copied_on_replies(desk: Helpdesk) -> None:
    number = opened(desk, cc="Pavel <pavel@example.cz>, support@shop.example")
    history = desk.tickets.history(number)
    [event] = [e for e in history if e.kind is EventKind.CC_RECORDED]
    assert (event.new, event.data) == ("pavel@example.cz", {"notified": True})
    assert participants(history) == frozenset()
    assert copied(history) == notified(history) == {"pavel@example.cz"}
    _article, message = desk.tickets.reply(number, "Posíláme novou.", agent=AGENT)
    assert message.cc == ("pavel@example.cz",)
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    pavel = desk.mail.receive(mail("pavel@example.cz", f"Re: [{number}]",
                                   message_id="<p1@mail.example.cz>"))
    assert (pavel.outcome, pavel.held_on) == ("new_ticket", number)
    assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER
    assert not desk.tickets.articles(number)[-1].public


def test_the_new_ticket_limit_on_this_adapter(desk: Helpdesk, clock: FakeClock) -> None:
    inbox = MemoryInbox()
    for i in range(5):
        inbox.deliver(mail("jana@example.cz", f"Dotaz {i}", message_id=f"<d{i}@x>"))
    report = desk.mail.fetch(inbox)
    assert report.outcomes == {"new_ticket": 3, "quarantined": 2}
    rows = desk.mail.staged(state=StagedState.QUARANTINED)
    assert all((r.reason or "").startswith("new-ticket limit: jana@example.cz opened 3")
               for r in rows)
    assert [o for _r, o in desk.mail.reprocess()] == [None, None]
    [(_row, released)] = desk.mail.reprocess(keys=[rows[0].key])
    assert released is not None
    assert released.outcome == "new_ticket"
    clock.advance(timedelta(hours=1, seconds=1))
    [(_row, later)] = desk.mail.reprocess()
    assert later is not None
    assert later.outcome == "new_ticket"
    assert len(desk.tickets.queue().items) == 5


def test_a_strangers_answer_does_not_tell_whether_a_number_exists(url: str,
                                                                  clock: FakeClock) -> None:
    """One database, two rounds: a stranger names Jana's ticket, then a missing number."""
    number = re.compile(r"HD-\d{4}-\d{6}")
    seen = []
    for exists in (True, False):
        with bootstrap(Settings(database_url=url, mail_policy=POLICY,
                                options={"sqlite_busy_timeout_ms": 5000}),
                       clock=clock, environ={}) as desk:
            existing = opened(desk) if exists else "HD-2026-000777"
            outcome = desk.mail.receive(mail("mallory@evil.example", f"Re: [{existing}]",
                                             message_id=f"<s-{exists}@evil.example>"))
            assert outcome.outcome == "new_ticket"
            [ack] = desk.outbox.for_ticket(outcome.ticket_number or "")
            seen.append((ack.recipients, number.sub("N", ack.subject),
                         number.sub("N", ack.body_text)))
            if exists:
                assert outcome.held_on == existing
                assert [a.public for a in desk.tickets.articles(existing)] == [True, True,
                                                                               False]
        clock.advance(timedelta(hours=2))  # past the hour of one acknowledgement per sender
    assert seen[0] == seen[1]
