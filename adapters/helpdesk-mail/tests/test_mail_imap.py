"""ImapInbox against a real Dovecot: listing, download, acknowledge modes, failures."""

from __future__ import annotations

import time

import pytest
from imapclient.exceptions import LoginError

from dovecot_server import CuttingProxy, Dovecot, UserMailbox, free_ports, message
from helpdesk_core.errors import ConfigurationError, MailboxError
from helpdesk_core.ports.messaging import MailInbox, MailRef
from helpdesk_mail import ImapInbox, MailboxConfigurationError, MessageTooLarge
from helpdesk_mail.imap import DONE_KEYWORD

SEEN = b"\\Seen"
DELETED = b"\\Deleted"


def _inbox(mailbox: UserMailbox, **overrides: object) -> ImapInbox:
    return ImapInbox(mailbox.account("imap", **overrides))


def _uidvalidity(refs: list[MailRef]) -> set[str]:
    return {ref.key.split(":")[0] for ref in refs}


# -- listing and download --------------------------------------------------------------------


def test_the_inbox_is_a_mail_inbox(mailbox: UserMailbox) -> None:
    inbox: MailInbox = _inbox(mailbox)  # checked by mypy
    assert inbox.account == "test-imap"
    assert inbox.list_new(limit=10) == []
    inbox.close()


def test_lists_keys_and_sizes_oldest_first(mailbox: UserMailbox) -> None:
    messages = [message(1), message(2, body=b"x" * 500 + b"\r\n"), message(3)]
    mailbox.append(*messages)
    with _inbox(mailbox) as inbox:
        refs = inbox.list_new(limit=10)
        assert [ref.size for ref in refs] == [len(data) for data in messages]
        uids = [int(ref.key.split(":")[1]) for ref in refs]
        assert uids == sorted(uids)
        assert len(_uidvalidity(refs)) == 1
        assert inbox.list_new(limit=2) == refs[:2]
        assert inbox.list_new(limit=0) == []
        assert [inbox.download(ref.key) for ref in refs] == messages


def test_new_mail_shows_up_in_the_next_listing(mailbox: UserMailbox) -> None:
    with _inbox(mailbox) as inbox:
        assert inbox.list_new(limit=10) == []
        mailbox.append(message(1))
        assert len(inbox.list_new(limit=10)) == 1


def test_download_returns_the_exact_bytes_and_does_not_set_seen(mailbox: UserMailbox) -> None:
    data = (
        b"From: =?utf-8?q?Jana_Nov=C3=A1kov=C3=A1?= <jana@example.cz>\r\n"
        b"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "Dobrý den, zásilka dorazila poškozená.\r\n".encode()
        + b".a line starting with a dot\r\n.\r\n" + b"y" * 5000 + b"\r\n"
    )
    mailbox.append(data)
    with _inbox(mailbox) as inbox:
        (ref,) = inbox.list_new(limit=10)
        assert ref.size == len(data)
        assert inbox.download(ref.key) == data
        assert inbox.list_new(limit=10) == [ref]
    ((flags, body),) = mailbox.contents().values()
    assert SEEN not in flags
    assert body == data


def test_the_size_limit_is_visible_before_download(mailbox: UserMailbox) -> None:
    big = message(1, body=b"z" * 4000 + b"\r\n")
    small = message(2)
    mailbox.append(big, small)
    with _inbox(mailbox, max_bytes=1000) as inbox:
        first, second = inbox.list_new(limit=10)
        assert first.size == len(big) > 1000
        assert second.size == len(small) <= 1000
        with pytest.raises(MessageTooLarge) as refused:
            inbox.download(first.key)
        assert (refused.value.size, refused.value.limit) == (len(big), 1000)
        assert isinstance(refused.value, MailboxError)
        assert inbox.download(second.key) == small  # the connection is still usable


# -- acknowledge ---------------------------------------------------------------------------


def test_acknowledge_flag_hides_the_message_and_keeps_it(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2))
    with _inbox(mailbox, after="flag") as inbox:
        first, second = inbox.list_new(limit=10)
        inbox.acknowledge(first.key)
        assert inbox.list_new(limit=10) == [second]
    with _inbox(mailbox, after="flag") as fresh:
        assert fresh.list_new(limit=10) == [second]
    flags = [flags for flags, _ in mailbox.contents().values()]
    assert flags == [{DONE_KEYWORD, SEEN}, set()]


def test_flag_mode_refuses_a_folder_that_cannot_keep_keywords(mailbox: UserMailbox) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox, after="flag") as inbox:
        inbox.list_new(limit=10)
        client = inbox._client
        real_select = client.select_folder

        def without_keywords(folder: str) -> dict[bytes, object]:
            info: dict[bytes, object] = real_select(folder)
            info[b"PERMANENTFLAGS"] = (b"\\Seen", b"\\Deleted")
            return info

        client.select_folder = without_keywords
        with pytest.raises(MailboxError, match="cannot keep the keyword"):
            inbox.list_new(limit=10)


def test_acknowledge_move_puts_the_message_in_the_target_folder(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2), message(3))
    with _inbox(mailbox, after="move", move_to="Processed") as inbox:
        first, second, third = inbox.list_new(limit=10)
        inbox.acknowledge(first.key)  # creates the folder
        inbox.acknowledge(third.key)
        assert inbox.list_new(limit=10) == [second]
    assert mailbox.bodies("Processed") == [message(1), message(3)]
    assert mailbox.bodies("INBOX") == [message(2)]


def test_acknowledge_move_without_the_move_capability(
    mailbox: UserMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImapInbox, "_supports_move", staticmethod(lambda client: False))
    mailbox.append(message(1), message(2))
    # Someone else's \Deleted message must survive our expunge.
    mailbox.append(message(9), flags=(DELETED,))
    with _inbox(mailbox, after="move", move_to="Done") as inbox:
        first, second = inbox.list_new(limit=10)
        inbox.acknowledge(first.key)
        assert inbox.list_new(limit=10) == [second]
    assert mailbox.bodies("Done") == [message(1)]
    assert mailbox.bodies("INBOX") == [message(2), message(9)]


def test_acknowledge_delete_expunges_only_that_message(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), message(2))
    mailbox.append(message(9), flags=(DELETED,))
    with _inbox(mailbox, after="delete") as inbox:
        first, second = inbox.list_new(limit=10)  # the \Deleted one is not listed
        inbox.acknowledge(first.key)
        assert inbox.list_new(limit=10) == [second]
    assert mailbox.bodies() == [message(2), message(9)]


def test_other_folders_can_be_read(mailbox: UserMailbox) -> None:
    mailbox.append(message(1), folder="Support")
    mailbox.append(message(2))
    with _inbox(mailbox, folder="Support") as inbox:
        (ref,) = inbox.list_new(limit=10)
        assert inbox.download(ref.key) == message(1)


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stay_connected", [True, False])
def test_a_new_uidvalidity_gives_new_keys_and_refuses_old_ones(
    mailbox: UserMailbox, stay_connected: bool
) -> None:
    mailbox.append(message(1), message(2), folder="Support")
    inbox = _inbox(mailbox, folder="Support")
    old = inbox.list_new(limit=10)
    if not stay_connected:
        inbox.close()
    # Recreating the folder makes Dovecot assign a new UIDVALIDITY to the same messages.
    with mailbox.client() as client:
        client.delete_folder("Support")
    mailbox.append(message(1), message(2), folder="Support")
    new = inbox.list_new(limit=10)
    assert [ref.size for ref in new] == [ref.size for ref in old]
    assert _uidvalidity(new) != _uidvalidity(old)
    assert not {ref.key for ref in new} & {ref.key for ref in old}
    with pytest.raises(MailboxError, match="UIDVALIDITY"):
        inbox.download(old[0].key)
    with pytest.raises(MailboxError, match="UIDVALIDITY"):
        inbox.acknowledge(old[0].key)
    assert inbox.download(new[0].key) == message(1)
    inbox.close()


@pytest.mark.parametrize("key", ["17", "abc:1", "1:", ":5", "1:2:3"])
def test_a_malformed_key_is_refused(mailbox: UserMailbox, key: str) -> None:
    with _inbox(mailbox) as inbox, pytest.raises(MailboxError, match="not an IMAP message key"):
        inbox.download(key)


def test_a_message_that_vanished_is_a_mailbox_error(mailbox: UserMailbox) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox) as inbox:
        (ref,) = inbox.list_new(limit=10)
        with mailbox.client() as client:
            client.select_folder("INBOX")
            client.delete_messages(client.search())
            client.expunge()
        with pytest.raises(MailboxError, match="no longer in"):
            inbox.download(ref.key)


# -- failures --------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_quickly(mailbox: UserMailbox) -> None:
    inbox = _inbox(mailbox, password="Wr0ng-s3cret")
    started = time.monotonic()
    with pytest.raises(MailboxError, match="refused the login") as refused:
        inbox.list_new(limit=10)
    assert time.monotonic() - started < 3
    assert isinstance(refused.value.__cause__, LoginError)
    assert "Wr0ng-s3cret" not in str(refused.value)
    assert mailbox.server.password not in str(refused.value)


def test_a_server_that_is_not_listening(mailbox: UserMailbox) -> None:
    (port,) = free_ports(1)
    with pytest.raises(MailboxError, match=r"cannot reach .*: connection refused") as refused:
        _inbox(mailbox, port=port).list_new(limit=10)
    assert isinstance(refused.value.__cause__, OSError)


def test_a_kicked_connection_fails_once_then_reconnects(
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
    big = message(1, body=b"0123456789abcdef" * 20_000 + b"\r\n")
    mailbox.append(big)
    proxy = CuttingProxy(dovecot.imap_port)
    try:
        with _inbox(mailbox, port=proxy.port) as inbox:
            (ref,) = inbox.list_new(limit=10)
            proxy.cut_after(50_000)
            with pytest.raises(MailboxError) as failed:
                inbox.download(ref.key)
            assert proxy.cuts == 1
            assert not isinstance(failed.value, MessageTooLarge)
            assert inbox.download(ref.key) == big
            inbox.acknowledge(ref.key)
            assert inbox.list_new(limit=10) == []
    finally:
        proxy.close()


def test_close_twice_and_after_a_failure(mailbox: UserMailbox) -> None:
    inbox = _inbox(mailbox)
    inbox.close()
    assert inbox.list_new(limit=1) == []
    inbox.close()
    inbox.close()


def test_a_pop3_account_is_refused(mailbox: UserMailbox) -> None:
    with pytest.raises(ConfigurationError, match="not an IMAP account"):
        ImapInbox(mailbox.account("pop3"))


# -- TLS ---------------------------------------------------------------------------------


def test_implicit_tls(mailbox: UserMailbox, dovecot: Dovecot) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox, security="tls", port=dovecot.imaps_port,
                ca_file=dovecot.ca_file) as inbox:
        (ref,) = inbox.list_new(limit=10)
        assert inbox.download(ref.key) == message(1)


def test_starttls(mailbox: UserMailbox, dovecot: Dovecot) -> None:
    mailbox.append(message(1))
    with _inbox(mailbox, security="starttls", ca_file=dovecot.ca_file) as inbox:
        assert len(inbox.list_new(limit=10)) == 1


def test_an_untrusted_certificate_is_refused(mailbox: UserMailbox, dovecot: Dovecot) -> None:
    with pytest.raises(MailboxConfigurationError, match=r"is not trusted \(self-signed"):
        _inbox(mailbox, security="tls", port=dovecot.imaps_port).list_new(limit=10)



def test_a_missing_ca_file_is_a_configuration_error(mailbox: UserMailbox,
                                                    dovecot: Dovecot) -> None:
    inbox = _inbox(mailbox, security="tls", port=dovecot.imaps_port,
                   ca_file=str(dovecot.root / "missing.pem"))
    with pytest.raises(ConfigurationError, match="ca_file"):
        inbox.list_new(limit=10)
