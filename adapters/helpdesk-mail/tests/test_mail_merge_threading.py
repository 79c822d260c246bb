"""Replies fetched from a real Dovecot mailbox to a ticket merged since: they land on the
ticket it continues as, whether they name it by number in the subject or answer its
acknowledgement (In-Reply-To)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from dovecot_server import UserMailbox
from helpdesk_core import Actor, Settings, bootstrap
from helpdesk_mail import open_inbox

AGENT = Actor.agent("eva")


def _mail(subject: str, body: str, message_id: str, *, in_reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jana Nováková <jana@example.cz>"
    msg["To"] = "support@shop.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    msg["Message-ID"] = message_id
    if in_reply_to is not None:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    return bytes(msg).replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


def test_replies_to_a_merged_ticket_fetched_over_imap_land_on_its_target(
    mailbox: UserMailbox, tmp_path: Path,
) -> None:
    account = mailbox.account("imap", after="flag")
    with bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/desk.sqlite3"),
                   environ={}) as desk:
        mailbox.append(_mail("Konvice nehřeje", "Konvice po týdnu nehřeje.", "<first@mail.cz>"))
        mailbox.append(_mail("Víko je prasklé", "A ještě víko.", "<second@mail.cz>"))
        report = desk.mail.fetch(open_inbox(account))
        assert (report.error, report.processed, report.acknowledged) == (None, 2, 2)
        by_subject = {t.subject: t.number for t in desk.tickets.queue().items}
        a, b = by_subject["Konvice nehřeje"], by_subject["Víko je prasklé"]
        [ack] = [m for m in desk.outbox.for_ticket(a) if m.message_id]
        assert ack.message_id is not None

        desk.tickets.merge(b, [a], actor=AGENT)
        assert desk.tickets.articles(a) == []

        mailbox.append(
            _mail(f"Re: [{a}] Konvice nehřeje", "Posílám fotku.", "<by-number@mail.cz>"),
            _mail("Re: Vaše zpráva", "Účtenku přikládám.", "<by-reference@mail.cz>",
                  in_reply_to=ack.message_id),
        )
        report = desk.mail.fetch(open_inbox(account))
        assert (report.error, report.processed, report.failed) == (None, 2, 0)

        staged = {r.key: r for r in desk.mail.staged(limit=10)}
        replies = [r for r in staged.values() if r.outcome == "reply"]
        assert len(replies) == 2
        b_id = desk.tickets.get(b).id
        assert {r.ticket_id for r in replies} == {b_id}
        texts = [x.body_text.strip() for x in desk.tickets.articles(b)]
        assert texts.count("Posílám fotku.") == 1
        assert texts.count("Účtenku přikládám.") == 1
        assert desk.tickets.articles(a) == []
        assert [t.number for t in desk.tickets.queue().items] == [b]  # no new ticket opened
        assert sorted(r.outcome or "" for r in staged.values()) == [
            "new_ticket", "new_ticket", "reply", "reply"]
