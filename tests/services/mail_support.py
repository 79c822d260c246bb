"""Building raw mails (and a helpdesk to receive them) for the ingest tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain import Contact
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.mail.policy import MailPolicy

_ids = itertools.count(1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def world(policy: MailPolicy) -> tuple[Helpdesk, FakeClock]:
    """A helpdesk of its own (clock at :data:`T0`, directory): Jana and Petr are customers."""
    shop = InMemoryDirectory()
    shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                     language="cs"))
    shop.add_customer(Contact.create(name="Petr Svoboda", email="petr@example.cz",
                                     language="cs"))
    clock = FakeClock(T0)
    desk = bootstrap(Settings(storage="memory", autoload_plugins=False, mail_policy=policy),
                     directory=shop, clock=clock, environ={})
    return desk, clock


def raw_mail(
    *,
    sender: str = "Jana Nováková <jana@example.cz>",
    to: str = "support@shop.example",
    subject: str = "Rychlovarná konvice nefunguje",
    body: str = "Dobrý den,\nkonvice po týdnu přestala hřát.\nJana",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    trace: str = "",
) -> bytes:
    """A plain mail as a customer's client would send it. ``trace`` adds delivery headers
    (Received, Delivered-To) that differ between two deliveries of one message."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    msg["Message-ID"] = message_id or f"<m{next(_ids)}@mail.example.cz>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    data = bytes(msg)
    if trace:
        data = (f"Delivered-To: {trace}\r\nReceived: from mx.{trace.split('@')[-1]} by "
                f"imap; Mon, 2 Mar 2026 08:31:00 +0000\r\n").encode() + data
    return data
