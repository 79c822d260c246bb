"""One outbox dispatcher in a process of its own, for the fault tests (which SIGKILL it).

``python outbox_child.py '<json>'`` with the keys ``database_url``, ``port`` (the test's SMTP
server), ``lease`` (seconds), ``batch`` and ``deadline`` (seconds from start). It dispatches
until nothing is pending or sending any more (waiting for the leases of killed dispatchers to
run out), then prints its summed ``DispatchReport`` as one JSON line and exits 0. A killed
one prints nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta

import attrs

from helpdesk_core import DispatchPolicy
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain.outbox import OutboxState
from helpdesk_core.services.outbox import DispatchReport
from helpdesk_core.settings import Settings
from helpdesk_mail.smtp import SmtpSender, SmtpSettings

COUNTED = ("claimed", "sent", "retried", "failed", "uncertain", "lost")


def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, migrate=False,
                    options={"sqlite_busy_timeout_ms": 30_000})


def policy(lease: float, batch: int) -> DispatchPolicy:
    return DispatchPolicy(lease=timedelta(seconds=lease), batch=batch,
                          backoff=timedelta(seconds=1), max_backoff=timedelta(seconds=2))


def sender(port: int) -> SmtpSender:
    # The EHLO name tells the test's server which process it is talking to.
    return SmtpSender(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=60,
                                   local_hostname=f"pid{os.getpid()}.test"))


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    until = time.monotonic() + float(config["deadline"])
    total = DispatchReport()
    with bootstrap(settings(config["database_url"]), environ={}) as desk:
        smtp = sender(int(config["port"]))
        rules = policy(float(config["lease"]), int(config["batch"]))
        while time.monotonic() < until:
            report = desk.outbox.dispatch(mail_sender=smtp, policy=rules)
            for name in COUNTED:
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if report.claimed:
                continue
            with desk.storage.unit_of_work(read_only=True) as uow:
                busy = [m for state in (OutboxState.PENDING, OutboxState.SENDING)
                        for m in uow.outbox.find(state=state, limit=1)]
            if not busy:
                break
            time.sleep(0.1)
    print(json.dumps(attrs.asdict(total)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
