"""Registers the mail inboxes "imap" and "pop3" (entry point group ``helpdesk_core``).

A factory builds the inbox of the account in ``settings.options["mail_account"]``: a
:class:`MailAccount`, or a mapping for :meth:`MailAccount.from_mapping` whose ``protocol`` may
be left out (the factory's name says it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.plugins import hookimpl
from helpdesk_mail.accounts import MailAccount
from helpdesk_mail.imap import ImapInbox
from helpdesk_mail.pop3 import Pop3Inbox

if TYPE_CHECKING:
    from helpdesk_core.plugins.registry import Registry
    from helpdesk_core.ports.messaging import MailInbox
    from helpdesk_core.settings import Settings

__all__ = ["account_from_settings", "helpdesk_register", "open_inbox"]

ACCOUNT_OPTION = "mail_account"


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


@hookimpl
def helpdesk_register(registry: Registry) -> None:
    registry.add_mail_inbox("imap", _factory("imap"))
    registry.add_mail_inbox("pop3", _factory("pop3"))
