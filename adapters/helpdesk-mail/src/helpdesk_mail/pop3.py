"""A POP3 maildrop as a ``MailInbox``, through poplib.

Keys are the server's UIDLs. A POP3 session sees a snapshot of the maildrop and message
numbers are valid only inside it, so every ``list_new`` starts a new session (QUIT first, which
commits pending deletions) and numbers are looked up by UIDL per session.

``after="delete"``: ``acknowledge`` sends DELE, which the server carries out only at QUIT
(``close()`` or the next ``list_new``). If the process dies or the connection drops before
QUIT, the server undeletes the messages; that is safe because the ingest pipeline recognises
keys it has already processed. ``after="keep"``: nothing is sent; the pipeline remembers the
UIDL, and this instance skips keys acknowledged through it.
"""

from __future__ import annotations

import logging
import poplib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO, cast

from helpdesk_core.errors import (
    AcknowledgementRefused,
    ConfigurationError,
    HelpdeskError,
    MailboxError,
)
from helpdesk_core.ports.messaging import MailRef
from helpdesk_mail.accounts import MailAccount
from helpdesk_mail.errors import (
    MailboxConfigurationError,
    MessageTooLarge,
    response_code,
    scrub,
    server_text,
    session_failure,
)

__all__ = ["Pop3Inbox"]

log = logging.getLogger(__name__)

DRIVER_ERRORS = (poplib.error_proto, OSError, EOFError)
# An answer we cannot read (a LIST line without a size) is the server's failure too.
ANSWER_ERRORS = (ValueError, KeyError, IndexError)
# Response codes (RFC 2449, RFC 3206) of a refused login that pass by themselves.
LOGIN_LATER = {"SYS/TEMP", "IN-USE", "LOGIN-DELAY"}


class _LongLines:
    """poplib refuses lines over 2048 bytes, yet real mail has longer ones (unwrapped base64,
    HTML on one line). Allow lines as long as the largest message we would download, and keep
    the line content exactly as sent."""

    file: BinaryIO
    max_line = 64 * 1024

    def _getline(self) -> tuple[bytes, int]:
        line = self.file.readline(self.max_line + 1)
        if len(line) > self.max_line:
            raise poplib.error_proto("line too long")
        if not line:
            raise poplib.error_proto("-ERR EOF")
        if line.endswith(b"\r\n"):
            return line[:-2], len(line)
        if line.endswith(b"\n"):
            return line[:-1], len(line)
        return line, len(line)


class _POP3(_LongLines, poplib.POP3):
    pass


class _POP3SSL(_LongLines, poplib.POP3_SSL):
    pass


class Pop3Inbox:
    """The maildrop of one POP3 account. Connects on first use and again after a failure."""

    def __init__(self, account: MailAccount) -> None:
        if account.protocol != "pop3":
            raise ConfigurationError(f"{account.address} is not a POP3 account")
        self.account = account.name
        self.mail_account = account
        self._pop: poplib.POP3 | None = None
        self._numbers: dict[str, int] = {}
        self._kept: set[str] = set()

    # -- the MailInbox port ----------------------------------------------------------------

    def list_new(self, *, limit: int) -> list[MailRef]:
        if limit <= 0:
            return []
        try:
            self._quit()
        except MailboxError as exc:
            # Typically the server's idle timeout ended the old session. Its deletions were
            # not carried out, so those messages are listed again; the pipeline knows them.
            log.warning("%s", exc)
        with self._guard("listing the maildrop"):
            pop = self._session()
            self._refresh(pop)
            _, lines, _ = pop.list()
            sizes = {int(number): int(size) for number, size in _pairs(lines)}
        self._kept &= set(self._numbers)  # forget keys the server no longer has
        ordered = sorted(self._numbers.items(), key=lambda item: item[1])
        refs = [
            MailRef(key=uidl, size=sizes[number])
            for uidl, number in ordered
            if uidl not in self._kept and number in sizes
        ]
        return refs[:limit]

    def download(self, key: str) -> bytes:
        with self._guard(f"downloading {key}"):
            pop = self._session()
            number = self._number(pop, key)
            size = _size(pop, number)
            if size > self.mail_account.max_bytes:
                raise MessageTooLarge(
                    f"{self.mail_account.address}: message {key} has {size} bytes, more than "
                    f"max_bytes={self.mail_account.max_bytes}; not downloaded",
                    key=key, size=size, limit=self.mail_account.max_bytes,
                )
            _, lines, _ = pop.retr(number)
        # poplib has removed the dot-stuffing; the wire form ends every line with CRLF.
        return b"".join(line + b"\r\n" for line in lines)

    def acknowledge(self, key: str) -> None:
        if self.mail_account.after == "keep":
            self._kept.add(key)
            return
        with self._guard(f"deleting {key}"):
            pop = self._session()
            number = self._number(pop, key)
            try:
                pop.dele(number)
            except poplib.error_proto as exc:
                if not _answered_err(exc):
                    raise
                # -ERR: the server refused this one message; the session goes on.
                raise AcknowledgementRefused(
                    f"{self.mail_account.address}: the server refused to delete message "
                    f"{key}: {self._describe(exc)}", key=key) from exc
            del self._numbers[key]

    def close(self) -> None:
        """QUIT, which carries out the deletions. Raises MailboxError when QUIT fails; the
        messages then stay on the server and come back in the next listing."""
        self._quit()

    def __enter__(self) -> Pop3Inbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.close()
            return
        with suppress(MailboxError):  # do not hide the error that is on its way out
            self.close()

    # -- connection ------------------------------------------------------------------------

    def _session(self) -> poplib.POP3:
        if self._pop is None:
            self._pop = self._connect()
            self._numbers = {}
        return self._pop

    def _connect(self) -> poplib.POP3:
        """Connect, STLS, USER and PASS. A server that does not fit the settings (no STLS, no
        USER/PASS login on this connection, a refused login, an untrusted certificate) is a
        MailboxConfigurationError that says what to change; the password is sent only where
        the server offers a USER/PASS login (when it answers CAPA)."""
        account = self.mail_account
        context = account.ssl_context() if account.security != "none" else None
        pop: _POP3 | _POP3SSL
        try:
            if account.security == "tls":
                pop = _POP3SSL(account.host, account.port, timeout=account.timeout,
                               context=context)
            else:
                pop = _POP3(account.host, account.port, timeout=account.timeout)
        except DRIVER_ERRORS as exc:
            raise self._failure(exc, during="") from exc
        pop.max_line = max(_LongLines.max_line, account.max_bytes)
        during = " during CAPA"
        try:
            capabilities = _capabilities(pop)
            if account.security == "starttls":
                if capabilities is not None and "STLS" not in capabilities:
                    raise MailboxConfigurationError(
                        f"{account.label}: the server {account.endpoint.where} does not offer "
                        f"STLS (CAPA: {_listed(capabilities)}); use security='tls' if it "
                        "expects TLS from the start (usually port 995)")
                during = " during STLS"
                pop.stls(context)
                capabilities = _capabilities(pop)
            if capabilities is not None and "USER" not in capabilities:
                raise MailboxConfigurationError(self._no_user_login(capabilities))
            during = " during the login"
            pop.user(account.username)
            pop.pass_(account.password)
        except MailboxError:
            _close_socket(pop)
            raise
        except poplib.error_proto as exc:
            _close_socket(pop)
            if during == " during the login" and _answered(exc):
                raise self._login_refused(exc) from exc
            raise self._failure(exc, during=during) from exc
        except DRIVER_ERRORS as exc:
            _close_socket(pop)
            raise self._failure(exc, during=during) from exc
        return pop

    def _failure(self, exc: BaseException, *, during: str) -> MailboxError:
        account = self.mail_account
        closed = isinstance(exc, EOFError) or (isinstance(exc, poplib.error_proto)
                                               and not _answered(exc))
        return session_failure(exc, account.label, account.endpoint, account.password,
                               during=during, closed=closed)

    def _no_user_login(self, capabilities: dict[str, list[str]]) -> str:
        account = self.mail_account
        if account.security == "none" and "STLS" in capabilities:
            hint = "use security='starttls' (it offers STLS) or 'tls'"
        elif account.security == "none":
            hint = "use security='tls'"
        else:
            hint = "it may take another login mechanism (SASL), which this inbox does not use"
        return (f"{account.label}: the server {account.endpoint.where} allows no USER/PASS "
                f"login on this connection (CAPA: {_listed(capabilities)}); {hint}. The "
                "password was not sent")

    def _login_refused(self, exc: poplib.error_proto) -> MailboxError:
        account = self.mail_account
        where = account.endpoint.where
        text = server_text(exc, account.password)
        code = response_code(text)
        if code in LOGIN_LATER:
            return MailboxError(f"{account.label}: the server {where} cannot log in "
                                f"{account.username!r} now ({text}); the next run tries again")
        if code == "SYS/PERM":
            return MailboxError(f"{account.label}: the server {where} refuses the login of "
                                f"{account.username!r} for a reason of its own ({text}); ask "
                                "its administrator")
        if account.security == "none" and any(
                word in text.lower() for word in ("plaintext", "tls", "ssl", "secure")):
            return MailboxConfigurationError(
                f"{account.label}: the server {where} allows no password login without TLS "
                f"({text}); use security='starttls' or 'tls'")
        return MailboxConfigurationError(
            f"{account.label}: the server {where} refused the login of {account.username!r} "
            f"({text}); check the username and password")

    def _quit(self) -> None:
        pop, self._pop = self._pop, None
        self._numbers = {}
        if pop is None:
            return
        try:
            pop.quit()
        except DRIVER_ERRORS as exc:
            _close_socket(pop)
            raise MailboxError(
                f"{self.mail_account.address}: QUIT failed, deletions were not carried out: "
                f"{self._describe(exc)}"
            ) from exc

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Translate driver errors; a failed session is dropped (the server then undeletes)."""
        try:
            yield
        except HelpdeskError:
            raise
        except (*DRIVER_ERRORS, *ANSWER_ERRORS) as exc:
            pop, self._pop = self._pop, None
            self._numbers = {}
            if pop is not None:
                _close_socket(pop)
            raise MailboxError(
                f"{self.mail_account.address}: {action} failed: {self._describe(exc)}"
            ) from exc

    def _describe(self, exc: BaseException) -> str:
        return scrub(str(exc) or type(exc).__name__, self.mail_account.password)

    # -- UIDL to message number ------------------------------------------------------------

    def _refresh(self, pop: poplib.POP3) -> None:
        _, lines, _ = pop.uidl()
        self._numbers = {uidl: int(number) for number, uidl in _pairs(lines)}

    def _number(self, pop: poplib.POP3, key: str) -> int:
        if key not in self._numbers:
            self._refresh(pop)
        try:
            return self._numbers[key]
        except KeyError:
            raise MailboxError(
                f"{self.mail_account.address}: no message with UIDL {key!r} (deleted meanwhile?)"
            ) from None


def _pairs(lines: list[bytes]) -> Iterator[tuple[str, str]]:
    """``b"<number> <value> [...]"`` lines of UIDL and LIST answers."""
    for line in lines:
        number, value = line.decode("ascii", "replace").split()[:2]
        yield number, value


def _size(pop: poplib.POP3, number: int) -> int:
    # LIST with an argument answers one line, "+OK <number> <size>" (typeshed types only the
    # multi-line form).
    answer = cast(bytes, pop.list(number))
    return int(answer.split()[2])


def _answered(exc: poplib.error_proto) -> bool:
    """Whether the server sent this ``-ERR``; poplib (and ``_LongLines``) raise the same class
    with a text of their own for a connection that closed or a line that is too long."""
    return bool(exc.args) and isinstance(exc.args[0], bytes)


def _capabilities(pop: poplib.POP3) -> dict[str, list[str]] | None:
    """The server's CAPA answer, or None from a server without CAPA (it is optional)."""
    try:
        return pop.capa()
    except poplib.error_proto as exc:
        if not _answered(exc):
            raise
        return None


def _listed(capabilities: dict[str, list[str]]) -> str:
    return " ".join(capabilities) or "nothing"


def _close_socket(pop: poplib.POP3) -> None:
    with suppress(*DRIVER_ERRORS):
        pop.close()


def _answered_err(exc: poplib.error_proto) -> bool:
    """The server answered ``-ERR`` (poplib passes the answer line as bytes); its own
    ``"-ERR EOF"`` and "line too long" (str) mean the connection broke."""
    answer = exc.args[0] if exc.args else b""
    return isinstance(answer, bytes) and answer.startswith(b"-ERR")
