"""The Message-ID index: threading and repeat detection for mail.

Covers :class:`~helpdesk_core.ports.storage.MessageIndex`.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.mailbox import MessageRecord
from helpdesk_core.errors import StorageError
from helpdesk_core.ports.storage import MessageIndex, Storage
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets

__all__ = ["TestMessageIndex"]

COVERS = (MessageIndex,)


class TestMessageIndex:
    def test_message_index(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        first = MessageRecord(message_id="<a@x>", ticket_id=ticket.id,
                              direction=Direction.INBOUND, at=T0, article_id="a1",
                              fingerprint="f1")
        other = attrs.evolve(first, fingerprint="f2", article_id="a2",
                             at=T0 + timedelta(seconds=1))
        sent = MessageRecord(message_id="<ack@us>", ticket_id=ticket.id,
                             direction=Direction.OUTBOUND, at=T0)
        with storage.unit_of_work() as uow:
            uow.messages.add(first)
            uow.messages.add(other)  # the same id with other content is another mail
            uow.messages.add(sent)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.messages.find(["<a@x>"]) == [first, other]
            assert uow.messages.find(["<nope@x>", "<ack@us>"]) == [sent]
            assert uow.messages.find([]) == []
        with pytest.raises(StorageError), storage.unit_of_work() as uow:
            uow.messages.add(attrs.evolve(first, article_id="again"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert len(uow.messages.find(["<a@x>"])) == 2

    def test_move_repoints_only_the_named_articles_records(self, storage: Storage) -> None:
        [ticket, other] = store_tickets(storage, [open_ticket(), open_ticket()])

        def record(message_id: str, article_id: str | None) -> MessageRecord:
            return MessageRecord(message_id=message_id, ticket_id=ticket.id,
                                 direction=Direction.INBOUND, at=T0, article_id=article_id,
                                 fingerprint=f"f-{message_id}")

        moved, also_moved = record("<m1@x>", "a1"), record("<m2@x>", "a2")
        stays, without = record("<s@x>", "a3"), record("<n@x>", None)
        with storage.unit_of_work() as uow:
            for r in (moved, also_moved, stays, without):
                uow.messages.add(r)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.messages.move(["a1", "a2", "unknown"], other.id)
            added = record("<m3@x>", "a1")  # recorded in the unit, before its move
            uow.messages.add(added)
            uow.messages.move(["a1"], other.id)
            uow.messages.move([], ticket.id)
            assert uow.messages.find(["<m1@x>"]) == [attrs.evolve(moved, ticket_id=other.id)]
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            found = uow.messages.find(["<m1@x>", "<m2@x>", "<m3@x>", "<s@x>", "<n@x>"])
        assert {r.message_id: r.ticket_id for r in found} == {
            "<m1@x>": other.id, "<m2@x>": other.id, "<m3@x>": other.id,
            "<s@x>": ticket.id, "<n@x>": ticket.id}
        with storage.unit_of_work() as uow:  # and back, a rolled back move changes nothing
            uow.messages.move(["a2"], ticket.id)
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert [r.ticket_id for r in uow.messages.find(["<m2@x>"])] == [other.id]
