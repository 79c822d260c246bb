"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) whose faults the tests choose."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@attrs.define
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class FaultyHandler:
    """Accepts mail, or fails the way ``fault`` says:

    ``"421-mail"`` / ``"451-mail"`` / ``"553-mail"`` / ``"451-data"`` / ``"550-data"``: that
    reply; ``"drop-after-data"``: store the message, then close the connection without
    answering; ``"close-at-rcpt"``: close the connection instead of answering RCPT;
    ``"slow-rcpt"``: answer RCPT after ``delay`` seconds; ``refuse`` / ``defer``: recipients
    answered 550 / 451.
    """

    def __init__(self) -> None:
        self.fault: str | None = None
        self.delay = 2.0
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str],
    ) -> str:
        if self.fault == "421-mail":
            return "421 4.3.2 Service shutting down"
        if self.fault == "451-mail":
            return "451 4.3.0 Sender check failed, try later"
        if self.fault == "553-mail":
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str],
    ) -> str:
        if self.fault == "close-at-rcpt":
            server.transport.close()
            return "421 4.3.2 Closing"  # never reaches the client
        if self.fault == "slow-rcpt":
            await asyncio.sleep(self.delay)
        if address in self.refuse:
            return "550 5.1.1 No such user"
        if address in self.defer:
            return "451 4.2.0 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any,
    ) -> str:
        if self.fault == "451-data":
            return "451 4.3.0 Temporary failure"
        if self.fault == "550-data":
            return "550 5.7.1 Message rejected as spam"
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
        if self.fault == "drop-after-data":
            server.transport.abort()  # the client never hears the answer
        return "250 Message accepted"


class XOAuthOnlyHandler(FaultyHandler):
    """Offers AUTH XOAUTH2 (start it with ``auth_exclude_mechanism=["LOGIN", "PLAIN"]``)."""

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:  # noqa: N802
        return None


class FaultySMTP(SMTP):
    """aiosmtpd's server with the two answers its options cannot change: the greeting and the
    reply to STARTTLS."""

    greeting: str | None = None
    starttls_reply: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._greeted = False

    async def push(self, status: Any) -> None:
        if not self._greeted and self.greeting is not None:
            self._greeted = True
            await super().push(self.greeting)
            assert self.transport is not None
            self.transport.close()
            return
        self._greeted = True
        await super().push(status)

    async def smtp_STARTTLS(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command names
        if self.starttls_reply is not None:
            await super().push(self.starttls_reply)
            return
        await super().smtp_STARTTLS(arg)


class FaultyController(Controller):
    def __init__(self, handler: Any, *, greeting: str | None = None,
                 starttls_reply: str | None = None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.greeting = greeting
        self.starttls_reply = starttls_reply

    def factory(self) -> SMTP:
        smtp = FaultySMTP(self.handler, **self.SMTP_kwargs)
        smtp.greeting = self.greeting
        smtp.starttls_reply = self.starttls_reply
        return smtp


class SmtpServer:
    """``options`` go to aiosmtpd's SMTP (``tls_context``, ``authenticator`` ...), or to
    FaultyController (``greeting``, ``starttls_reply``)."""

    def __init__(self, handler: FaultyHandler | None = None, **options: Any) -> None:
        self.handler = handler or FaultyHandler()
        self.port = free_port()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = FaultyController(self.handler, hostname="127.0.0.1", port=self.port,
                                           decode_data=False, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def smtp_server(handler: FaultyHandler | None = None, **options: Any) -> Iterator[SmtpServer]:
    server = SmtpServer(handler, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
