"""Raw mails staged before parsing: one row per (account, key), state changes that a second
fetcher cannot repeat.

Covers :class:`~helpdesk_core.ports.storage.MailStaging`.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.errors import ConcurrencyError, StorageError
from helpdesk_core.ports.storage import MailStaging, Storage
from helpdesk_core.testing.builders import T0

__all__ = ["TestMailStaging"]

COVERS = (MailStaging,)


class TestMailStaging:
    def test_staged_mail_lifecycle(self, storage: Storage) -> None:
        staged = StagedMail.stage(account="support", key="7:1", size=10, at=T0,
                                  blob_key="b" * 64, content_hash="c" * 64)
        later = StagedMail.stage(account="support", key="7:2", size=99, at=T0 + timedelta(1),
                                 blob_key=None, content_hash=None)
        with storage.unit_of_work() as uow:
            uow.staged_mail.add(later)
            uow.staged_mail.add(staged)
            uow.commit()
        with pytest.raises(StorageError), storage.unit_of_work() as uow:
            uow.staged_mail.add(staged)
            uow.commit()
        done = staged.processed(outcome="new_ticket", at=T0 + timedelta(seconds=5),
                                ticket_id="t", article_id="a")
        with storage.unit_of_work() as uow:
            uow.staged_mail.update(done, expected=StagedState.STAGED)
            uow.staged_mail.update(later.quarantine("too large", at=T0))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.get("support", "7:1") == done
            assert uow.staged_mail.get("support", "nope") is None
            assert uow.staged_mail.get_many("support", ["7:1", "nope", "7:2"]) == {
                "7:1": done, "7:2": later.quarantine("too large", at=T0)}
            assert uow.staged_mail.get_many("other", ["7:1"]) == {}
            assert [m.key for m in uow.staged_mail.list()] == ["7:1", "7:2"]
            quarantined = uow.staged_mail.list(state=StagedState.QUARANTINED)
            assert [(m.key, m.reason) for m in quarantined] == [("7:2", "too large")]
            assert uow.staged_mail.list(account="other") == []
        # a second fetcher that still believes the mail is staged loses
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.staged_mail.update(done.mark_acknowledged(at=T0), expected=StagedState.STAGED)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.get("support", "7:1") == done

    def test_a_claim_takes_only_a_row_still_staged_with_the_same_attempts(
            self, storage: Storage) -> None:
        staged = StagedMail.stage(account="support", key="7:3", size=10, at=T0,
                                  blob_key="b" * 64, content_hash="c" * 64)
        with storage.unit_of_work() as uow:
            uow.staged_mail.add(staged)
            uow.commit()
        with storage.unit_of_work() as uow:  # a claim alone changes nothing
            uow.staged_mail.claim(staged)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.get("support", "7:3") == staged
        failed = staged.failed("boom", at=T0, max_attempts=3)
        with storage.unit_of_work() as uow:
            uow.staged_mail.update(failed, expected=StagedState.STAGED,
                                   expected_attempts=staged.attempts)
            uow.commit()
        # a fetcher still holding the copy from before that attempt loses, and writes nothing
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.staged_mail.claim(staged)
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.staged_mail.update(staged.failed("late", at=T0, max_attempts=3),
                                   expected=StagedState.STAGED,
                                   expected_attempts=staged.attempts)
            uow.commit()
        done = failed.processed(outcome="reply", at=T0)
        with storage.unit_of_work() as uow:
            uow.staged_mail.claim(failed)
            uow.staged_mail.update(done, expected=StagedState.STAGED,
                                   expected_attempts=failed.attempts)
            uow.commit()
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.staged_mail.claim(failed)  # processed: nobody claims it again
        with pytest.raises(StorageError), storage.unit_of_work() as uow:
            uow.staged_mail.claim(attrs.evolve(staged, key="7:404"))
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.get("support", "7:3") == done


    def test_a_failed_acknowledgement_is_kept_and_listed(self, storage: Storage) -> None:
        done = StagedMail.stage(account="support", key="7:5", size=10, at=T0,
                                blob_key="b" * 64, content_hash="c" * 64).processed(
            outcome="new_ticket", at=T0)
        other = attrs.evolve(done, key="7:6")
        refused = done.acknowledgement_failed("NO [CANNOT] refused", at=T0)
        with storage.unit_of_work() as uow:
            uow.staged_mail.add(done)
            uow.staged_mail.add(other)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.staged_mail.update(refused, expected=StagedState.PROCESSED, expected_attempts=0)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.get("support", "7:5") == refused
            assert (refused.ack_attempts, refused.ack_next_at) == (1, T0 + timedelta(minutes=1))
            assert uow.staged_mail.list(ack_failing=True) == [refused]
            assert uow.staged_mail.list(account="other", ack_failing=True) == []
            assert uow.staged_mail.list(state=StagedState.QUARANTINED, ack_failing=True) == []
        acknowledged = refused.mark_acknowledged(at=T0 + timedelta(minutes=1))
        with storage.unit_of_work() as uow:
            uow.staged_mail.update(acknowledged)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.staged_mail.list(ack_failing=True) == []
            assert uow.staged_mail.get("support", "7:5") == acknowledged
            assert acknowledged.ack_attempts == 1  # kept: it took more than one try
