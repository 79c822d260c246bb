"""Finding and rewriting stored personal data: tickets by participant address, the records
of tickets, rewrites of articles' and events' content in place, deletions.

Covers :class:`~helpdesk_core.ports.privacy.ErasureStore`.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.mailbox import AutomaticSender, MessageRecord, StagedMail
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import NotFound
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.privacy import ErasureStore
from helpdesk_core.ports.storage import Storage
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets

__all__ = ["TestErasureStore"]

COVERS = (ErasureStore,)

JANA = Actor.customer("c-jana", "Jana Nováková")


def _ticket_with_history(storage: Storage) -> tuple[str, str]:
    """A ticket with Jana's message, her address added as a participant; and another."""
    ticket, other = open_ticket(), open_ticket()
    ticket.add_article(direction=Direction.INBOUND, channel=Channel.EMAIL, author=JANA,
                       body_text="Hello, Jana Nováková", at=T0, subject="From Jana",
                       meta={"from": "jana@example.cz"})
    ticket.add_participant("jana@example.cz", at=T0, actor=JANA)
    other.add_participant("petr@example.cz", at=T0, actor=JANA)
    store_tickets(storage, [ticket, other])
    return ticket.id, other.id


class TestErasureStore:
    def test_tickets_are_found_by_a_participant_s_address(self, storage: Storage) -> None:
        ticket_id, other_id = _ticket_with_history(storage)
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.erasure.tickets_with_address(["jana@example.cz"]) == [ticket_id]
            assert sorted(uow.erasure.tickets_with_address(
                ["jana@example.cz", "petr@example.cz"])) == sorted([ticket_id, other_id])
            assert uow.erasure.tickets_with_address(["JANA@example.cz"]) == []  # exact
            assert uow.erasure.tickets_with_address([]) == []

    def test_articles_and_events_are_rewritten_in_place(self, storage: Storage) -> None:
        ticket_id, _ = _ticket_with_history(storage)
        with storage.unit_of_work() as uow:
            [article] = uow.tickets.articles(ticket_id)
            events = uow.tickets.history(ticket_id)
            new_article = attrs.evolve(article, body_text="Hello, [erased]", subject="From x",
                                       author=Actor.customer("c-jana", "erased"),
                                       meta={"from": "erased@erased.invalid"})
            participant = events[-1]
            new_event = attrs.evolve(participant, new="erased@erased.invalid",
                                     actor=Actor.customer("c-jana", "erased"))
            uow.erasure.rewrite_articles([new_article])
            uow.erasure.rewrite_events([new_event])
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.tickets.articles(ticket_id) == [new_article]
            assert uow.tickets.history(ticket_id) == [*events[:-1], new_event]
            assert uow.erasure.tickets_with_address(["jana@example.cz"]) == []

    def test_rewriting_what_is_not_stored_is_not_found(self, storage: Storage) -> None:
        ticket_id, _ = _ticket_with_history(storage)
        with storage.unit_of_work() as uow:
            [article] = uow.tickets.articles(ticket_id)
            [*_, event] = uow.tickets.history(ticket_id)
            with pytest.raises(NotFound):
                uow.erasure.rewrite_articles([attrs.evolve(article, id="no-such-article")])
            with pytest.raises(NotFound):
                uow.erasure.rewrite_events([attrs.evolve(event, seq=event.seq + 100)])

    def test_a_rolled_back_rewrite_changes_nothing(self, storage: Storage) -> None:
        ticket_id, _ = _ticket_with_history(storage)
        with storage.unit_of_work() as uow:
            [article] = uow.tickets.articles(ticket_id)
            uow.erasure.rewrite_articles([attrs.evolve(article, body_text="x")])
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.tickets.articles(ticket_id) == [article]

    def test_records_of_tickets(self, storage: Storage) -> None:
        ticket_id, other_id = _ticket_with_history(storage)
        mail = StagedMail(account="support", key="1:1", size=10, staged_at=T0, updated_at=T0,
                          ticket_id=ticket_id)
        with storage.unit_of_work() as uow:
            for n, tid in enumerate((ticket_id, other_id, ticket_id)):
                uow.messages.add(MessageRecord(message_id=f"<m{n}@example.cz>", ticket_id=tid,
                                               direction=Direction.INBOUND,
                                               at=T0 + timedelta(minutes=n)))
            uow.staged_mail.add(mail)
            uow.staged_mail.add(attrs.evolve(mail, key="1:2", ticket_id=other_id))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert [r.message_id for r in uow.erasure.message_records([ticket_id])] == [
                "<m0@example.cz>", "<m2@example.cz>"]
            assert uow.erasure.message_records([]) == []
            assert uow.erasure.staged_for_tickets([ticket_id]) == [mail]
            assert uow.erasure.staged_for_tickets(["no-such-ticket"]) == []

    def test_automatic_senders_and_blobs_are_deleted(self, storage: Storage,
                                                     blob_store: BlobStore) -> None:
        sender = AutomaticSender.recognised(None, "jana@example.cz", at=T0, reason="x")
        with storage.unit_of_work() as uow:
            uow.automatic_senders.put(sender)
            key = blob_store.put(b"Jana's raw mail", unit=uow)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.erasure.forget_automatic_sender("jana@example.cz") is True
            assert uow.erasure.forget_automatic_sender("petr@example.cz") is False
            assert uow.automatic_senders.get("jana@example.cz") is None  # own writes
            deleted = uow.erasure.delete_blobs([key, "0" * 64])
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.automatic_senders.get("jana@example.cz") is None
        # A blob store in the storage's database loses the blob; any other keeps it.
        assert deleted in (0, 1)
        assert blob_store.exists(key) is (deleted == 0)
