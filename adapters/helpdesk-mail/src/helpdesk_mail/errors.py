"""Errors of the mail adapter beyond the core tree (each is a core error subclass), and the
words for what went wrong on the network, shared by IMAP, POP3 and SMTP."""

from __future__ import annotations

import re
import socket
import ssl

import attrs

from helpdesk_core.errors import ConfigurationError, DeliveryError, MailboxError
from helpdesk_core.errors import MessageTooLarge as CoreMessageTooLarge

__all__ = ["Endpoint", "MailboxConfigurationError", "MessageTooLarge", "Problem",
           "SmtpConfigurationError", "connection_problem", "response_code", "scrub",
           "server_text"]

# OpenSSL's reasons when the other side sent something that is not TLS at all.
_NOT_TLS = {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST",
            "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"}
# X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH: a valid certificate, but
# made out to another name than the one connected to.
_NAME_MISMATCH = {62, 64}


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


class MailboxConfigurationError(MailboxError, ConfigurationError):
    """The IMAP or POP3 server and the account's settings do not fit together: the server
    refuses the username and password, allows no password login on this connection
    (LOGINDISABLED), offers no STARTTLS, or its certificate is not trusted.

    A ``MailboxError``, so the fetch loop ends the account's run as for any server failure; and
    a ``ConfigurationError``: trying again changes nothing until the settings (or the server)
    do. The text says what to change.
    """


@attrs.frozen
class Problem:
    """What went wrong talking to a mail server, in words. ``configuration``: the settings
    (or the server's setup) must change before trying again can help."""

    text: str
    configuration: bool = False


@attrs.frozen
class Endpoint:
    """A server as the settings describe it, for error messages: ``tls_port`` and
    ``starttls_port`` are the protocol's usual ports (993 and 143 for IMAP ...)."""

    host: str
    port: int
    security: str
    timeout: float
    tls_port: int
    starttls_port: int
    secret: str = attrs.field(default="", repr=False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def silent(self) -> str:
        """A hint for a server that took the connection and said nothing."""
        if self.security == "tls":
            return ""
        return (f"; a server that expects TLS from the start (usually port {self.tls_port}) "
                "stays silent: security='tls'?")


def connection_problem(exc: BaseException, endpoint: Endpoint, *, connecting: bool,
                       during: str = "") -> Problem:
    """TLS, name resolution, refused connections, timeouts and other socket errors.

    ``connecting``: raised while the connection (and, for implicit TLS, its handshake) was
    being made; ``during`` names a later step for the message (`` during STARTTLS``).
    """
    where = endpoint.where
    detail = scrub(str(exc) or type(exc).__name__, endpoint.secret)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = (exc.verify_message or detail).rstrip(".")
        if exc.verify_code in _NAME_MISMATCH:
            return Problem(f"the certificate of {where} is made out to another host "
                           f"({reason}); set host= to a name the certificate names", True)
        return Problem(f"the certificate of {where} is not trusted ({reason}); trust the CA "
                       "that signed it with ca_file=, or fix the server's certificate", True)
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
        return Problem(f"{where} closed the connection during the TLS handshake{during}: "
                       f"{detail}")
    if isinstance(exc, ssl.SSLError):
        if exc.reason in _NOT_TLS and connecting and endpoint.security == "tls":
            return Problem(
                f"{where} does not answer with TLS ({exc.reason}); security='tls' is TLS "
                f"from the start (usually port {endpoint.tls_port}): did you mean "
                f"security='starttls' (usually port {endpoint.starttls_port})?", True)
        return Problem(f"the TLS handshake with {where} failed{during}: "
                       f"{exc.reason or detail}", True)
    if isinstance(exc, TimeoutError):
        hint = endpoint.silent() if connecting else ""
        step = " (connecting)" if connecting else during
        return Problem(f"{where} did not answer within {endpoint.timeout:g} s{step}{hint}")
    if isinstance(exc, socket.gaierror):
        return Problem(f"cannot reach {where}: the host name {endpoint.host!r} cannot be "
                       f"resolved ({exc.strerror or detail})")
    if isinstance(exc, ConnectionRefusedError):
        return Problem(f"cannot reach {where}: connection refused (no server listening on "
                       "that port)")
    if connecting:
        return Problem(f"cannot reach {where}: {detail}")
    return Problem(f"the connection to {where} failed{during}: {detail}")


_BYTES_REPR = re.compile(r"b(['\"])(.*)\1", re.DOTALL)
_RESPONSE_CODE = re.compile(r"\[([A-Za-z/-]+)[^\]]*\]")


def session_failure(exc: BaseException, label: str, endpoint: Endpoint, secret: str, *,
                    during: str, closed: bool) -> MailboxError:
    """The MailboxError for a driver error of an inbox (IMAP or POP3) while connecting
    (``during`` empty) or in a later step of the login. ``closed``: the protocol's way of
    saying the server dropped the connection (its own exception or an unanswered command)."""
    where = endpoint.where
    if isinstance(exc, OSError):
        problem = connection_problem(exc, endpoint, connecting=not during, during=during)
    elif closed:
        problem = Problem(f"{where} closed the connection{during}: {server_text(exc, secret)}")
    elif not during:  # a greeting other than OK
        problem = Problem(f"the server {where} refused the connection: "
                          f"{server_text(exc, secret)}")
    else:
        problem = Problem(f"the server {where} failed{during}: {server_text(exc, secret)}")
    error = MailboxConfigurationError if problem.configuration else MailboxError
    return error(f"{label}: {problem.text}")


def server_text(exc: BaseException, secret: str) -> str:
    """What the server said, from a driver's error: one line, no ``b'...'`` around it, no
    ``-ERR`` before it, without the password."""
    text = str(exc) or type(exc).__name__
    if match := _BYTES_REPR.fullmatch(text):
        text = match.group(2)
    text = " ".join(text.split()).removeprefix("-ERR ")
    return scrub(text, secret)[:300]


def response_code(text: str) -> str:
    """The response code a reply starts with (``[AUTHENTICATIONFAILED]``, ``[SYS/TEMP]``),
    upper-cased, or ``""``."""
    match = _RESPONSE_CODE.match(text)
    return match.group(1).upper() if match else ""


def scrub(text: str, secret: str) -> str:
    """Remove the password from a driver's message before it reaches logs."""
    return text.replace(secret, "***") if secret else text
