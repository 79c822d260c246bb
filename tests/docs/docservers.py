"""The real servers documentation blocks need, described in environment variables.

A block marked ``<!-- needs: SERVER -->`` reads its server from the environment, with the
production value as the default, the way a host's configuration would. For each run of the
page the harness provides:

``postgresql``
    ``HELPDESK_DATABASE_URL``: a new, empty schema on the server named by
    ``HELPDESK_TEST_DATABASE_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
    dropped after the run. ``Settings.from_env()`` and the ``helpdesk`` command read it.
``smtp``
    ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_SECURITY=none``: a real SMTP server (aiosmtpd) on
    127.0.0.1 that accepts every mail, new for each run.
``dovecot``
    Dovecot on 127.0.0.1 (started once per test session): ``SUPPORT_MAIL_HOST``,
    ``SUPPORT_MAIL_PORT`` (IMAP with implicit TLS), ``SUPPORT_MAIL_PASSWORD``,
    ``RETURNS_MAIL_HOST``, ``RETURNS_MAIL_PORT`` (POP3, upgraded with STLS),
    ``RETURNS_MAIL_PASSWORD`` and ``MAIL_CA_FILE`` (the server's self-signed certificate). One
    new customer mail waits in each account's mailbox at the start of every run.
``kannel``
    Kannel (bearerbox, smsbox, a fake SMSC; started once per test session):
    ``KANNEL_SENDSMS_URL``, ``KANNEL_PASSWORD``, and ``SMS_CALLBACK_URL`` (where Kannel's
    delivery reports go: a recording HTTP server).

A server that cannot be had skips the page locally and fails it when ``CI`` is set, as the
adapters' own tests do. The helpers are the adapters' test helpers (their ``tests`` folders
are put on ``sys.path``), so the docs run against the same servers the adapters are tested on.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from docblocks import ROOT

for _folder in ("helpdesk-sqlalchemy", "helpdesk-mail", "helpdesk-sms"):
    _path = str(ROOT / "adapters" / _folder / "tests")
    if _path not in sys.path:
        sys.path.append(_path)

_mails = itertools.count(1)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(what: str, problem: object) -> None:
    """Skip locally; in CI a missing server is a failure, never a skip."""
    message = f"{what} is needed by this page and could not be had: {problem}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def postgresql() -> Iterator[dict[str, str]]:
    from sa_support import create_pg_schema, drop_pg_schema  # skips, or fails in CI

    schema, url = create_pg_schema()
    try:
        yield {"HELPDESK_DATABASE_URL": url}
    finally:
        drop_pg_schema(schema)


@contextlib.contextmanager
def smtp() -> Iterator[dict[str, str]]:
    from smtp_server import smtp_server

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(smtp_server())
        except Exception as exc:  # an SMTP server that cannot start here
            unavailable("an SMTP server", exc)
        yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "SMTP_SECURITY": "none"}


def _customer_mail(to: str) -> bytes:
    number = next(_mails)
    return (
        f"From: Jana Novakova <jana.novakova@example.cz>\r\n"
        f"To: {to}\r\n"
        f"Subject: Rozbity hrnek {number}\r\n"
        f"Message-ID: <docs-{os.getpid()}-{number}@example.cz>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"\r\n"
        f"Dobry den, zasilka dorazila poskozena.\r\n"
    ).encode()


@contextlib.contextmanager
def dovecot(server: Any) -> Iterator[dict[str, str]]:
    from dovecot_server import UserMailbox

    # The user names the page's accounts log in with; Dovecot creates a mailbox on first login.
    UserMailbox(server, "podpora@example.cz").append(_customer_mail("podpora@example.cz"))
    UserMailbox(server, "retouren@example.de").append(_customer_mail("retouren@example.de"))
    yield {
        "SUPPORT_MAIL_HOST": server.host, "SUPPORT_MAIL_PORT": str(server.imaps_port),
        "SUPPORT_MAIL_PASSWORD": server.password,
        "RETURNS_MAIL_HOST": server.host, "RETURNS_MAIL_PORT": str(server.pop3_port),
        "RETURNS_MAIL_PASSWORD": server.password,
        "MAIL_CA_FILE": server.ca_file,
    }


@contextlib.contextmanager
def kannel(server: Any) -> Iterator[dict[str, str]]:
    yield {"KANNEL_SENDSMS_URL": server.sendsms_url, "KANNEL_PASSWORD": server.password,
           "SMS_CALLBACK_URL": server.callbacks.url}


@contextlib.contextmanager
def running_dovecot() -> Iterator[Any]:
    from dovecot_server import DovecotUnavailable
    from dovecot_server import running_dovecot as start

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(start())
        except DovecotUnavailable as exc:
            unavailable("Dovecot", exc)
        yield server


@contextlib.contextmanager
def running_kannel() -> Iterator[Any]:
    from kannel_server import KannelUnavailable
    from kannel_server import running_kannel as start

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(start())
        except KannelUnavailable as exc:
            unavailable("Kannel", exc)
        yield server
