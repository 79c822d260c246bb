"""Property: whatever the deliveries, repeats, UIDVALIDITY changes and kills, every distinct
mail ends up stored exactly once, and nothing leaves the server before it is committed."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.services.conftest import T0
from tests.services.mail_support import raw_mail

from helpdesk_core import Settings, bootstrap
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory, InMemoryStorage
from helpdesk_core.testing import MemoryInbox


class Killed(BaseException):
    """The process died at this point."""


class Fuse:
    """Blows at the n-th armed call."""

    def __init__(self) -> None:
        self.left: int | None = None

    def arm(self, calls: int | None) -> None:
        self.left = calls

    def tick(self) -> None:
        if self.left is None:
            return
        if self.left == 0:
            self.left = None
            raise Killed
        self.left -= 1


class KillableStorage:
    """In-memory storage whose commits can die before anything is applied."""

    def __init__(self, fuse: Fuse) -> None:
        self.inner = InMemoryStorage()
        self.fuse = fuse

    def unit_of_work(self, *, read_only: bool = False) -> Any:
        uow = self.inner.unit_of_work(read_only=read_only)
        commit = uow.commit

        def dying_commit() -> None:
            if not read_only:
                self.fuse.tick()
            commit()

        uow.commit = dying_commit  # type: ignore[method-assign]
        return uow

    def migrate(self) -> None:
        """Nothing to migrate."""

    def check_schema(self) -> None:
        """No schema to check."""

    def close(self) -> None:
        """Nothing to release."""


class ServerInbox(MemoryInbox):
    """Acknowledging can die too: after the commit, before the server stored the flag."""

    def __init__(self, fuse: Fuse) -> None:
        super().__init__("support")
        self.fuse = fuse
        self.ever_acknowledged: set[bytes] = set()

    def acknowledge(self, key: str) -> None:
        self.fuse.tick()
        self.ever_acknowledged.add(self.messages[key])
        super().acknowledge(key)


op = st.one_of(
    st.tuples(st.just("new"), st.integers(0, 3)),
    st.tuples(st.just("repeat"), st.integers(0, 50)),
    st.tuples(st.just("reply"), st.integers(0, 50)),
    st.tuples(st.just("fetch"), st.none() | st.integers(0, 12)),
    st.tuples(st.just("renumber"), st.none()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_every_mail_is_stored_exactly_once(ops: list[tuple[str, Any]]) -> None:
    fuse = Fuse()
    storage = KillableStorage(fuse)
    desk = bootstrap(Settings(storage="memory", autoload_plugins=False), storage=storage,
                     directory=InMemoryDirectory(), clock=FakeClock(T0), environ={})
    inbox = ServerInbox(fuse)
    sent: list[bytes] = []  # distinct mails, in delivery order
    counter = 0
    for name, arg in ops:
        if name == "new":
            counter += 1
            data = raw_mail(sender=f"c{arg}@example.org", subject=f"Dotaz {counter}",
                            message_id=f"<n{counter}@example.org>")
            sent.append(data)
            inbox.deliver(data)
        elif name == "repeat" and sent:
            original = sent[arg % len(sent)]
            inbox.deliver(b"Delivered-To: info@shop.example\r\n" + original)
        elif name == "reply" and sent:
            counter += 1
            original = sent[arg % len(sent)]
            parent = original.split(b"Message-ID: ")[1].split(b"\n")[0].strip().decode()
            sender = original.split(b"From: ")[1].split(b"\n")[0].strip().decode()
            data = raw_mail(sender=sender, subject="Re: doplnění", in_reply_to=parent,
                            message_id=f"<r{counter}@example.org>")
            sent.append(data)
            inbox.deliver(data)
        elif name == "fetch":
            fuse.arm(arg)
            with contextlib.suppress(Killed):
                desk.mail.fetch(inbox)
            fuse.arm(None)
        elif name == "renumber":
            inbox.renumber()
        # Nothing is ever removed from the server before its result is committed.
        stored = _stored_message_ids(desk)
        for data in inbox.ever_acknowledged:
            assert _message_id(data) in stored
    desk.mail.fetch(inbox)
    assert inbox.messages == {}
    stored = _stored_message_ids(desk)
    assert sorted(stored) == sorted(_message_id(d) for d in sent)


def _message_id(data: bytes) -> str:
    return data.split(b"Message-ID: ")[1].split(b"\n")[0].strip().decode()


def _stored_message_ids(desk: Any) -> list[str]:
    ids: list[str] = []
    page = desk.tickets.queue()
    tickets = list(page.items)
    while page.next_cursor is not None:  # pragma: no cover - fewer than 50 here
        page = desk.tickets.queue(after=page.next_cursor)
        tickets += page.items
    for ticket in tickets:
        ids += [a.meta["message_id"] for a in desk.tickets.articles(ticket.number)
                if a.direction.value == "inbound"]
    return ids
