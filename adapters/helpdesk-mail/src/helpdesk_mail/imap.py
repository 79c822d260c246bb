"""An IMAP folder as a ``MailInbox``, through imapclient.

Keys are ``"<uidvalidity>:<uid>"``. Nothing changes on the server until ``acknowledge``:
listing reads sizes only and downloading uses ``BODY.PEEK[]``, which leaves ``\\Seen`` alone.
One instance holds one connection and is not thread-safe; use one per worker.
"""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import imapclient
from imapclient.exceptions import LoginError

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

__all__ = ["DONE_KEYWORD", "ImapInbox"]

log = logging.getLogger(__name__)

DONE_KEYWORD = b"$HelpdeskDone"
SEEN = b"\\Seen"
DELETED = b"\\Deleted"
# socket, ssl and timeout errors are all OSError; imapclient's own errors subclass IMAP4.error.
DRIVER_ERRORS = (imaplib.IMAP4.error, OSError, EOFError)
# An answer we cannot read (a missing UIDVALIDITY, a size that is not a number) is the
# server's failure too; the session is dropped like after a protocol error.
ANSWER_ERRORS = (ValueError, KeyError, IndexError, TypeError)
# Response codes (RFC 5530) of a refused LOGIN that pass by themselves: the next run may work.
LOGIN_LATER = {"UNAVAILABLE", "INUSE", "LIMIT", "SERVERBUG"}
_VERBS = {"flag": "flag", "move": "move", "delete": "delete"}


class ImapInbox:
    """One folder of one IMAP account. Connects on first use and again after a failure."""

    def __init__(self, account: MailAccount) -> None:
        if account.protocol != "imap":
            raise ConfigurationError(f"{account.address} is not an IMAP account")
        self.account = account.name
        self.mail_account = account
        self._client: Any = None
        self._uidvalidity: int | None = None
        self._target_exists = False

    # -- the MailInbox port ----------------------------------------------------------------

    def list_new(self, *, limit: int) -> list[MailRef]:
        if limit <= 0:
            return []
        with self._guard("listing the folder"):
            client = self._session()
            # Selecting again on every poll shows new mail and the current UIDVALIDITY.
            uidvalidity = self._select(client)
            uids = sorted(client.search(["NOT", "DELETED", "NOT", "KEYWORD", DONE_KEYWORD]))
            uids = uids[:limit]
            if not uids:
                return []
            sizes = client.fetch(uids, ["RFC822.SIZE"])
            # A message expunged between SEARCH and FETCH is simply missing from the answer.
            return [
                MailRef(key=f"{uidvalidity}:{uid}", size=int(sizes[uid][b"RFC822.SIZE"]))
                for uid in uids
                if uid in sizes
            ]

    def download(self, key: str) -> bytes:
        with self._guard(f"downloading {key}"):
            client = self._session()
            uid = self._uid(client, key)
            size = self._size(client, uid, key)
            if size > self.mail_account.max_bytes:
                raise MessageTooLarge(
                    f"{self.mail_account.address}: message {key} has {size} bytes, more than "
                    f"max_bytes={self.mail_account.max_bytes}; not downloaded",
                    key=key, size=size, limit=self.mail_account.max_bytes,
                )
            answer = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
            body = answer.get(b"BODY[]")
            if body is None:
                raise self._missing(key)
            return bytes(body)

    def acknowledge(self, key: str) -> None:
        """Flag, move or delete one message. A ``NO`` or ``BAD`` answer to it is
        AcknowledgementRefused (the session stays: the next message may be acknowledged);
        a broken connection is a MailboxError as everywhere."""
        with self._guard(f"acknowledging {key}"):
            client = self._session()
            uid = self._uid(client, key)
            after = self.mail_account.after
            try:
                if after == "flag":
                    client.add_flags([uid], [DONE_KEYWORD, SEEN], silent=True)
                elif after == "move":
                    self._move(client, uid)
                else:
                    client.add_flags([uid], [DELETED], silent=True)
                    self._expunge(client, uid)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as exc:
                account = self.mail_account
                raise AcknowledgementRefused(
                    f"{account.address}: the server refused to {_VERBS[after]} message {key} "
                    f"in {account.folder!r}: {self._describe(exc)}", key=key) from exc

    def close(self) -> None:
        """Log out. Errors are ignored: IMAP has nothing pending that a logout would commit."""
        client, self._client = self._client, None
        self._forget()
        if client is None:
            return
        try:
            client.logout()
        except DRIVER_ERRORS as exc:
            log.debug("%s: logout failed: %s", self.mail_account.address, exc)
            with suppress(*DRIVER_ERRORS):
                client.shutdown()

    def __enter__(self) -> ImapInbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connection ------------------------------------------------------------------------

    def _session(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        """Connect, STARTTLS, log in. A server that does not fit the settings (no STARTTLS,
        LOGINDISABLED, a refused login, an untrusted certificate) is a
        MailboxConfigurationError that says what to change; the password is sent only where
        the server accepts a password login."""
        account = self.mail_account
        context = account.ssl_context() if account.security != "none" else None
        try:
            client = imapclient.IMAPClient(
                account.host, port=account.port, ssl=account.security == "tls",
                ssl_context=context, timeout=account.timeout,
            )
        except DRIVER_ERRORS as exc:
            raise self._failure(exc, during="") from exc
        during = ""
        try:
            if account.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise MailboxConfigurationError(
                        f"{account.label}: the server {account.endpoint.where} does not offer "
                        f"STARTTLS (capabilities: {_capabilities(client)}); use security='tls' "
                        "if it expects TLS from the start (usually port 993)")
                during = " during STARTTLS"
                client.starttls(context)
            during = " during the login"
            if client.has_capability("LOGINDISABLED"):
                raise MailboxConfigurationError(self._login_disabled(client))
            client.login(account.username, account.password)
        except LoginError as exc:
            self._shutdown(client)
            if isinstance(exc.__context__, imaplib.IMAP4.abort):  # the connection broke
                raise self._failure(exc.__context__, during=during) from exc
            raise self._login_refused(exc) from exc
        except MailboxError:
            self._shutdown(client)
            raise
        except DRIVER_ERRORS as exc:
            self._shutdown(client)
            raise self._failure(exc, during=during) from exc
        return client

    def _failure(self, exc: BaseException, *, during: str) -> MailboxError:
        account = self.mail_account
        return session_failure(exc, account.label, account.endpoint, account.password,
                               during=during,
                               closed=isinstance(exc, imaplib.IMAP4.abort | EOFError))

    def _login_disabled(self, client: Any) -> str:
        account = self.mail_account
        if account.security == "none" and client.has_capability("STARTTLS"):
            hint = "use security='starttls' (it offers STARTTLS) or 'tls'"
        elif account.security == "none":
            hint = "use security='tls'"
        else:
            hint = ("it may take another login mechanism (AUTHENTICATE), which this inbox does "
                    "not use")
        return (f"{account.label}: the server {account.endpoint.where} allows no password "
                f"login on this connection (LOGINDISABLED); {hint}. The password was not sent")

    def _login_refused(self, exc: LoginError) -> MailboxError:
        account = self.mail_account
        where = account.endpoint.where
        text = server_text(exc, account.password)
        code = response_code(text)
        if code in LOGIN_LATER:
            return MailboxError(f"{account.label}: the server {where} cannot log in "
                                f"{account.username!r} now ({text}); the next run tries again")
        if code == "PRIVACYREQUIRED":
            return MailboxConfigurationError(
                f"{account.label}: the server {where} allows no password login without TLS "
                f"({text}); use security='starttls' or 'tls'")
        return MailboxConfigurationError(
            f"{account.label}: the server {where} refused the login of {account.username!r} "
            f"({text}); check the username and password")

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Translate driver errors; a failed connection is dropped and rebuilt on next use."""
        try:
            yield
        except HelpdeskError:
            raise
        except (*DRIVER_ERRORS, *ANSWER_ERRORS) as exc:
            self._drop()
            raise MailboxError(
                f"{self.mail_account.address}: {action} failed: {self._describe(exc)}"
            ) from exc

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._forget()
        if client is not None:
            self._shutdown(client)

    def _forget(self) -> None:
        self._uidvalidity = None
        self._target_exists = False

    @staticmethod
    def _shutdown(client: Any) -> None:
        with suppress(*DRIVER_ERRORS):
            client.shutdown()

    def _describe(self, exc: BaseException) -> str:
        return scrub(str(exc) or type(exc).__name__, self.mail_account.password)


    # -- folder and keys -------------------------------------------------------------------

    def _select(self, client: Any) -> int:
        account = self.mail_account
        info = client.select_folder(account.folder)
        if account.after == "flag":
            # Without a stored keyword every message would be listed again on every poll.
            permanent = set(info.get(b"PERMANENTFLAGS", ()))
            if not permanent & {b"\\*", DONE_KEYWORD}:
                raise MailboxError(
                    f"{account.address}: folder {account.folder!r} cannot keep the keyword "
                    f"{DONE_KEYWORD.decode()}; use after='move' or after='delete'"
                )
        self._uidvalidity = int(info[b"UIDVALIDITY"])
        return self._uidvalidity

    def _uid(self, client: Any, key: str) -> int:
        """The UID a key names, refusing keys from an earlier UIDVALIDITY of the folder."""
        uidvalidity_text, colon, uid_text = key.partition(":")
        if not (colon and uidvalidity_text.isdigit() and uid_text.isdigit()):
            raise MailboxError(f"{self.mail_account.address}: {key!r} is not an IMAP message key")
        current = self._uidvalidity if self._uidvalidity is not None else self._select(client)
        if int(uidvalidity_text) != current:
            raise MailboxError(
                f"{self.mail_account.address}: key {key} is from UIDVALIDITY {uidvalidity_text}, "
                f"but folder {self.mail_account.folder!r} now has {current}; list it again"
            )
        return int(uid_text)

    def _size(self, client: Any, uid: int, key: str) -> int:
        answer = client.fetch([uid], ["RFC822.SIZE"]).get(uid)
        if not answer or b"RFC822.SIZE" not in answer:
            raise self._missing(key)
        return int(answer[b"RFC822.SIZE"])

    def _missing(self, key: str) -> MailboxError:
        account = self.mail_account
        return MailboxError(f"{account.address}: message {key} is no longer in {account.folder!r}")

    # -- acknowledge modes -----------------------------------------------------------------

    def _move(self, client: Any, uid: int) -> None:
        target = self.mail_account.move_to
        assert target is not None  # guaranteed by MailAccount
        self._ensure_folder(client, target)
        if self._supports_move(client):
            client.move([uid], target)
            return
        client.copy([uid], target)
        client.add_flags([uid], [DELETED], silent=True)
        self._expunge(client, uid)

    def _ensure_folder(self, client: Any, folder: str) -> None:
        if self._target_exists:
            return
        if not client.folder_exists(folder):
            try:
                client.create_folder(folder)
            except imaplib.IMAP4.error:
                # Another worker may have created it a moment ago.
                if not client.folder_exists(folder):
                    raise
        self._target_exists = True

    @staticmethod
    def _supports_move(client: Any) -> bool:
        return bool(client.has_capability("MOVE"))

    @staticmethod
    def _expunge(client: Any, uid: int) -> None:
        # UID EXPUNGE removes only our message; plain EXPUNGE would also remove messages that
        # someone else marked \Deleted, which is still their business.
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()


def _capabilities(client: Any) -> str:
    return " ".join(c.decode("ascii", "replace") for c in client.capabilities()) or "none"
