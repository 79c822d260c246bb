"""Pop3Inbox against a real Dovecot: UIDL keys, download, delete at QUIT, keep, failures."""

from __future__ import annotations

import poplib
import time

import pytest

from dovecot_server import CuttingProxy, Dovecot, UserMailbox, free_ports, message
from helpdesk_core.errors import ConfigurationError, MailboxError
from helpdesk_core.ports.messaging import MailInbox
from helpdesk_mail import MailboxConfigurationError, MessageTooLarge, Pop3Inbox


def _inbox(mailbox: UserMailbox, **overrides: object) -> Pop3Inbox:
    return Pop3Inbox(mailbox.account("pop3", **overrides))


def _server_uidls(mailbox: UserMailbox) -> list[str]:
    """The UIDLs a separate POP3 session sees (it deletes nothing)."""
    pop = poplib.POP3(mailbox.server.host, mailbox.server.pop3_port, timeout=5)
    try:
        pop.user(mailbox.user)
        pop.pass_(mailbox.server.password)
        _, lines, _ = pop.uidl()
        return [line.split()[1].decode() for line in lines]
    finally:
        pop.quit()


def test_the_inbox_is_a_mail_inbox(mailbox: UserMailbox) -> None:
    inbox: MailInbox = _inbox(mailbox)  # checked by mypy
    assert inbox.account == "test-pop3"
    assert inbox.list_new(limit=10) == []
    inbox.close()


def test_lists_uidls_and_sizes_in_server_order(mailbox: UserMailbox) -> None:
    messages = [message(1), message(2, body=b"x" * 700 + b"\r\n"), message(3)]
    mailbox.append(*messages)
    with _inbox(mailbox) as inbox:
        refs = inbox.list_new(limit=10)
        assert [ref.key for ref in refs] == _server_uidls(mailbox)
        assert len({ref.key for ref in refs}) == 3
        assert [ref.size for ref in refs] == [len(data) for data in messages]
        assert inbox.list_new(limit=2) == refs[:2]
        assert inbox.list_new(limit=0) == []
        assert [inbox.download(ref.key) for ref in refs] == messages


def test_keys_are_stable_across_sessions(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2))
    with _inbox(mailbox) as first, _inbox(mailbox) as second:
        assert first.list_new(limit=10) == second.list_new(limit=10)


def test_new_mail_shows_up_in_the_next_listing(mailbox: UserMailbox) -> None:
    with _inbox(mailbox) as inbox:
        assert inbox.list_new(limit=10) == []
        mailbox.append(message(1))
        # A POP3 session sees the maildrop as at login; list_new starts a new one.
        assert len(inbox.list_new(limit=10)) == 1


def test_download_returns_the_exact_bytes(mailbox: UserMailbox) -> None:
    data = (
        b"Subject: dots and long lines\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Příliš žluťoučký kůň.\r\n".encode()
        + b".starts with a dot\r\n..two dots\r\n.\r\n"
        + b"L" * 10_000 + b"\r\n"  # longer than poplib's own 2048-byte line limit
    )
    mailbox.append(data)
    with _inbox(mailbox) as inbox:
        (ref,) = inbox.list_new(limit=10)
        assert ref.size == len(data)
        assert inbox.download(ref.key) == data
        assert inbox.download(ref.key) == data  # downloading twice changes nothing
    assert mailbox.bodies() == [data]


def test_the_size_limit_is_visible_before_download(mailbox: UserMailbox) -> None:
    big = message(1, body=b"z" * 4000 + b"\r\n")
    mailbox.append(big, message(2))
    with _inbox(mailbox, max_bytes=1000) as inbox:
        first, second = inbox.list_new(limit=10)
        assert first.size == len(big) > 1000 >= second.size
        with pytest.raises(MessageTooLarge) as refused:
            inbox.download(first.key)
        assert (refused.value.key, refused.value.size) == (first.key, len(big))
        assert inbox.download(second.key) == message(2)


def test_delete_takes_effect_at_close(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2))
    inbox = _inbox(mailbox, after="delete")
    first, second = inbox.list_new(limit=10)
    inbox.download(first.key)
    inbox.acknowledge(first.key)
    # Before QUIT the server still has the message: another session lists it.
    assert _server_uidls(mailbox) == [first.key, second.key]
    inbox.close()
    assert _server_uidls(mailbox) == [second.key]
    assert mailbox.bodies() == [message(2)]
    with _inbox(mailbox, after="delete") as fresh:
        assert fresh.list_new(limit=10) == [second]


def test_the_next_listing_carries_out_pending_deletions(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2))
    with _inbox(mailbox, after="delete") as inbox:
        first, second = inbox.list_new(limit=10)
        inbox.acknowledge(first.key)
        assert inbox.list_new(limit=10) == [second]
        assert _server_uidls(mailbox) == [second.key]


def test_a_session_lost_before_quit_undeletes(mailbox: UserMailbox, dovecot: Dovecot) -> None:
    mailbox.append(message(1), message(2))
    inbox = _inbox(mailbox, after="delete")
    first, second = inbox.list_new(limit=10)
    inbox.acknowledge(first.key)
    dovecot.kick(mailbox.user)
    with pytest.raises(MailboxError, match="QUIT failed"):
        inbox.close()
    # The pipeline recognises the key it already processed; the server simply kept it.
    assert _server_uidls(mailbox) == [first.key, second.key]
    assert inbox.list_new(limit=10) == [first, second]
    inbox.close()


def test_listing_after_a_lost_session_starts_a_new_one(
    mailbox: UserMailbox, dovecot: Dovecot
) -> None:
    mailbox.append(message(1), message(2))
    with _inbox(mailbox, after="delete") as inbox:
        first, second = inbox.list_new(limit=10)
        inbox.acknowledge(first.key)
        dovecot.kick(mailbox.user)  # as an idle timeout on the server would
        assert inbox.list_new(limit=10) == [first, second]


def test_keep_leaves_messages_on_the_server(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2))
    with _inbox(mailbox, after="keep") as inbox:
        first, second = inbox.list_new(limit=10)
        inbox.acknowledge(first.key)
        # This instance skips what it acknowledged; the pipeline remembers UIDLs for good.
        assert inbox.list_new(limit=10) == [second]
    assert _server_uidls(mailbox) == [first.key, second.key]
    with _inbox(mailbox, after="keep") as fresh:
        assert fresh.list_new(limit=10) == [first, second]


def test_an_unknown_uidl_is_a_mailbox_error(mailbox: UserMailbox) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox) as inbox:
        inbox.list_new(limit=10)
        with pytest.raises(MailboxError, match="no message with UIDL"):
            inbox.download("no-such-uidl")
        with pytest.raises(MailboxError, match="no message with UIDL"):
            inbox.acknowledge("no-such-uidl")


def test_a_wrong_password_is_refused_quickly(mailbox: UserMailbox) -> None:
    inbox = _inbox(mailbox, password="Wr0ng-s3cret")
    started = time.monotonic()
    with pytest.raises(MailboxError, match="refused the login") as refused:
        inbox.list_new(limit=10)
    assert time.monotonic() - started < 3
    assert isinstance(refused.value.__cause__, poplib.error_proto)
    assert "Wr0ng-s3cret" not in str(refused.value)


def test_a_server_that_is_not_listening(mailbox: UserMailbox) -> None:
    (port,) = free_ports(1)
    with pytest.raises(MailboxError, match=r"cannot reach .*: connection refused") as refused:
        _inbox(mailbox, port=port).list_new(limit=10)
    assert isinstance(refused.value.__cause__, OSError)


def test_a_kicked_session_fails_once_then_reconnects(
    mailbox: UserMailbox, dovecot: Dovecot
) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox) as inbox:
        (ref,) = inbox.list_new(limit=10)
        dovecot.kick(mailbox.user)
        with pytest.raises(MailboxError, match="downloading"):
            inbox.download(ref.key)
        assert inbox.download(ref.key) == message(1)


def test_a_connection_cut_in_the_middle_of_a_download(
    mailbox: UserMailbox, dovecot: Dovecot
) -> None:
    big = message(1, body=b"0123456789abcdef\r\n" * 20_000)
    mailbox.append(big)
    proxy = CuttingProxy(dovecot.pop3_port)
    try:
        with _inbox(mailbox, port=proxy.port, after="delete") as inbox:
            (ref,) = inbox.list_new(limit=10)
            proxy.cut_after(50_000)
            with pytest.raises(MailboxError):
                inbox.download(ref.key)
            assert proxy.cuts == 1
            assert inbox.download(ref.key) == big
            inbox.acknowledge(ref.key)
        assert _server_uidls(mailbox) == []
    finally:
        proxy.close()


def test_an_imap_account_is_refused(mailbox: UserMailbox) -> None:
    with pytest.raises(ConfigurationError, match="not a POP3 account"):
        Pop3Inbox(mailbox.account("imap"))


def test_implicit_tls(mailbox: UserMailbox, dovecot: Dovecot) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox, security="tls", port=dovecot.pop3s_port,
                ca_file=dovecot.ca_file) as inbox:
        (ref,) = inbox.list_new(limit=10)
        assert inbox.download(ref.key) == message(1)


def test_starttls(mailbox: UserMailbox, dovecot: Dovecot) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox, security="starttls", ca_file=dovecot.ca_file) as inbox:
        assert len(inbox.list_new(limit=10)) == 1


def test_an_untrusted_certificate_is_refused(mailbox: UserMailbox, dovecot: Dovecot) -> None:
    with pytest.raises(MailboxConfigurationError, match=r"is not trusted \(self-signed"):
        _inbox(mailbox, security="starttls").list_new(limit=10)
