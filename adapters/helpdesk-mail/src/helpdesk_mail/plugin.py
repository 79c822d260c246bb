"""Registers the mail inboxes "imap" and "pop3" and the mail sender "smtp" (entry point
group ``helpdesk_core``).

An inbox factory builds the inbox of the account in ``settings.options["mail_account"]``: a
:class:`MailAccount`, or a mapping for :meth:`MailAccount.from_mapping` whose ``protocol`` may
be left out (the factory's name says it). The sender factory reads
``settings.options["smtp"]``: an :class:`SmtpSettings` or a mapping of its fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.plugins import hookimpl
from helpdesk_mail.accounts import MailAccount
from helpdesk_mail.imap import ImapInbox
from helpdesk_mail.pop3 import Pop3Inbox
from helpdesk_mail.smtp import SmtpSender, SmtpSettings

if TYPE_CHECKING:
    from helpdesk_core.plugins.registry import Registry
    from helpdesk_core.ports.messaging import MailInbox
    from helpdesk_core.settings import Settings

__all__ = ["account_from_settings", "helpdesk_register", "open_inbox", "smtp_from_settings"]

ACCOUNT_OPTION = "mail_account"
SMTP_OPTION = "smtp"


def open_inbox(account: MailAccount) -> MailInbox:
    """The inbox for an account, by its protocol. Nothing connects until the first call."""
    if account.protocol == "imap":
        return ImapInbox(account)
    return Pop3Inbox(account)


def account_from_settings(settings: Settings, protocol: str) -> MailAccount:
    raw = settings.option(ACCOUNT_OPTION)
    if raw is None:
        raise ConfigurationError(
            f"the {protocol} mail inbox needs settings.options[{ACCOUNT_OPTION!r}]"
        )
    if isinstance(raw, MailAccount):
        account = raw
    elif isinstance(raw, Mapping):
        account = MailAccount.from_mapping({"protocol": protocol, **raw})
    else:
        raise ConfigurationError(
            f"settings.options[{ACCOUNT_OPTION!r}] must be a MailAccount or a mapping, "
            f"not {type(raw).__name__}"
        )
    if account.protocol != protocol:
        raise ConfigurationError(
            f"mail account {account.name!r} is {account.protocol}, not {protocol}"
        )
    return account


def _factory(protocol: str) -> Callable[[Settings], MailInbox]:
    def build(settings: Settings) -> MailInbox:
        return open_inbox(account_from_settings(settings, protocol))

    return build


def smtp_from_settings(settings: Settings) -> SmtpSender:
    raw = settings.option(SMTP_OPTION)
    if isinstance(raw, SmtpSettings):
        return SmtpSender(raw)
    if isinstance(raw, Mapping):
        try:
            return SmtpSender(SmtpSettings(**raw))
        except TypeError as exc:
            raise ConfigurationError(f"settings.options[{SMTP_OPTION!r}]: {exc}") from exc
    raise ConfigurationError(
        f"the smtp mail sender needs settings.options[{SMTP_OPTION!r}] (SmtpSettings or a "
        "mapping of its fields)")


@hookimpl
def helpdesk_register(registry: Registry) -> None:
    registry.add_mail_inbox("imap", _factory("imap"))
    registry.add_mail_inbox("pop3", _factory("pop3"))
    registry.add_mail_sender("smtp", smtp_from_settings)
