"""Loops and floods on this adapter: the senders recognised as automatic are remembered in
``mail_automatic_senders``, so a machine opens one ticket per window and gets no automatic
message from us within it, across helpdesk instances sharing the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.mail.policy import MailPolicy

POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")


def mail(subject: str, *, n: int, body: str = "Thank you for your email. I am out of the "
         "office until 9 March.", extra: str = "") -> bytes:
    return (f"From: Jana <jana@example.cz>\r\nTo: support@shop.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <ooo-{n}@mail.example.cz>\r\n{extra}"
            "Date: Mon, 2 Mar 2026 08:30:00 +0000\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def desks(url: str, clock: FakeClock) -> Iterator[tuple[Helpdesk, Helpdesk]]:
    settings = Settings(database_url=url, mail_policy=POLICY,
                        options={"sqlite_busy_timeout_ms": 5000})
    with bootstrap(settings, clock=clock, environ={}) as one, \
            bootstrap(settings, clock=clock, environ={}) as other:
        yield one, other


def test_a_flood_opens_one_ticket_across_instances(desks: tuple[Helpdesk, Helpdesk],
                                                   clock: FakeClock) -> None:
    one, other = desks
    outcomes = []
    for n in range(8):
        clock.advance(timedelta(minutes=3))
        desk = one if n % 2 else other
        outcomes.append(desk.mail.receive(mail(f"Re: {n * 31}", n=n)))
    assert [o.outcome for o in outcomes] == ["new_ticket"] + ["quarantined"] * 7
    assert outcomes[0].acknowledgement is None
    assert len(one.mail.staged(state=StagedState.QUARANTINED)) == 7
    assert len(one.tickets.queue().items) == 1


def test_no_acknowledgement_to_a_known_machine_within_the_window(
        desks: tuple[Helpdesk, Helpdesk], clock: FakeClock) -> None:
    one, other = desks
    notice = one.mail.receive(mail("Automatic reply: Order", n=1))
    assert notice.outcome == "auto_reply_unmatched"
    clock.advance(timedelta(hours=2))
    person = other.mail.receive(mail("Kettle", n=2, body="The kettle broke."))
    assert (person.outcome, person.acknowledgement) == ("new_ticket", None)
    assert person.reason is not None
    assert person.reason.startswith("automatic sender: ")
    clock.advance(timedelta(days=1))
    later = other.mail.receive(mail("Kettle again", n=3, body="Still broken."))
    assert later.acknowledgement is not None
