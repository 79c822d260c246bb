"""Connecting and logging in to IMAP and POP3, against the Dovecot the tests start: what each
failure becomes, so that a wrong setting says what to change and a server that is down or busy
says so (and is not reported as a wrong password)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from dovecot_server import (
    NO_TLS_HOST,
    STRICT_HOST,
    UNAVAILABLE_DOMAIN,
    CuttingProxy,
    Dovecot,
    UserMailbox,
    free_ports,
    message,
)
from helpdesk_core.errors import ConfigurationError, MailboxError
from helpdesk_mail import MailboxConfigurationError, open_inbox


@attrs.frozen
class Failure:
    """How the account is set up (``settings`` from the server and the protocol), and what the
    inbox must raise: its class and words it must say, per protocol."""

    settings: Callable[[Dovecot, str], dict[str, Any]]
    error: type[MailboxError]
    says: dict[str, tuple[str, ...]]
    user: str = ""  # a user name instead of the mailbox's own


def _tls_port(dovecot: Dovecot, protocol: str) -> int:
    return dovecot.imaps_port if protocol == "imap" else dovecot.pop3s_port


def _plain_port(dovecot: Dovecot, protocol: str) -> int:
    return dovecot.imap_port if protocol == "imap" else dovecot.pop3_port


FAILURES: dict[str, Failure] = {
    "wrong password": Failure(
        settings=lambda d, p: {"password": "Wr0ng-s3cret"},
        error=MailboxConfigurationError,
        says={"imap": ("refused the login of", "([AUTHENTICATIONFAILED] Authentication failed.)",
                       "check the username and password"),
              "pop3": ("refused the login of", "([AUTH] Authentication failed.)",
                       "check the username and password")}),
    "password login only over TLS": Failure(
        settings=lambda d, p: {"host": STRICT_HOST},
        error=MailboxConfigurationError,
        says={"imap": ("allows no password login on this connection (LOGINDISABLED)",
                       "use security='starttls' (it offers STARTTLS) or 'tls'",
                       "The password was not sent"),
              "pop3": ("allows no USER/PASS login on this connection (CAPA:", "STLS",
                       "use security='starttls' (it offers STLS) or 'tls'",
                       "The password was not sent")}),
    "no STARTTLS offered": Failure(
        settings=lambda d, p: {"host": NO_TLS_HOST, "security": "starttls",
                               "ca_file": d.ca_file},
        error=MailboxConfigurationError,
        says={"imap": ("does not offer STARTTLS (capabilities: IMAP4REV1",
                       "use security='tls' if it expects TLS from the start (usually port 993)"),
              "pop3": ("does not offer STLS (CAPA: ",
                       "use security='tls' if it expects TLS from the start (usually port 995)")}),
    "certificate not trusted (implicit TLS)": Failure(
        settings=lambda d, p: {"security": "tls", "port": _tls_port(d, p)},
        error=MailboxConfigurationError,
        says={p: ("is not trusted (self-signed certificate)", "ca_file=")
              for p in ("imap", "pop3")}),
    "certificate not trusted (STARTTLS)": Failure(
        settings=lambda d, p: {"security": "starttls"},
        error=MailboxConfigurationError,
        says={p: ("is not trusted (self-signed certificate)", "ca_file=")
              for p in ("imap", "pop3")}),
    "implicit TLS to a port without TLS": Failure(
        settings=lambda d, p: {"security": "tls", "ca_file": d.ca_file},
        error=MailboxConfigurationError,
        says={"imap": ("does not answer with TLS (WRONG_VERSION_NUMBER)",
                       "did you mean security='starttls' (usually port 143)?"),
              "pop3": ("does not answer with TLS (WRONG_VERSION_NUMBER)",
                       "did you mean security='starttls' (usually port 110)?")}),
    "login impossible for now": Failure(
        settings=lambda d, p: {}, user=f"someone@{UNAVAILABLE_DOMAIN}",
        error=MailboxError,
        says={"imap": ("cannot log in", "now ([UNAVAILABLE] Temporary authentication failure",
                       "the next run tries again"),
              "pop3": ("cannot log in", "now ([SYS/TEMP] Temporary authentication failure",
                       "the next run tries again")}),
    "plain text to a port that expects TLS at once": Failure(
        settings=lambda d, p: {"port": _tls_port(d, p), "timeout": 0.5},
        error=MailboxError,
        says={"imap": ("did not answer within 0.5 s (connecting)",
                       "usually port 993) stays silent: security='tls'?"),
              "pop3": ("did not answer within 0.5 s (connecting)",
                       "usually port 995) stays silent: security='tls'?")}),
    "server not listening": Failure(
        settings=lambda d, p: {"port": free_ports(1)[0]},
        error=MailboxError,
        says={p: ("cannot reach 127.0.0.1:", "connection refused") for p in ("imap", "pop3")}),
}


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
@pytest.mark.parametrize("case", list(FAILURES))
def test_each_login_failure_has_its_message(case: str, protocol: str, dovecot: Dovecot,
                                            mailbox: UserMailbox) -> None:
    failure = FAILURES[case]
    settings = {"port": _plain_port(dovecot, protocol), **failure.settings(dovecot, protocol)}
    if failure.user:
        settings["username"] = failure.user
    account = mailbox.account(protocol, **settings)
    inbox = open_inbox(account)
    started = time.monotonic()
    with pytest.raises(MailboxError) as caught:
        inbox.list_new(limit=10)
    assert time.monotonic() - started < 3
    error = caught.value
    assert type(error) is failure.error, str(error)
    assert isinstance(error, ConfigurationError) is (failure.error is MailboxConfigurationError)
    assert str(error).startswith(f"{protocol.upper()} account 'test-{protocol}': ")
    for words in failure.says[protocol]:
        assert words in str(error)
    assert dovecot.password not in str(error)
    assert "Wr0ng-s3cret" not in str(error)
    inbox.close()


def _login_attempts_from(dovecot: Dovecot, host: str) -> list[str]:
    return [line for line in dovecot.log().splitlines()
            if f"lip={host}," in line and "-login: Info: Disconnected" in line]


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_the_password_is_not_sent_where_the_server_refuses_plain_text(
        protocol: str, dovecot: Dovecot, mailbox: UserMailbox) -> None:
    before = len(_login_attempts_from(dovecot, STRICT_HOST))
    inbox = open_inbox(mailbox.account(protocol, host=STRICT_HOST))
    with pytest.raises(MailboxConfigurationError):
        inbox.list_new(limit=10)
    deadline = time.monotonic() + 5
    while len(_login_attempts_from(dovecot, STRICT_HOST)) == before:
        assert time.monotonic() < deadline, "Dovecot logged no disconnect"
        time.sleep(0.05)
    [line] = _login_attempts_from(dovecot, STRICT_HOST)[before:]
    assert "(no auth attempts" in line  # it was never asked to check a password


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_the_same_server_takes_the_login_over_starttls(protocol: str, dovecot: Dovecot,
                                                       mailbox: UserMailbox) -> None:
    mailbox.append(message(1))
    inbox = open_inbox(mailbox.account(protocol, host=STRICT_HOST, security="starttls",
                                       ca_file=dovecot.ca_file))
    try:
        assert len(inbox.list_new(limit=10)) == 1
    finally:
        inbox.close()


@pytest.mark.parametrize(("protocol", "command"), [("imap", b"LOGIN "), ("pop3", b"PASS ")])
def test_a_connection_that_breaks_at_the_login_is_no_refused_login(
        protocol: str, command: bytes, dovecot: Dovecot, mailbox: UserMailbox) -> None:
    proxy = CuttingProxy(_plain_port(dovecot, protocol))
    try:
        proxy.cut_on(command)
        inbox = open_inbox(mailbox.account(protocol, port=proxy.port))
        with pytest.raises(MailboxError) as caught:
            inbox.list_new(limit=10)
        assert proxy.cuts == 1
        assert not isinstance(caught.value, ConfigurationError), str(caught.value)
        assert "closed the connection during the login" in str(caught.value)
        assert "refused the login" not in str(caught.value)
        inbox.close()
    finally:
        proxy.close()
