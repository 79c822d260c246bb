"""What the in-memory reference does beyond the contract: one database shared by the
instances and stores made on it, and row locks that end with their unit."""

from __future__ import annotations

import copy
import gc
from datetime import timedelta

import pytest

from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import StorageError
from helpdesk_core.inmemory import InMemoryBlobStore, InMemoryStorage, InMemoryTemplateStore
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets

LEASE = timedelta(minutes=5)


def _queue(storage: InMemoryStorage) -> str:
    [ticket] = store_tickets(storage, [open_ticket()])
    message = OutboxMessage.create(ticket_id=ticket.id, kind="reply", channel=Channel.EMAIL,
                                   sender="s@us", recipients=("a@x.cz",), subject="s",
                                   body_text="t", at=T0)
    with storage.unit_of_work() as uow:
        uow.outbox.add(message)
        uow.commit()
    return message.id


def test_a_blob_store_of_its_own_writes_at_once_whatever_the_unit() -> None:
    storage = InMemoryStorage()
    for store in (InMemoryBlobStore(), InMemoryBlobStore(InMemoryStorage())):
        with storage.unit_of_work() as uow:
            key = store.put(b"elsewhere", unit=uow)
            uow.rollback()
        assert store.get(key) == b"elsewhere"  # another database: not the unit's to undo


def test_a_unit_of_a_reopened_instance_is_a_unit_of_the_same_database() -> None:
    storage = InMemoryStorage()
    blobs = InMemoryBlobStore(storage)
    other = storage.reopen()
    with other.unit_of_work() as uow:
        kept = blobs.put(b"kept", unit=uow)
        assert not blobs.exists(kept)
        uow.commit()
    with other.unit_of_work() as uow:
        dropped = blobs.put(b"dropped", unit=uow)
    assert blobs.get(kept) == b"kept"
    assert not blobs.exists(dropped)
    assert InMemoryBlobStore(other).get(kept) == b"kept"


def test_templates_live_in_the_database_of_their_storage() -> None:
    from helpdesk_core.domain.templates import MessageTemplate, TemplateKind

    storage = InMemoryStorage()
    template = MessageTemplate(key="thanks", kind=TemplateKind.REPLY, language="cs",
                               name="thanks", subject="Re", body_text="Dobrý den")
    InMemoryTemplateStore(storage).put(template)
    assert InMemoryTemplateStore(storage.reopen()).all() == [template]
    assert InMemoryTemplateStore().all() == []
    assert InMemoryTemplateStore(InMemoryStorage()).all() == []


def test_closing_one_instance_leaves_the_other_working() -> None:
    storage = InMemoryStorage()
    other = storage.reopen()
    storage.close()
    (ticket,) = store_tickets(other, [open_ticket()])
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.get(ticket.id).number == ticket.number


def test_a_unit_dropped_without_commit_or_rollback_releases_its_claims() -> None:
    storage = InMemoryStorage()
    message_id = _queue(storage)
    now = T0 + timedelta(hours=1)
    abandoned = storage.unit_of_work()
    assert [m.id for m in abandoned.outbox.claim(now=now, lease=LEASE, limit=5)] == [message_id]
    with storage.unit_of_work() as uow:
        assert uow.outbox.claim(now=now, lease=LEASE, limit=5) == []  # locked meanwhile
    del abandoned, uow
    gc.collect()  # as a database ends the transaction of a connection that went away
    with storage.unit_of_work() as uow:
        [claimed] = uow.outbox.claim(now=now, lease=LEASE, limit=5)
        uow.commit()
    assert claimed.id == message_id
    assert claimed.leased_until == now + LEASE


def test_a_failed_commit_keeps_the_claims_until_the_unit_ends() -> None:
    storage = InMemoryStorage()
    message_id = _queue(storage)
    now = T0 + timedelta(hours=1)
    ticket = open_ticket()
    with pytest.raises(StorageError), storage.unit_of_work() as first:
        assert [m.id for m in first.outbox.claim(now=now, lease=LEASE, limit=5)] == [message_id]
        first.tickets.add(ticket)
        store_tickets(storage, [copy.deepcopy(ticket)])  # someone else adds it first
        try:
            first.commit()
        finally:
            with storage.unit_of_work() as second:  # as a failed transaction, until it ends
                assert second.outbox.claim(now=now, lease=LEASE, limit=5) == []
    with storage.unit_of_work() as third:
        assert [m.id for m in third.outbox.claim(now=now, lease=LEASE, limit=5)] == [message_id]
        with storage.unit_of_work(read_only=True) as reader:
            assert reader.outbox.get(message_id).leased_until is None
