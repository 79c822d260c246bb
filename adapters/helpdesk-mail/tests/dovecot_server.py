"""A throwaway Dovecot (IMAP + POP3) on 127.0.0.1 for the adapter's tests.

Everything lives in one temporary directory: configuration, sockets, state, logs and mail.
Every user name logs in with the one password (a static passdb), and a mailbox is created on
first login, so a test gets a fresh mailbox by picking a new user name.

Servers that do not fit an account's settings, on the same ports of other loopback addresses:
``STRICT_HOST`` (127.0.0.2) allows password logins only over TLS (IMAP advertises
LOGINDISABLED, POP3 lists no USER until STLS), ``NO_TLS_HOST`` (127.0.0.3) offers no TLS at
all (no STARTTLS, no STLS). A user ``...@unavailable.test`` cannot log in for now: the server
answers [UNAVAILABLE] (IMAP) or [SYS/TEMP] (POP3), as when its user database is down.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import imapclient

from helpdesk_mail.accounts import MailAccount

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
INSTALL_LOCK = "/tmp/helpdesk-dovecot-install.lock"
PASSWORD = "s3cret-Helpdesk-pw"  # no spaces: static passdb args split on them
STRICT_HOST = "127.0.0.2"
NO_TLS_HOST = "127.0.0.3"
UNAVAILABLE_DOMAIN = "unavailable.test"
# Dovecot refuses to serve mail as root; mail runs as nobody/nogroup.
MAIL_UID = 65534
MAIL_GID = 65534

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
instance_name = helpdesk-test-{port_imap}
protocols = imap pop3
listen = 127.0.0.1, {strict_host}, {no_tls_host}
ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem
ssl_dh = <{root}/tls/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_login_user = {login_user}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
pop3_uidl_format = %08Xu%08Xv
# A user database that fails for now (checkpassword's exit status 111) for *@unavailable.test.
passdb {{
  driver = checkpassword
  args = {root}/auth-unavailable.sh
  username_filter = *@{unavailable_domain}
  result_internalfail = return-fail
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
# No auth penalty: after a wrong password anvil would delay the next logins from 127.0.0.1 by
# seconds. Auth cannot reach a socket of mode 0, and then skips the penalty.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {port_imap}
  }}
  inet_listener imaps {{
    port = {port_imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port_pop3}
  }}
  inet_listener pop3s {{
    port = {port_pop3s}
    ssl = yes
  }}
}}
local {strict_host} {{
  disable_plaintext_auth = yes
}}
local {no_tls_host} {{
  ssl = no
}}
"""


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed here and could not be installed, or it did not start."""


@attrs.frozen
class Dovecot:
    root: Path
    imap_port: int
    imaps_port: int
    pop3_port: int
    pop3s_port: int
    ca_file: str
    host: str = "127.0.0.1"
    password: str = PASSWORD

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def doveadm(self, *args: str) -> str:
        result = subprocess.run(
            [DOVEADM, "-c", str(self.config), *args],
            capture_output=True, text=True, timeout=20, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def kick(self, user: str) -> None:
        """Disconnect every session of a user, server-side, and wait until they are gone."""
        self.doveadm("kick", user)
        deadline = time.monotonic() + 5
        while f"\n{user} " in self.doveadm("who") and time.monotonic() < deadline:
            time.sleep(0.02)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def ensure_installed() -> None:
    """Install Dovecot from the distribution's packages when it is missing (Debian, as root)."""
    if Path(DOVECOT).exists() and Path(DOVEADM).exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise DovecotUnavailable(f"{DOVECOT} is missing and cannot be installed with apt-get")
    # Parallel test workers install once: the others wait on the lock, then find the binary.
    with open(INSTALL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if Path(DOVECOT).exists() and Path(DOVEADM).exists():
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        wait = ["-o", "DPkg::Lock::Timeout=300"]
        for command in (["apt-get", *wait, "update"],
                        ["apt-get", *wait, "install", "-y", "dovecot-imapd", "dovecot-pop3d"]):
            result = subprocess.run(command, capture_output=True, text=True, env=env,
                                    check=False)
            if result.returncode != 0:
                raise DovecotUnavailable(
                    f"{' '.join(command)} failed: {result.stderr.strip()[-2000:]}"
                )
    if not Path(DOVECOT).exists():
        raise DovecotUnavailable(f"{DOVECOT} is still missing after apt-get install")


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _make_certificate(directory: Path) -> None:
    directory.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", f"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:{STRICT_HOST}",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        capture_output=True, check=True, timeout=60,
    )
    # Dovecot's packaged DH parameters; generating fresh ones takes far too long for a test.
    shutil.copy("/usr/share/dovecot/dh.pem", directory / "dh.pem")


def _user(name: str, fallback: str) -> str:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return fallback
    return name


def _wait_listening(ports: list[int], process: subprocess.Popen[bytes], deadline: float) -> None:
    pending = list(ports)
    while pending:
        if process.poll() is not None:
            raise DovecotUnavailable(f"dovecot exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise DovecotUnavailable(f"dovecot did not listen on {pending} in time")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", pending[0]), 1):
            pending.pop(0)
            continue
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _prepare(root: Path) -> None:
    try:
        # Dovecot's login and mail processes are unprivileged and must reach base_dir and mail.
        root.chmod(0o755)
        (root / "mail").mkdir()
        os.chown(root / "mail", MAIL_UID, MAIL_GID)
        _make_certificate(root / "tls")
        unavailable = root / "auth-unavailable.sh"
        unavailable.write_text("#!/bin/sh\n# checkpassword: 111 is a temporary failure\nexit 111\n")
        unavailable.chmod(0o755)
    except (OSError, subprocess.SubprocessError) as exc:
        raise DovecotUnavailable(f"cannot prepare {root}: {exc}") from exc


def _start(root: Path) -> tuple[subprocess.Popen[bytes], Dovecot]:
    """Start Dovecot on four free ports; tries other ports when one was taken meanwhile."""
    for attempt in range(3):
        imap, imaps, pop3, pop3s = free_ports(4)
        config = root / "dovecot.conf"
        config.write_text(CONFIG.format(
            root=root, port_imap=imap, port_imaps=imaps, port_pop3=pop3, port_pop3s=pop3s,
            uid=MAIL_UID, gid=MAIL_GID, password=PASSWORD, strict_host=STRICT_HOST,
            no_tls_host=NO_TLS_HOST, unavailable_domain=UNAVAILABLE_DOMAIN,
            internal_user=_user("dovecot", "nobody"), login_user=_user("dovenull", "nobody"),
        ))
        with (root / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)],
                                       stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            _wait_listening([imap, imaps, pop3, pop3s], process, time.monotonic() + 20)
        except DovecotUnavailable as exc:
            _stop(process)
            if attempt == 2:
                detail = (root / "stderr.log").read_text(errors="replace")
                log = (root / "dovecot.log").read_text(errors="replace") if (
                    root / "dovecot.log").exists() else ""
                raise DovecotUnavailable(f"{exc}\n{detail}\n{log[-2000:]}") from None
            continue
        server = Dovecot(root=root, imap_port=imap, imaps_port=imaps, pop3_port=pop3,
                         pop3s_port=pop3s, ca_file=str(root / "tls" / "cert.pem"))
        return process, server
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in the foreground on free ports; stop it and remove its files at the end."""
    ensure_installed()
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    try:
        _prepare(root)
        process, server = _start(root)
        try:
            yield server
        finally:
            _stop(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- a user's mailbox, seen from the test's side ------------------------------------------


@attrs.frozen
class UserMailbox:
    """One user's mail on the test server, changed through a separate IMAP login."""

    server: Dovecot
    user: str

    @contextlib.contextmanager
    def client(self) -> Iterator[imapclient.IMAPClient]:
        client = imapclient.IMAPClient(self.server.host, port=self.server.imap_port, ssl=False,
                                       timeout=10)
        try:
            client.login(self.user, self.server.password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(self, *messages: bytes, folder: str = "INBOX",
               flags: tuple[bytes, ...] = ()) -> None:
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for data in messages:
                client.append(folder, data, flags=flags)

    def contents(self, folder: str = "INBOX") -> dict[int, tuple[set[bytes], bytes]]:
        """UID → (flags, bytes) of every message in a folder, read without changing flags."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search()
            answer = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
            return {uid: (set(item[b"FLAGS"]), bytes(item[b"BODY[]"]))
                    for uid, item in answer.items()}

    def bodies(self, folder: str = "INBOX") -> list[bytes]:
        return [body for _, (_, body) in sorted(self.contents(folder).items())]

    def account(self, protocol: str = "imap", **overrides: Any) -> MailAccount:
        port = self.server.imap_port if protocol == "imap" else self.server.pop3_port
        values: dict[str, Any] = {
            "name": f"test-{protocol}", "protocol": protocol, "host": self.server.host,
            "port": port, "security": "none", "username": self.user,
            "password": self.server.password, "timeout": 5.0,
        }
        values.update(overrides)
        return MailAccount(**values)


def message(number: int, *, body: bytes = b"", subject: str = "") -> bytes:
    """A small RFC 5322 message with CRLF line ends, as a server stores and sends it."""
    subject = subject or f"Message {number}"
    text = body or f"Body of message {number}.\r\n".encode()
    return (
        f"From: Customer {number} <customer{number}@example.cz>\r\n"
        f"To: podpora@example.cz\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <m{number}@example.cz>\r\n"
        f"\r\n"
    ).encode() + text


# -- a TCP proxy that can drop connections in the middle of a transfer ---------------------


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to a server; ``cut_after(n)`` closes every connection once
    ``n`` more bytes went from the server to the client (one shot); ``cut_on(b"PASS ")``
    closes a connection instead of forwarding a command that starts so."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._budget: int | None = None
        self._cut_on: bytes | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def cut_after(self, count: int) -> None:
        with self._lock:
            self._budget = count

    def cut_on(self, command: bytes) -> None:
        with self._lock:
            self._cut_on = command

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close_pair(pair)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            pair = (client, upstream)
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._pump, args=(upstream, client, pair, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(client, upstream, pair, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket,
              pair: tuple[socket.socket, socket.socket], downstream: bool) -> None:
        try:
            while chunk := source.recv(4096):
                cut = False
                if not downstream:
                    with self._lock:
                        command = self._cut_on
                    if command is not None and any(
                            line.upper().startswith(command)
                            or line.upper().split(b" ", 1)[-1].startswith(command)
                            for line in chunk.splitlines()):
                        self.cuts += 1
                        break
                if downstream:
                    with self._lock:
                        if self._budget is not None and len(chunk) >= self._budget:
                            chunk, cut = chunk[: self._budget], True
                            self._budget = None
                            self.cuts += 1
                        elif self._budget is not None:
                            self._budget -= len(chunk)
                sink.sendall(chunk)
                if cut:
                    break
        except OSError:
            pass
        _close_pair(pair)


def _close_pair(pair: tuple[socket.socket, socket.socket]) -> None:
    for sock in pair:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
