"""Inbound mail on this adapter: the ingest rules, the fetch loop, two fetchers at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.testing import MemoryInbox

POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")


def mail(sender: str, subject: str, *, message_id: str, in_reply_to: str = "",
         trace: str = "") -> bytes:
    head = f"Delivered-To: {trace}\r\n" if trace else ""
    reply = f"In-Reply-To: {in_reply_to}\r\n" if in_reply_to else ""
    return (f"{head}From: {sender}\r\nTo: support@shop.example\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\n{reply}Date: Mon, 2 Mar 2026 08:30:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Dobrý den, konvice nehřeje.\r\n").encode()


def _desk(url: str) -> Helpdesk:
    return bootstrap(Settings(database_url=url, mail_policy=POLICY,
                              options={"sqlite_busy_timeout_ms": 5000}), environ={})


@pytest.fixture
def desk(url: str) -> Iterator[Helpdesk]:
    with _desk(url) as helpdesk:
        yield helpdesk


def test_ingest_rules_on_this_adapter(desk: Helpdesk) -> None:
    first = desk.mail.receive(mail("jana@example.cz", "Konvice", message_id="<a1@x>"))
    assert first.outcome == "new_ticket"
    number = first.ticket_number or ""
    [ack] = desk.outbox.for_ticket(number)
    assert ack.headers["In-Reply-To"] == "<a1@x>"
    again = desk.mail.receive(mail("jana@example.cz", "Konvice", message_id="<a1@x>",
                                   trace="info@shop.example"))
    assert again.outcome == "duplicate"
    reply = desk.mail.receive(mail("jana@example.cz", "Re: Konvice", message_id="<a2@x>",
                                   in_reply_to=ack.message_id or ""))
    assert (reply.outcome, reply.ticket_number) == ("reply", number)
    stranger = desk.mail.receive(mail("eve@example.org", f"Re: [{number}]",
                                      message_id="<e1@x>"))
    # a stranger's mail opens a ticket of its own; the named one keeps an unpublished copy
    assert (stranger.outcome, stranger.held_on) == ("new_ticket", number)
    assert stranger.ticket_number != number
    directions = [a.direction.value for a in desk.tickets.articles(number)]
    assert directions == ["inbound", "outbound", "inbound", "internal"]


def test_fetch_loop_with_a_poison_mail_on_this_adapter(desk: Helpdesk) -> None:
    inbox = MemoryInbox()
    for i in range(3):
        inbox.deliver(mail(f"c{i}@example.org", f"Dotaz {i}", message_id=f"<f{i}@x>"))
    inbox.deliver(b"\x00" * 10)  # no headers, no sender: quarantined, never lost
    report = desk.mail.fetch(inbox)
    assert report.outcomes == {"new_ticket": 3, "quarantined": 1}
    assert inbox.messages == {}
    [row] = desk.mail.staged(state=StagedState.QUARANTINED)
    assert desk.blob_store.get(row.blob_key or "") == b"\x00" * 10


@pytest.mark.postgres
def test_two_fetchers_on_one_mailbox_store_each_mail_once(pg_url: str) -> None:
    inbox = MemoryInbox()
    count = 40
    for i in range(count):
        inbox.deliver(mail(f"c{i}@example.org", f"Dotaz {i}", message_id=f"<p{i}@x>"))
    desks = [_desk(pg_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(helpdesk: Helpdesk) -> None:
        try:
            barrier.wait()
            helpdesk.mail.fetch(inbox)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    desks[0].mail.fetch(inbox)  # whatever a lost race left staged
    tickets = desks[0].tickets.queue().items
    assert len({t.subject for t in tickets}) == count
    assert len(tickets) == count
    for helpdesk in desks:
        helpdesk.close()
