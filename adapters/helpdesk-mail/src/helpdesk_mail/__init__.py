"""IMAP and POP3 inboxes and SMTP delivery for helpdesk_core.

Install ``helpdesk-mail``; the plugin registers the mail inboxes ``"imap"`` and ``"pop3"`` and
the mail sender ``"smtp"`` through the ``helpdesk_core`` entry-point group. Or build one directly:
``open_inbox(MailAccount(...))``. ``fetch_all(helpdesk, accounts)`` runs the core's fetch loop
over every account once.
"""

from helpdesk_mail.accounts import MailAccount
from helpdesk_mail.errors import MailboxConfigurationError, MessageTooLarge, SmtpConfigurationError
from helpdesk_mail.imap import ImapInbox
from helpdesk_mail.plugin import open_inbox
from helpdesk_mail.pop3 import Pop3Inbox
from helpdesk_mail.runner import fetch_all
from helpdesk_mail.smtp import SmtpSender, SmtpSettings, build_message

__all__ = [
    "ImapInbox",
    "MailAccount",
    "MailboxConfigurationError",
    "MessageTooLarge",
    "Pop3Inbox",
    "SmtpConfigurationError",
    "SmtpSender",
    "SmtpSettings",
    "build_message",
    "fetch_all",
    "open_inbox",
]
