"""Processes that merge tickets and ingest replies on one database, for the merge races.

Spawned by ``test_sqlalchemy_merge_concurrency.py``: everything here must be importable.
A worker bootstraps its own Helpdesk on the shared database, as a host's web worker or mail
fetcher would. To force an interleaving, a worker may *hold* its transaction: an
in-transaction bus handler (registered only in that process) creates a signal file and then
sleeps before the commit, with every ticket it loaded still locked; the other worker waits
for the file before it starts, so it runs into the held transaction.
"""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from helpdesk_core.domain.history import EventKind

CUSTOMER = "jana@example.cz"
MAIL_OPTIONS: dict[str, Any] = {}


def customer_mail(subject: str, body: str, *, message_id: str, sender: str = CUSTOMER,
                  in_reply_to: str | None = None) -> bytes:
    """A plain mail from the customer, as her mail client sends it."""
    from datetime import UTC, datetime

    msg = EmailMessage()
    msg["From"] = f"Jana Nováková <{sender}>"
    msg["To"] = "support@shop.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return bytes(msg)


def settings(url: str) -> Any:
    from helpdesk_core import Settings
    from helpdesk_core.mail.policy import MailPolicy

    return Settings(database_url=url, migrate=False,
                    mail_policy=MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                                           message_id_domain="helpdesk.shop.example",
                                           new_ticket_limit=None))


def _wait_for(path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)


def merge_race_worker(url: str, pairs: list[tuple[str, str]], start: Any, results: Any,
                      worker: int) -> None:
    """For each (target, source): wait at the barrier with the other worker, then merge.
    Reports ``(worker, [(target, source, outcome), ...], setup_error)``; outcome is "ok" or
    the exception's class name and message."""
    from helpdesk_core import Actor, bootstrap

    outcomes: list[tuple[str, str, str]] = []
    problem = None
    helpdesk = None
    try:
        helpdesk = bootstrap(settings(url), environ={})
        agent = Actor.agent(f"agent-{worker}")
        for target, source in pairs:
            start.wait(60)
            try:
                helpdesk.tickets.merge(target, [source], actor=agent)
                outcomes.append((target, source, "ok"))
            except Exception as error:
                outcomes.append((target, source, f"{type(error).__name__}: {error}"))
    except Exception as error:
        problem = f"{type(error).__name__}: {error}"
    finally:
        if helpdesk is not None:
            helpdesk.close()
        results.put((worker, outcomes, problem))


def interleaved_worker(url: str, role: str, rounds: list[dict[str, Any]], results: Any
                       ) -> None:
    """One side of reply/merge races, round after round. ``role``: "merge" (each round's
    ``target``, ``source``) or "ingest" (``raw``). A round starts once the file ``go`` exists
    (after this worker created ``ready``); ``hold``: hold the commit that many seconds after
    creating ``signal``; ``wait_for``: start only once that file exists. Reports
    ``(role, round, outcome, finished)`` per round (outcome: "reply <ticket number>", "ok"
    for a merge, or the error)."""
    from helpdesk_core import Actor, bootstrap

    helpdesk = None
    current: dict[str, Any] = {}

    def hold(raised: Any, unit: Any) -> None:
        if current.get("hold"):
            Path(current["signal"]).touch()
            time.sleep(current["hold"])

    try:
        helpdesk = bootstrap(settings(url), environ={})
        kinds = [EventKind.MERGED] if role == "merge" else [EventKind.ARTICLE_ADDED]
        helpdesk.bus.in_transaction("test_hold", hold, kinds=kinds)
        for i, args in enumerate(rounds):
            current.clear()
            current.update(args)
            Path(args["ready"]).touch()
            outcome = ""
            try:
                _wait_for(args["go"])
                if args.get("wait_for"):
                    _wait_for(args["wait_for"])
                if role == "merge":
                    helpdesk.tickets.merge(args["target"], [args["source"]],
                                           actor=Actor.agent("eva"))
                    outcome = "ok"
                else:
                    result = helpdesk.mail.receive(args["raw"])
                    outcome = f"{result.outcome} {result.ticket_number}"
            except Exception as error:
                outcome = f"{type(error).__name__}: {error}"
            results.put((role, i, outcome, time.monotonic()))
    except Exception as error:
        results.put((role, -1, f"setup {type(error).__name__}: {error}", 0.0))
    finally:
        if helpdesk is not None:
            helpdesk.close()
