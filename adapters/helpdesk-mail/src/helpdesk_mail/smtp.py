"""SMTP delivery for the outbox: the ``MailSender`` port on the standard library's smtplib.

The conversation is driven step by step rather than with ``sendmail`` so that the three
outcomes the outbox must tell apart stay apart:

* refused before the data went out (connection refused, timeouts, 421, 4xx/5xx to MAIL, RCPT
  or DATA): nothing was delivered — transient or permanent by the reply code;
* the connection lost after the data went out and before the final reply: *uncertain*, never
  resent by itself;
* the final reply: 250 accepted, 4xx temporary, 5xx permanent.

Header values are refused when they contain CR, LF, NUL or any other line or paragraph
separator, so no caller can smuggle in a header or a recipient; non-ASCII text is encoded by
the ``policy.SMTP`` serialiser (RFC 2047).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import attrs

from helpdesk_core.errors import ConfigurationError, DeliveryError, ValidationError
from helpdesk_core.ports.messaging import OutgoingMail

__all__ = ["SmtpSender", "SmtpSettings", "build_message"]

# CR, LF, NUL, vertical tab, form feed, NEL, LINE/PARAGRAPH SEPARATOR: each can end a header
# line for some parser along the way.
_BREAKS = re.compile("[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")
_RESERVED = {"from", "to", "cc", "bcc", "subject", "message-id", "date", "reply-to",
             "mime-version", "content-type", "content-transfer-encoding", "sender"}
_MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")


@attrs.frozen
class SmtpSettings:
    """``security``: ``"tls"`` (implicit, port 465), ``"starttls"`` (587) or ``"none"``."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 30.0
    local_hostname: str | None = None
    ca_file: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.security not in ("tls", "starttls", "none"):
            raise ConfigurationError("SMTP security must be 'tls', 'starttls' or 'none'")
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"bad SMTP port {self.port}")
        if (self.username is None) != (self.password is None):
            raise ConfigurationError("SMTP username and password go together")


def _clean(value: str, field: str) -> str:
    if _BREAKS.search(value):
        raise ValidationError("line breaks are not allowed in a header", field=field)
    return value


def _address(value: str, field: str, name: str = "") -> Address:
    _clean(value, field)
    _clean(name, field)
    try:
        return Address(display_name=name, addr_spec=value)
    except (ValueError, IndexError) as exc:
        raise ValidationError(f"not an address: {exc}", field=field) from None


def build_message(mail: OutgoingMail, *, now: datetime | None = None) -> EmailMessage:
    """The RFC 5322 message for ``mail``; ValidationError for anything that could inject."""
    if not _MESSAGE_ID.fullmatch(mail.message_id):
        raise ValidationError("a Message-ID looks like <local@domain>", field="message_id")
    msg = EmailMessage(policy=policy.SMTP)
    msg["Message-ID"] = mail.message_id
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["From"] = _address(mail.sender, "sender", mail.sender_name)
    shown_to = mail.to or tuple(r for r in mail.recipients if r not in mail.cc)
    if shown_to:
        msg["To"] = [_address(a, "to") for a in shown_to]
    if mail.cc:
        msg["Cc"] = [_address(a, "cc") for a in mail.cc]
    if mail.reply_to:
        msg["Reply-To"] = _address(mail.reply_to, "reply_to")
    msg["Subject"] = _clean(mail.subject, "subject")
    for name, value in mail.headers.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED:
            raise ValidationError(f"header {name!r} cannot be set here", field="headers")
        msg[name] = _clean(value, name)
    msg.set_content(mail.text)
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(attachment.data, maintype=maintype or "application",
                           subtype=subtype or "octet-stream",
                           filename=_clean(attachment.filename, "attachment"))
    return msg


def _data_bytes(msg: EmailMessage) -> bytes:
    """CRLF line ends, dot-stuffed, terminated by ``.`` (RFC 5321 §4.5.2)."""
    data = msg.as_bytes(policy=policy.SMTP)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}"[:500]


class SmtpSender:
    """Implements ``MailSender``. One connection per ``send``: outbox runs are short and a
    fresh connection has no state left over from a failed message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, mail: OutgoingMail, *,
             before_data: Callable[[], None] | None = None) -> Mapping[str, str]:
        try:
            data = _data_bytes(build_message(mail))
        except (ValidationError, ValueError, TypeError) as exc:
            raise DeliveryError(f"message refused before sending: {exc}",
                                transient=False) from exc
        smtp = self._connect()
        try:
            return self._converse(smtp, mail, data, before_data)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    # -- internals ------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file)
        try:
            smtp: smtplib.SMTP
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, local_hostname=s.local_hostname,
                                        timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.local_hostname,
                                    timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username is not None and s.password is not None:
                smtp.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {_reply(exc.smtp_code, exc.smtp_error)}",
                                transient=False) from exc
        except smtplib.SMTPResponseException as exc:
            transient = 400 <= exc.smtp_code < 500
            raise DeliveryError(f"SMTP server refused: {_reply(exc.smtp_code, exc.smtp_error)}",
                                transient=transient) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"cannot reach {s.host}:{s.port}: {exc}",
                                transient=True) from exc
        return smtp

    def _converse(self, smtp: smtplib.SMTP, mail: OutgoingMail, data: bytes,
                  before_data: Callable[[], None] | None) -> dict[str, str]:
        try:
            code, text = smtp.mail(mail.sender)
            if code != 250:
                raise DeliveryError(f"MAIL FROM refused: {_reply(code, text)}",
                                    transient=400 <= code < 500)
            results: dict[str, str] = {}
            for recipient in mail.recipients:
                code, text = smtp.rcpt(recipient)
                if code in (250, 251):
                    results[recipient] = "sent"
                elif 400 <= code < 500:
                    results[recipient] = f"deferred: {_reply(code, text)}"
                else:
                    results[recipient] = f"refused: {_reply(code, text)}"
            accepted = [r for r, outcome in results.items() if outcome == "sent"]
            if not accepted:
                smtp.rset()
                return results
            code, text = smtp.docmd("DATA")
            if code != 354:
                raise DeliveryError(f"DATA refused: {_reply(code, text)}",
                                    transient=400 <= code < 500)
        except DeliveryError:
            raise
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(_reply(exc.smtp_code, exc.smtp_error),
                                transient=400 <= exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"connection lost before the data: {exc}",
                                transient=True) from exc
        if before_data is not None:
            before_data()
        try:
            smtp.send(data)
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"connection lost after the data was sent: {exc}",
                                transient=False, uncertain=True) from exc
        if code != 250:
            # The server answered: it did not take the message, so sending again is safe.
            raise DeliveryError(f"message refused: {_reply(code, text)}",
                                transient=400 <= code < 500)
        return results
