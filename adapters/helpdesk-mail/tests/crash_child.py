"""One fetch run in a process of its own, which can die by SIGKILL at a chosen point.

``python crash_child.py '<json>'`` with the keys:

``account``        the ``MailAccount`` fields
``database_url``   the test's SQLite file
``kill``           ``null`` or ``{"at": POINT, "nth": N}``: die at the N-th time POINT is reached
``poison``         ``null`` or an address for which the host directory raises
``max_attempts``   ``MailPolicy.max_attempts``
``limit``          passed to ``fetch_all``

POINT is one of

``after_download``     the N-th download returned; nothing of that mail is staged yet
``before_handle``      the N-th mail is staged (its bytes committed), its handling not begun
``after_handle``       the N-th mail's outcome is committed; the server was not told yet
``after_acknowledge``  the server carried out the N-th acknowledge; the row is not marked yet

A run that was not killed prints its ``FetchReport`` as one JSON line and exits 0. The test
module imports ``settings`` and ``PoisonDirectory`` from here, so both sides of a test build
the helpdesk alike.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import attrs

from helpdesk_core import StorageDirectory
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain.contacts import Contact
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.ports.directory import Directory
from helpdesk_core.ports.storage import Storage
from helpdesk_core.services.mail_ingest import MailIngest
from helpdesk_core.settings import Settings
from helpdesk_mail import MailAccount, fetch_all, plugin, runner

POINTS = ("after_download", "before_handle", "after_handle", "after_acknowledge")
OWN_ADDRESSES = ("podpora@eshop.example.cz", "support@eshop.example.de")
MESSAGE_ID_DOMAIN = "helpdesk.eshop.example.cz"


def settings(database_url: str, *accounts: MailAccount, max_attempts: int = 3) -> Settings:
    return Settings(
        database_url=database_url,
        mail_channels=tuple(account.channel() for account in accounts),
        mail_policy=MailPolicy(own_addresses=OWN_ADDRESSES, message_id_domain=MESSAGE_ID_DOMAIN,
                               max_attempts=max_attempts),
    )


class PoisonDirectory:
    """The built-in directory, except that looking up one address raises (a host bug)."""

    def __init__(self, inner: Directory, poison: str) -> None:
        self._inner = inner
        self.poison = poison

    def customer_by_email(self, email: str) -> Contact | None:
        if email == self.poison:
            raise RuntimeError(f"the customer database cannot read {email}")
        return self._inner.customer_by_email(email)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def poisoned(poison: str) -> Callable[[Storage], Directory]:
    def build(storage: Storage) -> Directory:
        return PoisonDirectory(StorageDirectory(storage), poison)

    return build


class Fuse:
    """Kills this process when the armed point is reached for the N-th time."""

    def __init__(self, at: str, nth: int) -> None:
        if at not in POINTS:
            raise SystemExit(f"unknown kill point {at!r}")
        self.at = at
        self.left = nth

    def reached(self, point: str) -> None:
        if point != self.at:
            return
        self.left -= 1
        if self.left == 0:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def install(fuse: Fuse) -> None:
    """Wrap the functions the fetch loop calls; only this process is affected."""
    receive = MailIngest.receive  # what the fetch loop calls for each mail

    @functools.wraps(receive)
    def receive_mail(*args: Any, **kwargs: Any) -> Any:
        fuse.reached("before_handle")
        outcome = receive(*args, **kwargs)
        fuse.reached("after_handle")
        return outcome

    MailIngest.receive = receive_mail  # type: ignore[method-assign]

    open_inbox = plugin.open_inbox

    def open_dying_inbox(account: MailAccount) -> Any:
        inbox = open_inbox(account)
        download, acknowledge = inbox.download, inbox.acknowledge

        def dying_download(key: str) -> bytes:
            data = download(key)
            fuse.reached("after_download")
            return data

        def dying_acknowledge(key: str) -> None:
            acknowledge(key)
            fuse.reached("after_acknowledge")

        inbox.download = dying_download  # type: ignore[method-assign]
        inbox.acknowledge = dying_acknowledge  # type: ignore[method-assign]
        return inbox

    setattr(runner, "open_inbox", open_dying_inbox)  # noqa: B010 - where fetch_all looks


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    account = MailAccount(**config["account"])
    if config.get("kill"):
        install(Fuse(config["kill"]["at"], int(config["kill"]["nth"])))
    poison = config.get("poison")
    # The test created the schema already.
    desk = bootstrap(
        attrs.evolve(settings(config["database_url"], account,
                              max_attempts=config.get("max_attempts", 3)), migrate=False),
        directory_factory=poisoned(poison) if poison else None,
        environ={},
    )
    with desk:
        (report,) = fetch_all(desk, [account], limit=config.get("limit", 100))
    print(json.dumps(attrs.asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
