"""SMTP delivery for the outbox: the ``MailSender`` port on the standard library's smtplib.

The conversation is driven step by step rather than with ``sendmail`` so that the three
outcomes the outbox must tell apart stay apart:

* refused before the data went out (connection refused, timeouts, 421, 4xx/5xx to MAIL, RCPT
  or DATA): nothing was delivered — transient or permanent by the reply code;
* the connection lost after the data went out and before the final reply: *uncertain*, never
  resent by itself;
* the final reply: 250 accepted, 4xx temporary, 5xx permanent.

Every failure is a ``DeliveryError`` whose text names the server and the step. Settings that
cannot work with the server are a ``SmtpConfigurationError`` (a ``DeliveryError`` that is
never transient, and a ``ConfigurationError``): no AUTH offered although a username is set,
no STARTTLS with ``security="starttls"``, no AUTH mechanism smtplib speaks, a login refused
with a 5xx reply (535), an untrusted certificate, a TLS handshake that fails, a port that does
not speak TLS with ``security="tls"``, a server that takes mail only after a login, a
``ca_file`` that cannot be read. A server that is down, slow or busy is transient: connection
refused, a host name that does not resolve, timeouts, a connection closed before the data,
4xx replies (421 greeting, 454 to STARTTLS or AUTH, 451 to MAIL, RCPT or DATA). The whole
table is in docs/how-to/send-mail.md.

Header values are refused when they contain CR, LF, NUL or any other line or paragraph
separator, so no caller can smuggle in a header or a recipient; non-ASCII text is encoded by
the ``policy.SMTP`` serialiser (RFC 2047), a non-ASCII domain is written in its ASCII (IDNA)
form; a non-ASCII local part would need SMTPUTF8, which this sender does not use, and is
refused before anything is sent.
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
import idna

from helpdesk_core.errors import ConfigurationError, DeliveryError, ValidationError
from helpdesk_core.ports.messaging import OutgoingMail
from helpdesk_mail.accounts import is_loopback, parse_flag
from helpdesk_mail.errors import Endpoint, SmtpConfigurationError, connection_problem, scrub

__all__ = ["SmtpSender", "SmtpSettings", "build_message"]

# CR, LF, NUL, vertical tab, form feed, NEL, LINE/PARAGRAPH SEPARATOR: each can end a header
# line for some parser along the way.
_BREAKS = re.compile("[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")
_RESERVED = {"from", "to", "cc", "bcc", "subject", "message-id", "date", "reply-to",
             "mime-version", "content-type", "content-transfer-encoding", "sender"}
_MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
# The mechanisms smtplib.SMTP.login can use, in its order of preference.
_MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")


def _flag(value: object) -> bool:
    return parse_flag(value, what="SMTP allow_plaintext")


@attrs.frozen
class SmtpSettings:
    """``security``: ``"tls"`` (implicit, port 465), ``"starttls"`` (587) or ``"none"``.

    ``"none"`` sends the password and every message unencrypted, so it is refused for any host
    but this machine (127.0.0.0/8, ::1, localhost) unless ``allow_plaintext=True`` says that
    the network to the server is trusted.
    """

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 30.0
    local_hostname: str | None = None
    ca_file: str | None = None
    allow_plaintext: bool = attrs.field(default=False, converter=_flag)

    def __attrs_post_init__(self) -> None:
        if self.security not in ("tls", "starttls", "none"):
            raise ConfigurationError("SMTP security must be 'tls', 'starttls' or 'none'")
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"bad SMTP port {self.port}")
        if (self.username is None) != (self.password is None):
            raise ConfigurationError("SMTP username and password go together")
        if self.security == "none" and not self.allow_plaintext and not is_loopback(self.host):
            what = "the password and every message" if self.username else "every message"
            raise ConfigurationError(
                f"SMTP security='none' would send {what} to {self.host} unencrypted; use "
                "security='starttls' or 'tls', or set allow_plaintext=True if the network to "
                "it is trusted (plain text is allowed without it only for 127.0.0.0/8, ::1 "
                "and localhost)")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(host=self.host, port=self.port, security=self.security,
                        timeout=self.timeout, tls_port=465, starttls_port=587,
                        secret=self.password or "")

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context: the system's CAs, or only those in ``ca_file``."""
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ValueError) as exc:
            raise SmtpConfigurationError(
                f"SMTP ca_file {self.ca_file!r} cannot be used: {exc}") from exc


def _clean(value: str, field: str) -> str:
    if _BREAKS.search(value):
        raise ValidationError("line breaks are not allowed in a header", field=field)
    return value


def _ascii_address(value: str, field: str) -> str:
    """The address as the envelope and the headers carry it: the domain in its ASCII (IDNA)
    form. A non-ASCII local part would need SMTPUTF8, which this sender does not use."""
    _clean(value, field)
    local, at, domain = value.rpartition("@")
    if not (at and local and domain):
        raise ValidationError(f"not an address: {value!r}", field=field)
    if not local.isascii():
        raise ValidationError(f"{value!r} has a non-ASCII local part; sending to it needs "
                              "SMTPUTF8, which this sender does not use", field=field)
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValidationError(f"the domain of {value!r} has no ASCII form: {exc}",
                                  field=field) from None
    return f"{local}@{domain}"


def _address(value: str, field: str, name: str = "") -> Address:
    _clean(name, field)
    try:
        return Address(display_name=name, addr_spec=_ascii_address(value, field))
    except (ValueError, IndexError) as exc:
        if isinstance(exc, ValidationError):
            raise
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
            sender = _ascii_address(mail.sender, "sender")
            envelope = {r: _ascii_address(r, "recipients") for r in mail.recipients}
        except (ValidationError, ValueError, TypeError) as exc:
            raise DeliveryError(f"message refused before sending: {exc}",
                                transient=False) from exc
        smtp = self._connect()
        try:
            results = self._converse(smtp, sender, envelope, data, before_data)
        except BaseException as exc:
            # After a refusal the server still listens and QUIT is polite; after a lost or
            # timed-out connection, waiting for an answer to QUIT would only add a timeout.
            _close(smtp, polite=isinstance(exc, DeliveryError) and not _lost(exc))
            raise
        _close(smtp)
        return results

    # -- internals ------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = s.ssl_context() if s.security != "none" else None
        step = "connect"
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, local_hostname=s.local_hostname,
                                        timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.local_hostname,
                                    timeout=s.timeout)
            step = "EHLO"
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                step = "STARTTLS"
                if not smtp.has_extn("starttls"):
                    raise SmtpConfigurationError(
                        f"the server {s.address} does not offer STARTTLS (advertised: "
                        f"{_advertised(smtp)}); use security='tls' if it expects TLS from the "
                        "start (usually port 465)")
                smtp.starttls(context=context)
                step = "EHLO after STARTTLS"
                smtp.ehlo_or_helo_if_needed()
            if s.username is not None and s.password is not None:
                step = "AUTH"
                self._login(smtp, s.username, s.password)
        except BaseException as exc:
            if smtp is not None:
                # A refused login or a missing extension: the server still listens.
                _close(smtp, polite=isinstance(exc, DeliveryError))
            if isinstance(exc, Exception) and not isinstance(exc, DeliveryError):
                raise self._failure(exc, step) from exc
            raise
        return smtp

    def _login(self, smtp: smtplib.SMTP, username: str, password: str) -> None:
        s = self.settings
        if not smtp.has_extn("auth"):
            if s.security == "none" and smtp.has_extn("starttls"):
                hint = ("did you mean security='starttls'? (many servers offer AUTH only after "
                        "STARTTLS) Or remove the credentials if it takes mail without a login")
            else:
                hint = ("remove the credentials (username, password) if it takes mail "
                        "without a login")
            raise SmtpConfigurationError(
                f"the server {s.address} does not offer AUTH (advertised: "
                f"{_advertised(smtp)}); {hint}")
        offered = smtp.esmtp_features["auth"].upper().split()
        if not set(offered) & set(_MECHANISMS):
            raise SmtpConfigurationError(
                f"the server {s.address} offers AUTH {' '.join(offered) or '(no mechanism)'}, "
                f"none of which this sender speaks ({', '.join(_MECHANISMS)})")
        try:
            smtp.login(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            reply = scrub(_reply(exc.smtp_code, exc.smtp_error), password)
            if 400 <= exc.smtp_code < 500:
                raise DeliveryError(f"the server {s.address} could not check the login of "
                                    f"{username!r} now: {reply}", transient=True) from exc
            if exc.smtp_code == 538 or any(w in reply.lower() for w in ("tls", "encrypt")):
                hint = "it wants an encrypted connection first: security='starttls' or 'tls'"
            else:
                hint = "check the username and password"
            raise SmtpConfigurationError(f"the server {s.address} refused the login of "
                                         f"{username!r}: {reply}; {hint}") from exc

    def _failure(self, exc: Exception, step: str) -> DeliveryError:
        """The DeliveryError for a driver error raised while connecting, in ``step``."""
        s = self.settings
        where = s.address
        detail = scrub(str(exc) or type(exc).__name__, s.password or "")
        during = "" if step == "connect" else f" during {step}"
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return SmtpConfigurationError(f"the server {where} does not support what the "
                                          f"settings need{during}: {detail}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError) and step == "connect":
                return DeliveryError(f"{where} took the connection but sent no greeting within "
                                     f"{s.timeout:g} s{s.endpoint.silent()}", transient=True)
            if isinstance(exc.__context__, TimeoutError):
                return DeliveryError(f"{where} did not answer within {s.timeout:g} s{during}",
                                     transient=True)
            return DeliveryError(f"{where} closed the connection{during}: {detail}",
                                 transient=True)
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = scrub(_reply(exc.smtp_code, exc.smtp_error), s.password or "")
            what = {"connect": "the connection", "EHLO": "EHLO and HELO",
                    "STARTTLS": "STARTTLS"}.get(step, step)
            return DeliveryError(f"the server {where} refused {what}: {reply}",
                                 transient=400 <= exc.smtp_code < 500)
        if isinstance(exc, smtplib.SMTPException):
            return DeliveryError(f"the SMTP conversation with {where} failed{during}: "
                                 f"{detail}", transient=True)
        problem = connection_problem(exc, s.endpoint, connecting=step == "connect",
                                     during=during)
        if problem.configuration:
            return SmtpConfigurationError(problem.text)
        return DeliveryError(problem.text, transient=True)

    def _converse(self, smtp: smtplib.SMTP, sender: str, envelope: Mapping[str, str],
                  data: bytes, before_data: Callable[[], None] | None) -> dict[str, str]:
        s = self.settings
        try:
            code, text = smtp.mail(sender)
            if code == 530 and s.username is None:
                raise SmtpConfigurationError(
                    f"the server {s.address} takes mail only after a login (MAIL FROM: "
                    f"{_reply(code, text)}); set username and password")
            if code != 250:
                raise DeliveryError(f"MAIL FROM refused: {_reply(code, text)}",
                                    transient=400 <= code < 500)
            results: dict[str, str] = {}
            for recipient, address in envelope.items():
                code, text = smtp.rcpt(address)
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
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError):
                raise DeliveryError(f"{s.address} did not answer within {s.timeout:g} s, "
                                    "before the data was sent", transient=True) from exc
            raise DeliveryError(f"{s.address} closed the connection before the data was "
                                f"sent: {exc}", transient=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"connection to {s.address} lost before the data was sent: "
                                f"{exc or type(exc).__name__}", transient=True) from exc
        if before_data is not None:
            before_data()
        try:
            smtp.send(data)
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"connection to {s.address} lost after the data was sent: "
                                f"{exc or type(exc).__name__}",
                                transient=False, uncertain=True) from exc
        if code != 250:
            # The server answered: it did not take the message, so sending again is safe.
            raise DeliveryError(f"message refused: {_reply(code, text)}",
                                transient=400 <= code < 500)
        return results


def _advertised(smtp: smtplib.SMTP) -> str:
    """The extensions the server listed in its EHLO answer, for error messages."""
    if not smtp.does_esmtp:
        return "nothing: it answered HELO, not EHLO"
    return ", ".join(name.upper() for name in smtp.esmtp_features) or "nothing"


def _lost(exc: BaseException) -> bool:
    """Whether the connection broke (closed, reset, timed out) rather than a reply refused."""
    cause = exc.__cause__
    return isinstance(cause, OSError) and not isinstance(cause, smtplib.SMTPResponseException)


def _close(smtp: smtplib.SMTP, *, polite: bool = True) -> None:
    """QUIT and close; only close when the connection is gone or its state is unknown."""
    if polite:
        try:
            smtp.quit()
            return
        except (smtplib.SMTPException, OSError):
            pass
    smtp.close()
