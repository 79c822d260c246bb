"""A server that refuses, forever, to flag, move or delete one stored message stalls nothing.

A proxy in front of Dovecot answers ``NO`` to ``UID STORE``/``UID MOVE``/``UID EXPUNGE`` of
one chosen UID (``-ERR`` to its POP3 ``DELE``). Every other mail is processed and
acknowledged in the first run; the stuck one is in the report, on its ledger row and in
``helpdesk mail quarantine``, and is asked about again only when its next try is due.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dovecot_server import UserMailbox, message
from helpdesk_core import Settings, StagedState, bootstrap
from helpdesk_core.cli import main
from helpdesk_core.errors import AcknowledgementRefused
from helpdesk_mail import ImapInbox, Pop3Inbox, open_inbox
from helpdesk_mail.imap import DONE_KEYWORD
from refusing_proxy import RefusingProxy, imap_refusing, pop3_refusing

COUNT = 12
STUCK = 4  # the UID (and POP3 message number) the server refuses


@pytest.mark.parametrize(("protocol", "after"), [
    ("imap", "flag"), ("imap", "move"), ("imap", "delete"), ("pop3", "delete"),
])
def test_every_other_mail_is_processed_in_the_first_run_and_the_stuck_one_reported(
    mailbox: UserMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    protocol: str, after: str,
) -> None:
    mailbox.append(*(message(n) for n in range(1, COUNT + 1)))
    imap = protocol == "imap"
    port = mailbox.server.imap_port if imap else mailbox.server.pop3_port
    proxy = RefusingProxy(port, imap_refusing(STUCK) if imap else pop3_refusing(STUCK))
    extra = {"move_to": "Processed"} if after == "move" else {}
    account = mailbox.account(protocol, port=proxy.port, after=after, **extra)
    url = f"sqlite:///{tmp_path}/desk.sqlite3"
    try:
        with bootstrap(Settings(database_url=url), environ={}) as desk:
            report = desk.mail.fetch(open_inbox(account))
            assert report.error is None
            assert (report.processed, report.acknowledged) == (COUNT, COUNT - 1)
            [stuck_key] = report.ack_failed
            assert "refused" in report.ack_failed[stuck_key]
            assert proxy.refused  # the server was asked, and said no
            [stuck] = desk.mail.staged(ack_failing=True)
            assert (stuck.key, stuck.state, stuck.acknowledged, stuck.ack_attempts) == (
                stuck_key, StagedState.PROCESSED, False, 1)
            assert stuck.ack_next_at is not None
            assert len(desk.tickets.queue().items) == COUNT

            # on the server: all but the stuck one are done with
            left = _left_on_server(mailbox, protocol, after)
            assert left == [message(STUCK)]

            # the next run does not ask again before the next try, and finds nothing new
            again = desk.mail.fetch(open_inbox(account))
            assert (again.error, again.processed, again.ack_waiting) == (None, 0, 1)
            assert len(proxy.refused) == len(report.ack_failed)

        assert main(["mail", "quarantine", "--database-url", url]) == 0
        [line] = capsys.readouterr().out.splitlines()
        assert line.startswith(f"test-{protocol} {stuck_key}: processed (new_ticket); "
                               "not acknowledged on the server (1 failed, next try ")
    finally:
        proxy.close()


def _left_on_server(mailbox: UserMailbox, protocol: str, after: str) -> list[bytes]:
    if protocol == "pop3" or after == "delete":
        return mailbox.bodies()
    contents = mailbox.contents()
    return [body for flags, body in contents.values() if DONE_KEYWORD not in flags]


def test_the_inboxes_say_refused_and_keep_the_session(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2))
    for protocol, refuse in (("imap", imap_refusing(1)), ("pop3", pop3_refusing(1))):
        if protocol == "pop3":
            mailbox.append(message(3))  # the maildrop: message 1 (refused), message 3
        port = mailbox.server.imap_port if protocol == "imap" else mailbox.server.pop3_port
        proxy = RefusingProxy(port, refuse)
        try:
            account = mailbox.account(protocol, port=proxy.port, after="delete")
            inbox = ImapInbox(account) if protocol == "imap" else Pop3Inbox(account)
            first, second = inbox.list_new(limit=10)
            with pytest.raises(AcknowledgementRefused) as refused:
                inbox.acknowledge(first.key)
            assert refused.value.key == first.key
            assert "refused to delete message" in str(refused.value)
            inbox.acknowledge(second.key)  # the same session goes on
            inbox.close()
        finally:
            proxy.close()
    assert mailbox.bodies() == [message(1)]
