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
