"""Fetch every configured account once: the body of a cron job or a polling loop.

``fetch_all(helpdesk, accounts)`` runs the core's crash-safe fetch loop over each account's
inbox and returns one ``FetchReport`` per account, in order. A server that fails or cannot be
reached ends only that account's run (its report has ``error`` set); the others still run.
Settings that cannot work (a ``ca_file`` that cannot be read) raise ``ConfigurationError``
before any account is fetched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from helpdesk_core import FetchReport
from helpdesk_core.errors import ConfigurationError
from helpdesk_mail.accounts import MailAccount
from helpdesk_mail.plugin import open_inbox

if TYPE_CHECKING:
    from helpdesk_core.app import Helpdesk
    from helpdesk_core.mail.policy import MailChannel
    from helpdesk_core.ports.messaging import MailInbox

__all__ = ["fetch_all"]

log = logging.getLogger(__name__)


def fetch_all(helpdesk: Helpdesk, accounts: Iterable[MailAccount], *,
              limit: int = 100) -> list[FetchReport]:
    """One run over each account: at most ``limit`` downloads per account.

    Each account's ``max_bytes`` is the size limit of its run (or the policy's
    ``limits.max_bytes`` when that is lower): a larger message is quarantined as "exceeds the
    limit" without being downloaded and stays on the server; the mail behind it is fetched.
    """
    accounts = list(accounts)
    inboxes: list[tuple[MailAccount, MailInbox]] = []
    for account in accounts:
        if account.security != "none":
            account.ssl_context()  # raises ConfigurationError now, not in the middle of a run
        inboxes.append((account, open_inbox(account)))
    reports = []
    for account, inbox in inboxes:
        max_bytes = min(account.max_bytes, helpdesk.mail.max_bytes)
        try:
            report = helpdesk.mail.fetch(inbox, channel=_channel(helpdesk, account),
                                         limit=limit, max_bytes=max_bytes)
        except ConfigurationError:
            raise
        except Exception as exc:  # one broken account must not keep the others waiting
            log.exception("mail account %s: the run failed", account.name)
            report = FetchReport(account=account.name, error=f"{type(exc).__name__}: {exc}")
        reports.append(report)
    return reports


def _channel(helpdesk: Helpdesk, account: MailAccount) -> MailChannel:
    configured = [c for c in helpdesk.mail.channels if c.name == account.name]
    if configured:
        return configured[0]
    log.warning(
        "mail account %s is not in Settings.mail_channels: its defaults apply to this run, but "
        "its addresses are not known as ours and reprocessed mail gets no defaults",
        account.name,
    )
    return account.channel()
