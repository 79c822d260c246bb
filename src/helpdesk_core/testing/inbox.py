"""A mailbox in memory, with the failures a real server produces, for fetch-loop tests."""

from __future__ import annotations

import itertools

from helpdesk_core.errors import AcknowledgementRefused, MailboxError
from helpdesk_core.ports.messaging import MailRef

__all__ = ["MemoryInbox"]


class MemoryInbox:
    """Implements the MailInbox port. ``fail_download`` / ``fail_acknowledge`` hold keys whose
    next call raises MailboxError once (a dropped connection); ``refuse_acknowledge`` holds
    keys the server refuses to flag every time (AcknowledgementRefused); ``acknowledged``
    records the server-side acknowledgements in order."""

    def __init__(self, account: str = "default", *, uidvalidity: int = 1) -> None:
        self.account = account
        self.uidvalidity = uidvalidity
        self._uids = itertools.count(1)
        self.messages: dict[str, bytes] = {}
        self.acknowledged: list[str] = []
        self.fail_download: set[str] = set()
        self.fail_acknowledge: set[str] = set()
        self.refuse_acknowledge: set[str] = set()
        self.downloads = 0
        self.closed = 0

    def deliver(self, data: bytes) -> str:
        key = f"{self.uidvalidity}:{next(self._uids)}"
        self.messages[key] = data
        return key

    def renumber(self) -> None:
        """A new UIDVALIDITY: every message still here gets a new key."""
        self.uidvalidity += 1
        self._uids = itertools.count(1)
        old, self.messages = self.messages, {}
        for data in old.values():
            self.deliver(data)

    def list_new(self, *, limit: int) -> list[MailRef]:
        return [MailRef(key, len(data)) for key, data in self.messages.items()][:limit]

    def download(self, key: str) -> bytes:
        if key in self.fail_download:
            self.fail_download.discard(key)
            raise MailboxError("connection lost during download")
        if key not in self.messages:
            raise MailboxError(f"no message {key}")
        self.downloads += 1
        return self.messages[key]

    def acknowledge(self, key: str) -> None:
        if key in self.fail_acknowledge:
            self.fail_acknowledge.discard(key)
            raise MailboxError("connection lost before the flag was stored")
        if key in self.refuse_acknowledge:
            raise AcknowledgementRefused(f"NO [CANNOT] flagging {key} refused", key=key)
        self.messages.pop(key, None)
        self.acknowledged.append(key)

    def close(self) -> None:
        self.closed += 1
