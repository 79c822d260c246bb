"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) whose faults the tests choose."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import attrs
from aiosmtpd.controller import Controller


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

    ``"421-mail"`` / ``"451-data"`` / ``"550-data"``: that reply; ``"drop-after-data"``: store
    the message, then close the connection without answering; ``refuse`` / ``defer``:
    recipients answered 550 / 451.
    """

    def __init__(self) -> None:
        self.fault: str | None = None
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str],
    ) -> str:
        if self.fault == "421-mail":
            return "421 4.3.2 Service shutting down"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str],
    ) -> str:
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


class SmtpServer:
    def __init__(self) -> None:
        self.handler = FaultyHandler()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     decode_data=False)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
