"""The fetch loop: staged before parsed, acknowledged only after commit, poison quarantined."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.services.conftest import MakeHelpdesk
from tests.services.mail_support import raw_mail

from helpdesk_core import Helpdesk
from helpdesk_core.domain.mailbox import StagedState, ack_retry_delay
from helpdesk_core.errors import MessageTooLarge, StorageUnavailable
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.services.mail_ingest import MailIngest
from helpdesk_core.testing import MemoryInbox


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(mail_policy=MailPolicy(max_attempts=2))


def fill(inbox: MemoryInbox, count: int) -> list[str]:
    return [inbox.deliver(raw_mail(sender=f"c{i}@example.org", subject=f"Dotaz {i}"))
            for i in range(count)]


def articles_from_mail(desk: Helpdesk) -> int:
    return sum(1 for t in desk.tickets.queue().items for a in desk.tickets.articles(t.number)
               if a.direction.value == "inbound")


def test_a_run_handles_and_acknowledges_every_mail(desk: Helpdesk) -> None:
    inbox = MemoryInbox()
    keys = fill(inbox, 3)
    report = desk.mail.fetch(inbox)
    assert (report.listed, report.downloaded, report.processed) == (3, 3, 3)
    assert report.outcomes == {"new_ticket": 3}
    assert inbox.acknowledged == keys
    assert inbox.closed == 1
    assert articles_from_mail(desk) == 3
    again = desk.mail.fetch(inbox)
    assert (again.listed, again.processed) == (0, 0)
    rows = desk.mail.staged()
    assert [r.state for r in rows] == [StagedState.PROCESSED] * 3
    assert all(r.acknowledged and r.blob_key for r in rows)


def test_killed_after_staging_before_commit(desk: Helpdesk,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = MemoryInbox()
    fill(inbox, 3)
    real = MailIngest.receive
    calls = []

    def dies_on_the_second(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MailIngest, "receive", dies_on_the_second)
    with pytest.raises(Killed):
        desk.mail.fetch(inbox)
    monkeypatch.setattr(MailIngest, "receive", real)
    assert len(inbox.messages) == 2  # only the committed mail left the server
    report = desk.mail.fetch(inbox)
    assert report.downloaded == 1  # the staged one is not downloaded again
    assert report.processed == 2
    assert inbox.messages == {}
    assert articles_from_mail(desk) == 3


def test_killed_after_commit_before_the_server_flag(desk: Helpdesk) -> None:
    class DiesOnFlag(MemoryInbox):
        def acknowledge(self, key: str) -> None:
            raise Killed

    inbox = DiesOnFlag()
    fill(inbox, 2)
    with pytest.raises(Killed):
        desk.mail.fetch(inbox)
    assert len(inbox.messages) == 2
    survivor = MemoryInbox()
    survivor.messages = inbox.messages  # same server, a fresh process
    report = desk.mail.fetch(survivor)
    assert report.processed == 1  # the first was committed already: only flagged now
    assert report.acknowledged == 2
    assert articles_from_mail(desk) == 2


def test_a_connection_dropped_mid_fetch_loses_nothing(desk: Helpdesk) -> None:
    inbox = MemoryInbox()
    keys = fill(inbox, 3)
    inbox.fail_download.add(keys[1])
    first = desk.mail.fetch(inbox)
    assert first.error is not None
    assert first.processed == 1
    second = desk.mail.fetch(inbox)
    assert second.error is None
    assert second.processed == 2
    assert articles_from_mail(desk) == 3


def test_a_lost_acknowledgement_is_repeated_not_the_mail(desk: Helpdesk) -> None:
    inbox = MemoryInbox()
    keys = fill(inbox, 2)
    inbox.fail_acknowledge.add(keys[0])
    assert desk.mail.fetch(inbox).error is not None
    report = desk.mail.fetch(inbox)
    assert report.acknowledged == 2
    assert articles_from_mail(desk) == 2


def test_a_new_uidvalidity_does_not_duplicate_mail(desk: Helpdesk) -> None:
    class ForgetsFlags(MemoryInbox):
        def acknowledge(self, key: str) -> None:
            self.acknowledged.append(key)  # the server lost our flags

    inbox = ForgetsFlags()
    fill(inbox, 2)
    desk.mail.fetch(inbox)
    inbox.renumber()
    report = desk.mail.fetch(inbox)
    assert report.downloaded == 2
    assert report.outcomes == {"duplicate": 2}
    assert articles_from_mail(desk) == 2


def test_a_poison_mail_is_quarantined_and_the_loop_goes_on(
        desk: Helpdesk, directory: InMemoryDirectory) -> None:
    inbox = MemoryInbox()
    good_before = inbox.deliver(raw_mail(sender="a@example.org"))
    poison = inbox.deliver(raw_mail(sender="poison@example.org"))
    good_after = inbox.deliver(raw_mail(sender="b@example.org"))
    real = directory.customer_by_email

    def explodes(email: str) -> object:
        if email == "poison@example.org":
            raise RuntimeError("directory cannot handle this address")
        return real(email)

    directory.customer_by_email = explodes  # type: ignore[method-assign,assignment]
    first = desk.mail.fetch(inbox)
    assert (first.processed, first.failed) == (2, 1)
    assert inbox.acknowledged == [good_before, good_after]
    second = desk.mail.fetch(inbox)  # max_attempts=2: quarantined now
    assert (second.failed, second.quarantined) == (1, 1)
    assert inbox.messages == {}  # its bytes are safe with us, so it left the server
    [row] = desk.mail.staged(state=StagedState.QUARANTINED)
    assert row.key == poison
    assert row.reason is not None
    assert "directory cannot handle this address" in row.reason
    assert row.attempts == 2
    assert desk.blob_store.get(row.blob_key or "").startswith(b"From:")

    directory.customer_by_email = real  # type: ignore[method-assign]
    [(after, outcome)] = desk.mail.reprocess()
    assert after.state is StagedState.PROCESSED
    assert outcome is not None
    assert outcome.outcome == "new_ticket"
    assert articles_from_mail(desk) == 3


def test_a_mail_over_the_size_limit_is_not_downloaded(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk()
    inbox = MemoryInbox()
    big = inbox.deliver(raw_mail(body="x" * 5000))
    small = inbox.deliver(raw_mail(sender="petr@example.cz"))
    report = desk.mail.fetch(inbox, max_bytes=2000)
    assert inbox.downloads == 1
    assert report.quarantined == 1
    assert inbox.acknowledged == [small]
    assert big in inbox.messages  # left for a human, and it does not block the rest
    [row] = desk.mail.staged(state=StagedState.QUARANTINED)
    assert row.blob_key is None
    assert row.reason is not None
    assert "exceeds the limit" in row.reason
    assert desk.mail.fetch(inbox, max_bytes=2000).downloaded == 0  # still refused


def test_a_refused_mail_is_fetched_once_the_limit_allows(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk()
    inbox = MemoryInbox()
    big = inbox.deliver(raw_mail(body="x" * 5000))
    assert desk.mail.fetch(inbox, max_bytes=2000).quarantined == 1
    assert desk.mail.reprocess() == [(desk.mail.staged()[0], None)]  # no bytes to run yet
    report = desk.mail.fetch(inbox, max_bytes=10_000)
    assert (report.downloaded, report.processed, report.acknowledged) == (1, 1, 1)
    [row] = desk.mail.staged()
    assert (row.key, row.state, row.outcome) == (big, StagedState.PROCESSED, "new_ticket")


def test_an_inbox_that_refuses_a_large_mail_does_not_stop_the_run(
        make_helpdesk: MakeHelpdesk) -> None:
    class Limited(MemoryInbox):
        def download(self, key: str) -> bytes:
            if len(self.messages[key]) > 2000:
                raise MessageTooLarge(key, len(self.messages[key]), 2000)
            return super().download(key)

    desk = make_helpdesk()
    inbox = Limited()
    big = inbox.deliver(raw_mail(body="x" * 5000))
    small = inbox.deliver(raw_mail(sender="petr@example.cz"))
    report = desk.mail.fetch(inbox)
    assert report.error is None
    assert (report.quarantined, report.processed) == (1, 1)
    assert inbox.acknowledged == [small]
    [row] = desk.mail.staged(state=StagedState.QUARANTINED)
    assert row.key == big
    assert row.reason is not None
    assert "limit of 2000" in row.reason


def test_a_deletion_lost_with_its_session_is_repeated(desk: Helpdesk) -> None:
    class LosesDeletions(MemoryInbox):
        """POP3: DELE takes effect at QUIT; this session dies before it."""

        def __init__(self) -> None:
            super().__init__()
            self.lose = True

        def acknowledge(self, key: str) -> None:
            if not self.lose:
                super().acknowledge(key)

    inbox = LosesDeletions()
    fill(inbox, 2)
    assert desk.mail.fetch(inbox).processed == 2
    assert len(inbox.messages) == 2  # the server undid the deletions
    inbox.lose = False
    report = desk.mail.fetch(inbox)
    assert (report.downloaded, report.processed, report.acknowledged) == (0, 0, 2)
    assert inbox.messages == {}
    assert articles_from_mail(desk) == 2


def test_new_mail_behind_a_long_backlog_is_reached(desk: Helpdesk) -> None:
    class Keeps(MemoryInbox):
        """POP3 "keep": nothing is ever removed from the server."""

        def acknowledge(self, key: str) -> None:
            self.acknowledged.append(key)

    inbox = Keeps()
    for i in range(1200):
        inbox.deliver(raw_mail(sender=f"k{i % 7}@example.org", subject=f"Dotaz {i}"))
    while desk.mail.fetch(inbox, limit=500).downloaded:
        pass
    fresh = inbox.deliver(raw_mail(sender="late@example.org", subject="Nový dotaz"))
    report = desk.mail.fetch(inbox, limit=1)
    assert (report.listed, report.downloaded, report.processed) == (1201, 1, 1)
    [row] = [r for r in desk.mail.staged(limit=2000) if r.key == fresh]
    assert row.state is StagedState.PROCESSED


def test_an_unavailable_database_is_not_the_mails_fault(
        desk: Helpdesk, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = MemoryInbox()
    keys = fill(inbox, 3)
    real = MailIngest.receive
    failures = {"left": 2 * 3}  # both tries, three runs in a row

    def database_down_for_the_second(self: MailIngest, raw: bytes, **kwargs: object) -> object:
        if b"Dotaz 1" in raw and failures["left"]:
            failures["left"] -= 1
            raise StorageUnavailable("connection lost")
        return real(self, raw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MailIngest, "receive", database_down_for_the_second)
    for _run in range(3):  # max_attempts is 2: counted, it would be quarantined by now
        report = desk.mail.fetch(inbox)
        assert report.error is not None
        assert "database is unavailable" in report.error
        assert (report.failed, report.quarantined, report.storage_unavailable) == (0, 0, 2)
        row = {r.key: r for r in desk.mail.staged()}[keys[1]]
        assert (row.state, row.attempts, row.acknowledged) == (StagedState.STAGED, 0, False)
        assert keys[1] in inbox.messages
        assert keys[2] in inbox.messages
    report = desk.mail.fetch(inbox)
    assert (report.error, report.processed) == (None, 2)
    assert inbox.messages == {}


def test_a_database_lost_once_is_tried_again_in_the_same_run(
        desk: Helpdesk, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = MemoryInbox()
    fill(inbox, 2)
    real = MailIngest.receive
    failures = {"left": 1}

    def lost_once(self: MailIngest, raw: bytes, **kwargs: object) -> object:
        if failures["left"]:
            failures["left"] -= 1
            raise StorageUnavailable("terminating connection due to administrator command")
        return real(self, raw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MailIngest, "receive", lost_once)
    report = desk.mail.fetch(inbox)
    assert (report.error, report.processed, report.storage_unavailable) == (None, 2, 1)
    assert all(r.attempts == 0 for r in desk.mail.staged())


def test_a_message_the_server_will_not_flag_holds_up_nothing_behind_it(
        desk: Helpdesk, clock: FakeClock) -> None:
    inbox = MemoryInbox()
    keys = fill(inbox, 5)
    inbox.refuse_acknowledge.add(keys[1])
    report = desk.mail.fetch(inbox)
    assert report.error is None
    assert (report.processed, report.acknowledged) == (5, 4)  # every mail behind it, too
    assert list(report.ack_failed) == [keys[1]]
    assert "NO [CANNOT]" in report.ack_failed[keys[1]]
    [stuck] = desk.mail.staged(ack_failing=True)
    assert (stuck.key, stuck.state, stuck.acknowledged) == (keys[1], StagedState.PROCESSED,
                                                            False)
    assert (stuck.ack_attempts, stuck.ack_next_at) == (1, clock.now() + timedelta(minutes=1))
    assert "NO [CANNOT]" in (stuck.ack_error or "")
    # not asked again before its next try, then after 1, 2, 4 ... minutes
    again = desk.mail.fetch(inbox)
    assert (again.ack_waiting, again.ack_failed, again.processed) == (1, {}, 0)
    for failures, wait in [(2, 2), (3, 4), (4, 8)]:
        clock.advance(timedelta(minutes=wait // 2))
        assert desk.mail.fetch(inbox).ack_failed.keys() == {keys[1]}
        [stuck] = desk.mail.staged(ack_failing=True)
        assert (stuck.ack_attempts, stuck.ack_next_at) == (
            failures, clock.now() + timedelta(minutes=wait))
    inbox.refuse_acknowledge.clear()
    clock.advance(timedelta(minutes=8))
    report = desk.mail.fetch(inbox)
    assert (report.acknowledged, report.ack_failed) == (1, {})
    assert desk.mail.staged(ack_failing=True) == []
    assert inbox.messages == {}
    assert articles_from_mail(desk) == 5


def test_the_retry_delay_grows_to_six_hours() -> None:
    assert [ack_retry_delay(n) for n in (0, 1, 2, 3)] == [
        timedelta(0), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert ack_retry_delay(10) == ack_retry_delay(1000) == timedelta(hours=6)
