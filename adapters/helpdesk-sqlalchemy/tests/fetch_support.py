"""Several fetcher processes on one mailbox: a mailbox they can share, and the worker.

``DirectoryInbox`` is a mailbox on disk that any number of processes can read at once, like
one IMAP folder: one ``.eml`` file per message (the file name is the key), acknowledged by
renaming it to ``.done`` (atomic; acknowledging twice is harmless, as flagging twice is).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from helpdesk_core.errors import MailboxError
from helpdesk_core.ports.messaging import MailRef


class DirectoryInbox:
    def __init__(self, path: str | Path, account: str = "shared") -> None:
        self.path = Path(path)
        self.account = account

    def deliver(self, number: int, data: bytes) -> str:
        key = f"{number:06d}"
        (self.path / f"{key}.eml").write_bytes(data)
        return key

    def list_new(self, *, limit: int) -> list[MailRef]:
        refs = []
        for entry in sorted(self.path.glob("*.eml")):
            try:
                refs.append(MailRef(entry.stem, entry.stat().st_size))
            except FileNotFoundError:  # acknowledged by another worker meanwhile
                continue
        return refs[:limit]

    def download(self, key: str) -> bytes:
        for suffix in (".eml", ".done"):  # still readable after another worker's flag
            try:
                return (self.path / f"{key}{suffix}").read_bytes()
            except FileNotFoundError:
                continue
        raise MailboxError(f"no message {key}")

    def acknowledge(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # flagged by another worker
            os.replace(self.path / f"{key}.eml", self.path / f"{key}.done")

    def close(self) -> None:
        pass

    def remaining(self) -> int:
        return len(list(self.path.glob("*.eml")))


def fetch_mail(number: int) -> bytes:
    """A healthy mail from a sender of its own; every fifth sender writes twice (a second
    mail of one new sender races for the same new contact)."""
    sender = f"c{number - number % 5 if number % 5 == 1 else number}@example.org"
    return (f"From: {sender}\r\nTo: support@shop.example\r\nSubject: Dotaz {number}\r\n"
            f"Message-ID: <race-{number}@example.org>\r\n"
            "Date: Mon, 2 Mar 2026 08:30:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Dobrý den, konvice nehřeje.\r\n").encode()


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.failures.append(record.getMessage())


def fetch_worker(url: str, inbox_path: str, start: Any, results: Any, worker: int,
                 options: dict[str, Any] | None = None) -> None:
    """Fetch from the shared inbox until it is empty; reports (worker, totals, errors)."""
    from helpdesk_core import Settings, bootstrap
    from helpdesk_core.mail.policy import MailPolicy

    totals = {"processed": 0, "failed": 0, "quarantined": 0, "lost_races": 0,
              "acknowledged": 0, "runs": 0}
    errors: list[str] = []
    counter = _Count()
    logging.getLogger("helpdesk_core.mail").addHandler(counter)
    helpdesk = None
    try:
        helpdesk = bootstrap(Settings(database_url=url, migrate=False, options=options or {},
                                      mail_policy=MailPolicy(
                                          own_addresses=frozenset({"support@shop.example"}),
                                          message_id_domain="helpdesk.shop.example")),
                             environ={})
        inbox = DirectoryInbox(inbox_path)
        start.wait(120)
        deadline = time.monotonic() + 600
        while inbox.remaining() and time.monotonic() < deadline:
            report = helpdesk.mail.fetch(inbox, limit=50)
            totals["runs"] += 1
            for name in totals:
                if name != "runs":
                    totals[name] += getattr(report, name)
            if report.error:
                errors.append(report.error)
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    finally:
        if helpdesk is not None:
            helpdesk.close()
        errors += counter.failures
        results.put((worker, totals, errors))
