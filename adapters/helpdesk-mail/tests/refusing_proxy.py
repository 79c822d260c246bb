"""A TCP proxy in front of Dovecot that answers some commands itself instead of forwarding
them: the server that refuses, forever, to flag, move or delete one message.

``refuse`` is given each complete command line from the client and returns the answer to
send back instead (``b"a7 NO [CANNOT] ..."``), or None to forward the line. Commands are read
line by line; the tests send no literals through it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable

from dovecot_server import CuttingProxy, _close_pair

Refuse = Callable[[bytes], bytes | None]


class RefusingProxy(CuttingProxy):
    """A :class:`CuttingProxy` (which accepts and pairs the connections) whose client-to-server
    direction goes line by line through ``refuse``."""

    def __init__(self, target_port: int, refuse: Refuse) -> None:
        self.refuse = refuse
        self.refused: list[bytes] = []
        self._to_client = threading.Lock()  # our answers and the server's never interleave
        super().__init__(target_port)

    def _pump(self, source: socket.socket, sink: socket.socket,
              pair: tuple[socket.socket, socket.socket], downstream: bool) -> None:
        with contextlib.suppress(OSError):
            if downstream:
                while chunk := source.recv(65536):
                    with self._to_client:
                        sink.sendall(chunk)
            else:
                self._commands(source, sink)
        _close_pair(pair)

    def _commands(self, client: socket.socket, upstream: socket.socket) -> None:
        pending = b""
        while chunk := client.recv(65536):
            pending += chunk
            while b"\r\n" in pending:
                line, pending = pending.split(b"\r\n", 1)
                answer = self.refuse(line)
                if answer is None:
                    upstream.sendall(line + b"\r\n")
                    continue
                self.refused.append(line)
                with self._to_client:
                    client.sendall(answer + b"\r\n")


def imap_refusing(uid: int) -> Refuse:
    """``UID STORE``, ``UID MOVE``, ``UID COPY`` and ``UID EXPUNGE`` of ``uid`` answered NO."""
    pattern = re.compile(rb"^(\S+) UID (STORE|MOVE|COPY|EXPUNGE) (\d+)(?:\s|$)", re.IGNORECASE)

    def refuse(line: bytes) -> bytes | None:
        match = pattern.match(line)
        if match is None or int(match.group(3)) != uid:
            return None
        return match.group(1) + b" NO [CANNOT] The test proxy refuses this message"

    return refuse


def pop3_refusing(number: int) -> Refuse:
    """``DELE number`` answered -ERR."""

    def refuse(line: bytes) -> bytes | None:
        if line.upper() == f"DELE {number}".encode():
            return b"-ERR The test proxy refuses this message"
        return None

    return refuse
