"""A throwaway Kannel (bearerbox + smsbox) with two fakesmsc SMSCs on 127.0.0.1, and the
HTTP server its callbacks go to.

- SMSC ``mt`` takes the messages sent through sendsms: a long-running ``fakesmsc`` is its
  client and prints every message it receives ("Got message N: <from to type data>"). The
  fake SMSC reports every message with a DLR mask as delivered to the phone (type 1), and
  bearerbox itself reports it delivered to the SMSC (type 8).
- SMSC ``mo`` is where inbound SMS come from: :meth:`Kannel.inject` runs ``fakesmsc -m 1``
  with one message, waits until smsbox has called the ``get-url`` with it, and stops it (the
  fake SMSC serves one client at a time).

Everything lives in one temporary directory: the configuration and the logs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import attrs

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
INSTALL_LOCK = "/tmp/helpdesk-kannel-install.lock"
USERNAME = "helpdesk"
PASSWORD = "s3cret-Kannel-pw"
CALLBACK_TOKEN = "test-callback-token"

CONFIG = """\
group = core
admin-port = {admin}
admin-password = "admin-{admin}"
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox}
box-allow-ip = "127.0.0.1"
log-file = "{root}/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = mt
port = {mt}
connect-allow-ip = "127.0.0.1"
allowed-smsc-id = mt

group = smsc
smsc = fake
smsc-id = mo
port = {mo}
connect-allow-ip = "127.0.0.1"
allowed-smsc-id = mo

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{root}/smsbox.log"
log-level = 0
mo-recode = true

group = sendsms-user
username = {username}
password = "{password}"
forced-smsc = mt
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "http://127.0.0.1:{callbacks}/kannel/inbound?from=%p&to=%P&text=%b&coding=%c&charset=%C&id=%I&time=%T&key={token}"
"""


class KannelUnavailable(RuntimeError):
    """Kannel is not installed and could not be installed, or it did not start."""


def ensure_installed() -> None:
    """Install Kannel (kannel, kannel-extras for fakesmsc) when missing (Debian, as root)."""
    binaries = (BEARERBOX, SMSBOX, FAKESMSC)
    if all(Path(b).exists() for b in binaries):
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise KannelUnavailable("Kannel is missing and cannot be installed with apt-get")
    with open(INSTALL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(Path(b).exists() for b in binaries):
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        wait = ["-o", "DPkg::Lock::Timeout=300"]
        for command in (["apt-get", *wait, "update"],
                        ["apt-get", *wait, "install", "-y", "kannel", "kannel-extras"]):
            result = subprocess.run(command, capture_output=True, text=True, env=env,
                                    check=False)
            if result.returncode != 0:
                raise KannelUnavailable(
                    f"{' '.join(command)} failed: {result.stderr.strip()[-2000:]}")
    missing = [b for b in binaries if not Path(b).exists()]
    if missing:
        raise KannelUnavailable(f"still missing after apt-get install: {missing}")


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


# -- the callback server ------------------------------------------------------------------


@attrs.frozen
class Call:
    method: str
    path: str
    query: str
    status: str

    @property
    def params(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class CallbackServer:
    """An HTTP server on 127.0.0.1 that hands every request to ``app`` (a WSGI app the test
    sets) and records it."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None
        self.calls: list[Call] = []
        self._changed = threading.Condition()
        self._server: WSGIServer = make_server("127.0.0.1", 0, self._dispatch,
                                               handler_class=_QuietHandler)
        self.port: int = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        seen: list[str] = []

        def recording_start(status: str, headers: Any, *rest: Any) -> Any:
            seen.append(status)
            return start_response(status, headers, *rest)

        app = self.app
        if app is None:
            body = [b""]
            recording_start("200 OK", [("Content-Length", "0")])
        else:
            body = list(app(environ, recording_start))
        with self._changed:
            self.calls.append(Call(environ.get("REQUEST_METHOD", ""),
                                   environ.get("PATH_INFO", ""),
                                   environ.get("QUERY_STRING", ""), seen[0] if seen else ""))
            self._changed.notify_all()
        return body

    def wait_for(self, predicate: Callable[[Call], bool], *, timeout: float = 15,
                 count: int = 1, since: int = 0) -> list[Call]:
        """At least ``count`` recorded calls (from the ``since``-th on) that match."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls[since:] if predicate(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching callback within {timeout}s; got {self.calls!r}")
                self._changed.wait(left)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- Kannel -------------------------------------------------------------------------------


_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$")


@attrs.frozen
class MtMessage:
    """A message the SMSC received, as fakesmsc printed it, with the text decoded."""

    sender: str
    receiver: str
    kind: str  # text, data, ucs-2, udh
    text: str


def _decode(kind: str, data: str) -> str:
    if kind == "text":
        return data
    raw = urllib.parse.unquote_to_bytes(data.replace("+", "%20"))
    if kind in ("ucs-2", "ucs2"):
        return raw.decode("utf-16-be")
    return raw.decode("utf-8", "replace")


@attrs.frozen
class Kannel:
    root: Path
    sendsms_port: int
    mo_port: int
    callbacks: CallbackServer
    username: str = USERNAME
    password: str = PASSWORD
    token: str = CALLBACK_TOKEN

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    @property
    def dlr_url(self) -> str:
        return f"{self.callbacks.url}/kannel/dlr"

    def log(self, name: str = "bearerbox.log") -> str:
        path = self.root / name
        return path.read_text(errors="replace") if path.exists() else ""

    def received(self) -> list[MtMessage]:
        """Every message the ``mt`` SMSC got so far."""
        found = []
        for line in self.log("fakesmsc-mt.log").splitlines():
            match = _GOT.search(line)
            if match:
                sender, receiver, kind, data = match.groups()
                found.append(MtMessage(sender, receiver, kind, _decode(kind, data)))
        return found

    def wait_received(self, predicate: Callable[[MtMessage], bool], *,
                      timeout: float = 15) -> MtMessage:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.received():
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"the SMSC got no such message: {self.received()!r}")
            time.sleep(0.05)

    def inject(self, sender: str, receiver: str, text: str, *, timeout: float = 15) -> Call:
        """An SMS from a phone: through the ``mo`` SMSC to smsbox and its get-url."""
        data = urllib.parse.quote_from_bytes(text.encode("utf-16-be"))
        before = len(self.callbacks.calls)
        with (self.root / "fakesmsc-mo.log").open("ab") as out:
            process = subprocess.Popen(
                [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.mo_port), "-i", "0", "-m", "1",
                 f"{sender} {receiver} ucs2 {data}"],
                stdout=out, stderr=subprocess.STDOUT)
        try:
            calls = self.callbacks.wait_for(
                lambda c: c.path == "/kannel/inbound" and c.params.get("from") == sender,
                timeout=timeout, since=before)
        finally:
            _stop(process)
        return calls[-1]


def _wait_listening(ports: list[int], processes: list[subprocess.Popen[bytes]],
                    deadline: float) -> None:
    pending = list(ports)
    while pending:
        for process in processes:
            if process.poll() is not None:
                raise KannelUnavailable(f"{process.args!r} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise KannelUnavailable(f"nothing listens on {pending} in time")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", pending[0]),
                                                                     1):
            pending.pop(0)
            continue
        time.sleep(0.05)


def _wait_log(path: Path, needle: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise KannelUnavailable(f"{needle!r} did not appear in {path.name} in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def running_kannel() -> Iterator[Kannel]:
    """bearerbox, smsbox and the ``mt`` fakesmsc on free ports; all stopped at the end."""
    ensure_installed()
    root = Path(tempfile.mkdtemp(prefix="helpdesk-kannel-"))
    callbacks = CallbackServer()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        try:
            kannel = _start(root, callbacks, processes)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KannelUnavailable(f"cannot start Kannel: {exc}") from exc
        except KannelUnavailable as exc:
            logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                             for p in sorted(root.glob("*.log")))
            raise KannelUnavailable(f"{exc}\n{logs}") from None
        yield kannel
    finally:
        for process in reversed(processes):
            _stop(process)
        callbacks.close()
        shutil.rmtree(root, ignore_errors=True)


def _start(root: Path, callbacks: CallbackServer,
           processes: list[subprocess.Popen[bytes]]) -> Kannel:
    admin, smsbox, mt, mo, sendsms = free_ports(5)
    (root / "kannel.conf").write_text(CONFIG.format(
        root=root, admin=admin, smsbox=smsbox, mt=mt, mo=mo, sendsms=sendsms,
        callbacks=callbacks.port, username=USERNAME, password=PASSWORD,
        token=CALLBACK_TOKEN))
    deadline = time.monotonic() + 30

    def start(name: str, *command: str) -> None:
        with (root / f"{name}.log").open("ab") as out:
            processes.append(subprocess.Popen(list(command), stdout=out,
                                              stderr=subprocess.STDOUT, cwd=root))

    start("bearerbox-stdout", BEARERBOX, str(root / "kannel.conf"))
    _wait_listening([admin, smsbox, mt, mo], processes, deadline)
    start("fakesmsc-mt", FAKESMSC, "-H", "127.0.0.1", "-r", str(mt), "-m", "0",
          "0 0 text unused")
    start("smsbox-stdout", SMSBOX, str(root / "kannel.conf"))
    _wait_listening([sendsms], processes, deadline)
    _wait_log(root / "bearerbox.log", "Fakesmsc client connected", deadline)
    return Kannel(root=root, sendsms_port=sendsms, mo_port=mo, callbacks=callbacks)
