"""The outbox: messages written with their article, claimed by dispatchers under a lease.

Covers :class:`~helpdesk_core.ports.storage.OutboxRepository`.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.article import AttachmentMeta
from helpdesk_core.domain.outbox import OutboxClaim, OutboxMessage, OutboxState
from helpdesk_core.domain.values import Channel, new_id
from helpdesk_core.errors import ConcurrencyError, NotFound
from helpdesk_core.ports.storage import OutboxRepository, Storage
from helpdesk_core.testing.builders import T0, open_ticket, store_tickets
from helpdesk_core.testing.contracts.capabilities import Capabilities
from helpdesk_core.testing.contracts.support import WAIT, Background

__all__ = ["TestOutboxRepository"]

COVERS = (OutboxRepository,)

LEASE = timedelta(minutes=5)


def _pending(storage: Storage, count: int) -> list[str]:
    """``count`` pending e-mails of one ticket, a minute apart; their ids, oldest first."""
    [ticket] = store_tickets(storage, [open_ticket()])
    messages = [OutboxMessage.create(ticket_id=ticket.id, kind="reply", channel=Channel.EMAIL,
                                     sender="s@us", recipients=("a@x.cz",), subject=f"m{i}",
                                     body_text="text", at=T0 + timedelta(minutes=i))
                for i in range(count)]
    with storage.unit_of_work() as uow:
        for message in messages:
            uow.outbox.add(message)
        uow.commit()
    return [m.id for m in messages]


class TestOutboxRepository:
    def test_outbox(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])
        messages = [
            OutboxMessage.create(ticket_id=ticket.id, kind=kind, channel=Channel.EMAIL,
                                 sender="support@shop.example", recipients=(to,),
                                 subject="[HD] Ihre Anfrage", body_text="Danke, Jürgen",
                                 at=T0 + timedelta(minutes=minute), message_id=f"<m{minute}@us>",
                                 headers={"Auto-Submitted": "auto-replied"})
            for minute, kind, to in [(0, "acknowledgement", "a@x.cz"),
                                     (10, "acknowledgement", "a@x.cz"),
                                     (20, "reply", "a@x.cz"),
                                     (30, "acknowledgement", "b@x.cz")]
        ]
        with storage.unit_of_work() as uow:
            for message in messages:
                uow.outbox.add(message)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.outbox.add(attrs.evolve(messages[0], id=new_id()))
            uow.rollback()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.for_ticket(ticket.id) == messages
            assert uow.outbox.for_ticket("other") == []
            count = uow.outbox.count_since
            assert count(recipient="a@x.cz", kind="acknowledgement", since=T0) == 2
            assert count(recipient="a@x.cz", kind="acknowledgement",
                         since=T0 + timedelta(minutes=5)) == 1
            assert count(recipient="b@x.cz", kind="reply", since=T0) == 0

    def test_outbox_claims_and_updates(self, storage: Storage) -> None:
        [ticket] = store_tickets(storage, [open_ticket()])

        def message(minute: int, **changes: Any) -> OutboxMessage:
            created = OutboxMessage.create(
                ticket_id=ticket.id, kind="reply", channel=Channel.EMAIL, sender="s@us",
                recipients=("a@x.cz",), subject=f"m{minute}", body_text="text",
                at=T0 + timedelta(minutes=minute),
                attachments=(AttachmentMeta(blob_key="b" * 64, filename="faktura.pdf",
                                            content_type="application/pdf", size=3),))
            return attrs.evolve(created, **changes)

        first, later, sms = message(0), message(1, next_attempt_at=T0 + timedelta(hours=1)), \
            message(2, channel=Channel.SMS, recipients=("+420601234567",))
        done = message(3, state=OutboxState.SENT)
        with storage.unit_of_work() as uow:
            for item in (first, later, sms, done):
                uow.outbox.add(item)
            uow.commit()
        now = T0 + timedelta(minutes=30)
        lease = timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            claimed = uow.outbox.claim(now=now, lease=lease, limit=10)
            uow.commit()
        assert [m.id for m in claimed] == [first.id, sms.id]  # `later` is not due yet
        assert all(m.leased_until == now + lease for m in claimed)
        with storage.unit_of_work() as uow:  # leased: nobody else gets them meanwhile
            assert uow.outbox.claim(now=now + timedelta(minutes=1), lease=lease, limit=10) == []
            uow.commit()
        with storage.unit_of_work() as uow:
            emails = uow.outbox.claim(now=now + timedelta(hours=2), lease=lease, limit=1,
                                      channel=Channel.EMAIL)
            uow.commit()
        assert [m.id for m in emails] == [first.id]  # lease over; oldest first; limit 1
        sent = attrs.evolve(emails[0], state=OutboxState.SENT, attempts=1, leased_until=None,
                            sent_at=now, results={"a@x.cz": "sent"}, provider_id="gw-1")
        with storage.unit_of_work() as uow:
            uow.outbox.update(sent)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.get(first.id) == sent
            assert uow.outbox.find(provider_id="gw-1") == [sent]
            assert [m.id for m in uow.outbox.find(state=OutboxState.SENT)] == [first.id, done.id]
            with pytest.raises(NotFound):
                uow.outbox.get("missing")
        with pytest.raises(NotFound), storage.unit_of_work() as uow:
            uow.outbox.update(attrs.evolve(sent, id="missing"))

    def test_dispatchers_claiming_at_once_never_share_a_message(self, storage: Storage) -> None:
        ids = _pending(storage, 12)
        now = T0 + timedelta(hours=1)
        claims: list[list[str]] = []
        errors: list[BaseException] = []
        start = threading.Barrier(3)

        def dispatch() -> None:
            try:
                start.wait(30)
                while True:
                    with storage.unit_of_work() as uow:
                        batch = uow.outbox.claim(now=now, lease=LEASE, limit=2)
                        uow.commit()
                    if not batch:
                        return
                    claims.append([m.id for m in batch])
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=dispatch) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        assert not any(thread.is_alive() for thread in threads)
        claimed = [message_id for batch in claims for message_id in batch]
        assert sorted(claimed) == sorted(ids)  # every message once, none twice

    def test_a_claim_in_a_rolled_back_unit_leaves_the_messages_claimable(
        self, storage: Storage
    ) -> None:
        ids = _pending(storage, 3)
        now = T0 + timedelta(hours=1)
        with storage.unit_of_work() as uow:
            claimed = uow.outbox.claim(now=now, lease=LEASE, limit=2)
            assert [m.id for m in claimed] == ids[:2]
            # the unit sees its own lease; other units see none before it commits
            assert uow.outbox.get(ids[0]).leased_until == now + LEASE
            with storage.unit_of_work(read_only=True) as reader:
                assert reader.outbox.get(ids[0]).leased_until is None
            uow.rollback()
            # the rows are free again, for this very unit too
            assert [m.id for m in uow.outbox.claim(now=now, lease=LEASE, limit=1)] == ids[:1]
            # leaving the block without commit rolls back too
        with storage.unit_of_work(read_only=True) as uow:
            assert [uow.outbox.get(i).leased_until for i in ids] == [None, None, None]
        with storage.unit_of_work() as uow:
            again = uow.outbox.claim(now=now, lease=LEASE, limit=10)
            uow.commit()
        assert [m.id for m in again] == ids
        assert all(m.leased_until == now + LEASE for m in again)

    def test_a_second_claim_beside_an_open_claiming_unit(
        self, storage: Storage, storage_capabilities: Capabilities
    ) -> None:
        ids = _pending(storage, 4)
        now = T0 + timedelta(hours=1)

        def second_dispatcher() -> list[str]:
            with storage.unit_of_work() as uow:
                got = [m.id for m in uow.outbox.claim(now=now, lease=LEASE, limit=10)]
                uow.commit()
            return got

        with storage.unit_of_work() as uow:
            mine = uow.outbox.claim(now=now, lease=LEASE, limit=2)
            second = Background(second_dispatcher)
            if storage_capabilities.offers("skip_locked_claims"):
                # it passes over the rows this unit holds, without waiting for it to end
                assert second.finishes_within(10), "the second claim waited for the first unit"
                uow.commit()
            else:
                # it waits until this unit ends
                finished_while_open = second.finishes_within(WAIT)
                uow.commit()
                assert not finished_while_open, \
                    f"the second claim did not wait for the first unit: {second.error!r}"
        assert second.finishes_within(60), "the second claim still waits"
        assert second.error is None, repr(second.error)
        assert [m.id for m in mine] == ids[:2]
        assert second.result == ids[2:]  # only what the first unit did not claim

    # -- compare-and-set: what a dispatcher writes applies only while its claim holds -------

    def test_a_claim_carries_its_owner_token(self, storage: Storage) -> None:
        ids = _pending(storage, 2)
        now = T0 + timedelta(hours=1)
        with storage.unit_of_work() as uow:
            mine = uow.outbox.claim(now=now, lease=LEASE, limit=1, owner="run-a")
            anonymous = uow.outbox.claim(now=now, lease=LEASE, limit=1)
            uow.commit()
        assert [(m.id, m.lease_owner) for m in mine] == [(ids[0], "run-a")]
        assert [m.id for m in anonymous] == [ids[1]]
        assert anonymous[0].lease_owner not in (None, "run-a")  # a token of its own
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.get(ids[0]) == mine[0]
            assert uow.outbox.get(ids[1]) == anonymous[0]

    def test_compare_and_set_applies_only_while_the_claim_holds(self, storage: Storage) -> None:
        [message_id, never_claimed] = _pending(storage, 2)
        now = T0 + timedelta(hours=1)
        with storage.unit_of_work() as uow:
            [held] = uow.outbox.claim(now=now, lease=LEASE, limit=1, owner="run-a")
            uow.commit()
        sending = attrs.evolve(held, state=OutboxState.SENDING, attempts=1)
        refused = {
            "a stale owner": OutboxClaim(owner="run-b", state=OutboxState.PENDING, valid_at=now),
            "no owner": OutboxClaim(owner=None, state=OutboxState.PENDING, valid_at=now),
            "the lease ran out": OutboxClaim(owner="run-a", state=OutboxState.PENDING,
                                             valid_at=now + LEASE),
            "another state": OutboxClaim(owner="run-a", state=OutboxState.SENDING,
                                         valid_at=now),
        }
        for why, expect in refused.items():
            with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
                uow.outbox.update(sending, expect=expect)
                uow.commit()
            with storage.unit_of_work(read_only=True) as uow:
                assert uow.outbox.get(message_id) == held, why
        with storage.unit_of_work() as uow:
            uow.outbox.update(sending, expect=OutboxClaim(
                owner="run-a", state=OutboxState.PENDING, valid_at=now + LEASE / 2))
            uow.commit()
        # Without valid_at the lease is not looked at: what expiry and a late owner use.
        sent = sending.settled(OutboxState.SENT)
        with storage.unit_of_work() as uow:
            uow.outbox.update(sent, expect=OutboxClaim(owner="run-a", state=OutboxState.SENDING))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.get(message_id) == sent
            assert (sent.lease_owner, sent.leased_until) == ("run-a", None)
        # A message never claimed has no owner: expecting none compares with that.
        with storage.unit_of_work() as uow:
            fresh = uow.outbox.get(never_claimed)
            uow.outbox.update(attrs.evolve(fresh, attempts=3),
                              expect=OutboxClaim(owner=None, state=OutboxState.PENDING))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.get(never_claimed).attempts == 3
        with pytest.raises(NotFound), storage.unit_of_work() as uow:
            uow.outbox.update(attrs.evolve(sent, id="missing"),
                              expect=OutboxClaim(owner="run-a", state=OutboxState.SENT))

    def test_a_claim_taken_over_after_its_lease_refuses_the_first_owner(
        self, storage: Storage
    ) -> None:
        [message_id] = _pending(storage, 1)
        now = T0 + timedelta(hours=1)
        with storage.unit_of_work() as uow:
            [first] = uow.outbox.claim(now=now, lease=LEASE, limit=1, owner="run-a")
            uow.commit()
        later = now + LEASE + timedelta(seconds=1)
        with storage.unit_of_work() as uow:
            [second] = uow.outbox.claim(now=later, lease=LEASE, limit=1, owner="run-b")
            uow.commit()
        assert (second.lease_owner, second.leased_until) == ("run-b", later + LEASE)
        # The first owner still believes in its claim (its own clock says it runs): refused.
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.outbox.update(attrs.evolve(first, state=OutboxState.SENDING),
                              expect=OutboxClaim(owner="run-a", state=OutboxState.PENDING,
                                                 valid_at=now))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.outbox.update(attrs.evolve(second, state=OutboxState.SENDING),
                              expect=OutboxClaim(owner="run-b", state=OutboxState.PENDING,
                                                 valid_at=later))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            stored = uow.outbox.get(message_id)
        assert (stored.state, stored.lease_owner) == (OutboxState.SENDING, "run-b")

    def test_of_two_racing_compare_and_sets_one_applies(self, storage: Storage) -> None:
        [message_id] = _pending(storage, 1)
        now = T0 + timedelta(hours=1)
        with storage.unit_of_work() as uow:
            [held] = uow.outbox.claim(now=now, lease=LEASE, limit=1, owner="run-a")
            uow.commit()
        expect = OutboxClaim(owner="run-a", state=OutboxState.PENDING, valid_at=now)
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def settle(attempts: int) -> None:
            try:
                start.wait(30)
                with storage.unit_of_work() as uow:
                    uow.outbox.update(attrs.evolve(held, state=OutboxState.SENDING,
                                                   attempts=attempts), expect=expect)
                    uow.commit()
                outcomes.append(f"applied {attempts}")
            except ConcurrencyError:
                outcomes.append("refused")
            except BaseException as error:  # reported below
                outcomes.append(repr(error))

        threads = [threading.Thread(target=settle, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sorted(outcomes)[-1] == "refused", outcomes
        [applied] = [o for o in outcomes if o.startswith("applied")]
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.outbox.get(message_id).attempts == int(applied.split()[1])
