"""Errors of the mail adapter beyond the core tree (each is a core error subclass)."""

from __future__ import annotations

from helpdesk_core.errors import ConfigurationError, DeliveryError
from helpdesk_core.errors import MessageTooLarge as CoreMessageTooLarge

__all__ = ["MessageTooLarge", "SmtpConfigurationError", "scrub"]


class MessageTooLarge(CoreMessageTooLarge):
    """``download`` refused a message above the account's ``max_bytes`` before fetching it.

    The core's ``MessageTooLarge`` (a ``MailboxError``) with a message that names the account,
    so the fetch loop quarantines the mail and goes on. The size is in the listing
    (``MailRef.size``), so a caller normally never gets here.
    """

    def __init__(self, message: str, *, key: str, size: int, limit: int) -> None:
        super().__init__(key, size, limit)
        self.args = (message,)


class SmtpConfigurationError(DeliveryError, ConfigurationError):
    """The SMTP server and the sender's settings do not fit together: the server offers no
    AUTH or no STARTTLS, refuses the username and password, or its certificate is not trusted.

    A ``DeliveryError`` that is never transient, so the outbox marks the message failed instead
    of retrying what cannot work; and a ``ConfigurationError``, because the fix is in the
    settings (or on the server), not in the message. The text says what to change.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


def scrub(text: str, secret: str) -> str:
    """Remove the password from a driver's message before it reaches logs."""
    return text.replace(secret, "***") if secret else text
