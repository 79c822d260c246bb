"""Crash tests against the real Dovecot, with a SQLite file and real process kills.

The fetcher runs in a child process (``crash_child.py``) that kills itself with SIGKILL at a
chosen point of the fetch loop. Between the kill and the next run the test looks at the server
and the database directly; after the next run it checks the acceptance rule: every mail put
into the mailbox is in the database exactly once, and nothing was flagged, moved or deleted on
the server before it was committed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from crash_child import PoisonDirectory, settings
from dovecot_server import CuttingProxy, Dovecot, UserMailbox
from helpdesk_core import FetchReport
from helpdesk_core.app import Helpdesk
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_mail import MailAccount, fetch_all, open_inbox, runner
from helpdesk_mail.imap import DONE_KEYWORD
from realistic_mail import BIG, IDS, KETTLE, MAILS, message_id

CHILD = Path(__file__).with_name("crash_child.py")
DELETED = b"\\Deleted"

POISON = "sabine.weiss@beispiel.example.de"

# -- the helpdesk and the server, seen from the test -----------------------------------------


@attrs.frozen
class Case:
    """One mailbox, one account, one database file."""

    mailbox: UserMailbox
    account: MailAccount
    url: str

    def desk(self, **kwargs: Any) -> Helpdesk:
        return bootstrap(settings(self.url, self.account, max_attempts=kwargs.pop(
            "max_attempts", 3)), environ={}, **kwargs)

    def stored(self) -> Counter[str]:
        """Message-ID → number of inbound articles with it, over every ticket."""
        with self.desk() as desk:
            return _stored(desk)

    def staged(self) -> list[StagedMail]:
        with self.desk() as desk:
            return desk.mail.staged(limit=1000)

    def fetch(self, **kwargs: Any) -> FetchReport:
        """A normal run in this process."""
        with self.desk(**kwargs) as desk:
            (report,) = fetch_all(desk, [self.account])
        return report

    def child(self, *, kill: tuple[str, int] | None = None, poison: str | None = None,
              max_attempts: int = 3) -> subprocess.CompletedProcess[str]:
        """A run in a child process, killed at ``kill`` = (point, n)."""
        config = self._config(poison=poison, max_attempts=max_attempts,
                              kill={"at": kill[0], "nth": kill[1]} if kill else None)
        return subprocess.run(self._command(config), capture_output=True, text=True,
                              timeout=60, check=False)

    def start_child(self) -> subprocess.Popen[str]:
        """A normal run in a child process that runs on while the test goes on."""
        return subprocess.Popen(self._command(self._config()), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def _config(self, **values: Any) -> dict[str, Any]:
        account = {field.name: getattr(self.account, field.name)
                   for field in attrs.fields(MailAccount)}
        return {"account": account, "database_url": self.url, **values}

    @staticmethod
    def _command(config: dict[str, Any]) -> list[str]:
        return [sys.executable, str(CHILD), json.dumps(config)]

    def killed(self, point: str, nth: int) -> None:
        result = self.child(kill=(point, nth))
        assert result.returncode == -signal.SIGKILL, result.stderr
        assert result.stdout == ""  # it died before it could report

    # -- the server --------------------------------------------------------------------------

    def pending(self) -> list[str]:
        """Message-IDs on the server that a fetch would still list, oldest first."""
        folder = self.account.folder
        return [message_id(body)
                for _, (flags, body) in sorted(self.mailbox.contents(folder).items())
                if not flags & {DELETED, DONE_KEYWORD}]

    def taken(self) -> set[str]:
        """Mails flagged, moved or deleted on the server."""
        return set(IDS) - set(self.pending())

    def assert_nothing_taken_before_commit(self) -> Counter[str]:
        stored = self.stored()
        assert self.taken() - set(stored) == set()
        if self.account.after == "move":
            assert self.account.move_to is not None
            moved = {message_id(body) for body in self.mailbox.bodies(self.account.move_to)}
            assert moved <= set(stored)
        assert [mid for mid, count in stored.items() if count > 1] == []
        return stored

    def assert_exactly_once(self) -> None:
        assert self.stored() == Counter(IDS)


def _stored(desk: Helpdesk) -> Counter[str]:
    found: Counter[str] = Counter()
    cursor = None
    while True:
        page = desk.tickets.queue(TicketQuery(limit=500, after=cursor))
        for ticket in page.items:
            for article in desk.tickets.articles(ticket.number):
                if article.direction is Direction.INBOUND:
                    found[article.meta["message_id"]] += 1
        cursor = page.next_cursor
        if cursor is None:
            return found


MODES = {
    "imap-flag": {"protocol": "imap", "after": "flag"},
    "imap-delete": {"protocol": "imap", "after": "delete"},
    "imap-move": {"protocol": "imap", "after": "move", "move_to": "Erledigt"},
    "pop3-delete": {"protocol": "pop3", "after": "delete"},
}


@pytest.fixture(params=list(MODES))
def case(request: pytest.FixtureRequest, mailbox: UserMailbox, tmp_path: Path) -> Case:
    return _case(mailbox, tmp_path, **MODES[request.param])


def _case(mailbox: UserMailbox, tmp_path: Path, protocol: str = "imap",
          **overrides: Any) -> Case:
    account = mailbox.account(
        protocol, name=f"{protocol}-support",
        addresses=("podpora@eshop.example.cz", "support@eshop.example.de"),
        team="support", language="cs", **overrides)
    case = Case(mailbox, account, f"sqlite:///{tmp_path}/desk.sqlite3")
    case.desk().close()  # create the schema once, before any child runs
    mailbox.append(*MAILS, folder=account.folder)
    return case


# -- a run without accidents ---------------------------------------------------------------


def test_a_run_stores_every_mail_once_and_clears_the_server(case: Case) -> None:
    report = case.fetch()
    assert report.error is None
    assert (report.listed, report.downloaded, report.processed, report.acknowledged) == (
        5, 5, 5, 5)
    assert report.outcomes == {"new_ticket": 4, "reply": 1}
    case.assert_exactly_once()
    assert case.pending() == []
    with case.desk() as desk:
        tickets = {desk.tickets.get(row.ticket_id or "").number: row for row in desk.mail.staged()}
        kettle = next(t for t in tickets if any(
            a.meta.get("message_id") == KETTLE for a in desk.tickets.articles(t)))
        inbound = [a for a in desk.tickets.articles(kettle) if a.direction is Direction.INBOUND]
        assert [a.meta["message_id"] for a in inbound] == [KETTLE, IDS[2]]  # threaded
        assert desk.tickets.get(kettle).team == "support"  # the account's defaults
        klaus = next(a for t in tickets for a in desk.tickets.articles(t)
                     if a.meta.get("message_id") == IDS[BIG])
        assert [a.filename for a in klaus.attachments] == ["Rechnung-2026-0142.pdf"]
        assert all(row.state is StagedState.PROCESSED and row.acknowledged
                   for row in desk.mail.staged())
    again = case.fetch()
    assert (again.listed, again.downloaded) == (0, 0)


# -- killed at every step -------------------------------------------------------------------

# name: (point, n): the child kills itself the n-th time it reaches the point (see crash_child)
KILLS = {
    "after-fetch-before-commit": ("before_handle", 2),
    "after-commit-before-the-server-flag": ("after_handle", 3),
    "mid-batch-after-a-download": ("after_download", 4),
    "after-the-server-flag-before-the-row-is-marked": ("after_acknowledge", 2),
}


# Moving differs from flagging and deleting only in what the server does when it is told.
KILLED = [(mode, kill) for mode in MODES for kill in KILLS
          if mode != "imap-move" or KILLS[kill][0] in ("after_handle", "after_acknowledge")]


@pytest.mark.parametrize(("mode", "kill"), KILLED, ids=[f"{m}-{k}" for m, k in KILLED])
def test_killed(mailbox: UserMailbox, tmp_path: Path, mode: str, kill: str) -> None:
    case = _case(mailbox, tmp_path, **MODES[mode])
    point, nth = KILLS[kill]
    case.killed(point, nth)
    stored = case.assert_nothing_taken_before_commit()
    rows = {row.key: row for row in case.staged()}
    committed = nth - 1 if point in ("before_handle", "after_download") else nth
    assert sorted(stored) == sorted(IDS[:committed])
    assert len(rows) == (nth - 1 if point == "after_download" else nth)
    if point == "before_handle":  # staged: the bytes are safe, the mail not handled yet
        assert [row.state for row in rows.values()].count(StagedState.STAGED) == 1
    if case.account.protocol == "imap":
        # IMAP carries out each acknowledge at once.
        done = nth if point == "after_acknowledge" else nth - 1
        assert case.pending() == list(IDS[done:])
    else:
        # POP3 deletes at QUIT, which the killed session never sent: nothing left the server.
        assert case.pending() == list(IDS)

    report = case.fetch()
    assert report.error is None
    assert report.downloaded == len(MAILS) - len(rows)  # nothing is downloaded twice
    assert report.processed == len(MAILS) - committed
    case.assert_exactly_once()
    if case.account.protocol == "imap":
        assert report.acknowledged == len(MAILS) - done
        assert case.pending() == []


def test_killed_again_while_recovering(mailbox: UserMailbox, tmp_path: Path) -> None:
    case = _case(mailbox, tmp_path, **MODES["imap-delete"])
    case.killed("after_download", 2)  # one done, the second downloaded but not staged
    case.assert_nothing_taken_before_commit()
    # The recovery dies too: the second is stored and deleted, the third stored only.
    case.killed("after_handle", 2)
    assert case.assert_nothing_taken_before_commit() == Counter(IDS[:3])
    assert case.pending() == list(IDS[2:])
    report = case.fetch()
    assert (report.downloaded, report.processed, report.acknowledged) == (2, 2, 3)
    case.assert_exactly_once()
    assert case.pending() == []


# -- the connection drops in the middle of a run -------------------------------------------


@pytest.mark.parametrize("mode", ["imap-flag", "imap-delete", "pop3-delete"])
def test_a_connection_cut_in_the_middle_of_a_download(
    mailbox: UserMailbox, dovecot: Dovecot, tmp_path: Path, mode: str
) -> None:
    server_port = dovecot.imap_port if MODES[mode]["protocol"] == "imap" else dovecot.pop3_port
    proxy = CuttingProxy(server_port)
    try:
        case = _case(mailbox, tmp_path, **MODES[mode], port=proxy.port)
        proxy.cut_after(len(MAILS[0]) + 20_000)  # well inside the second mail (the invoice)
        first = case.fetch()
        assert proxy.cuts == 1
        assert first.error is not None
        assert "downloading" in first.error
        assert (first.downloaded, first.processed) == (1, 1)
        assert case.assert_nothing_taken_before_commit() == Counter(IDS[:1])

        second = case.fetch()
        assert second.error is None
        assert second.downloaded == 4
        case.assert_exactly_once()
        if case.account.protocol == "imap":
            assert case.pending() == []
    finally:
        proxy.close()


def test_a_session_kicked_between_commit_and_the_server_flag(
    mailbox: UserMailbox, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _case(mailbox, tmp_path, **MODES["imap-move"])
    downloads = []

    def kicking_inbox(account: MailAccount) -> Any:
        inbox = open_inbox(account)
        download = inbox.download

        def download_then_kick(key: str) -> bytes:
            data = download(key)
            downloads.append(key)
            if len(downloads) == 2:
                dovecot.kick(mailbox.user)  # as a server restart or an idle timeout would
            return data

        inbox.download = download_then_kick  # type: ignore[method-assign]
        return inbox

    monkeypatch.setattr(runner, "open_inbox", kicking_inbox)
    first = case.fetch()
    assert first.error is not None
    assert "acknowledging" in first.error
    assert (first.processed, first.acknowledged) == (2, 1)  # the second is committed only
    assert case.assert_nothing_taken_before_commit() == Counter(IDS[:2])
    assert case.pending() == list(IDS[1:])

    monkeypatch.undo()
    second = case.fetch()
    assert second.error is None
    assert (second.downloaded, second.processed, second.acknowledged) == (3, 3, 4)
    case.assert_exactly_once()
    assert case.pending() == []
    assert sorted(message_id(body) for body in mailbox.bodies("Erledigt")) == sorted(IDS)


# -- the folder is rebuilt between runs ------------------------------------------------------


def test_a_new_uidvalidity_after_a_kill_does_not_duplicate_mail(
    mailbox: UserMailbox, tmp_path: Path
) -> None:
    case = _case(mailbox, tmp_path, "imap", after="flag", folder="Support")
    case.killed("after_handle", 3)  # two flagged, the third committed but not flagged
    assert case.pending() == list(IDS[2:])
    # Recreating the folder (a restore from backup, a server migration) gives the same
    # messages, unflagged, under a new UIDVALIDITY: every key is new.
    with mailbox.client() as client:
        client.delete_folder("Support")
    mailbox.append(*MAILS, folder="Support")
    report = case.fetch()
    assert report.error is None
    assert report.downloaded == 5
    assert report.outcomes == {"duplicate": 3, "new_ticket": 2}
    case.assert_exactly_once()
    assert case.pending() == []


# -- a poison mail among good ones -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["imap-flag", "pop3-delete"])
def test_a_poison_mail_is_retried_quarantined_and_reprocessed(
    mailbox: UserMailbox, tmp_path: Path, mode: str
) -> None:
    case = _case(mailbox, tmp_path, **MODES[mode])
    poison = IDS[3]
    first = case.child(poison=POISON, max_attempts=2)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["processed"], report["failed"], report["quarantined"]) == (4, 1, 0)
    assert report["acknowledged"] == 4
    assert case.pending() == [poison]  # the good ones are stored and off the server
    assert case.assert_nothing_taken_before_commit() == Counter(
        mid for mid in IDS if mid != poison)

    second = case.child(poison=POISON, max_attempts=2)  # the last attempt
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert (report["downloaded"], report["failed"], report["quarantined"]) == (0, 1, 1)
    # Its bytes are safe in the database, so it leaves the server like the others.
    assert report["acknowledged"] == 1
    assert case.pending() == []
    with case.desk() as desk:
        (row,) = desk.mail.staged(state=StagedState.QUARANTINED)
        assert row.attempts == 2
        assert row.reason is not None
        assert f"the customer database cannot read {POISON}" in row.reason
        assert desk.blob_store.get(row.blob_key or "") == MAILS[3]
        assert poison not in _stored(desk)

        # The host fixed its directory: the mail runs again and is stored once.
        assert not isinstance(desk.directory, PoisonDirectory)
        ((after, outcome),) = desk.mail.reprocess()
        assert after.state is StagedState.PROCESSED
        assert outcome is not None
        assert outcome.outcome == "new_ticket"
        assert desk.mail.staged(state=StagedState.QUARANTINED) == []
        assert desk.mail.reprocess() == []
    case.assert_exactly_once()


# -- a mail over the size limit -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["imap-flag", "pop3-delete"])
def test_a_mail_over_the_size_limit_stays_on_the_server_and_blocks_nothing(
    mailbox: UserMailbox, tmp_path: Path, mode: str
) -> None:
    case = _case(mailbox, tmp_path, **MODES[mode], max_bytes=20_000)
    assert len(MAILS[BIG]) > 20_000 > max(len(m) for i, m in enumerate(MAILS) if i != BIG)
    report = case.fetch()
    assert report.error is None
    assert (report.listed, report.downloaded, report.quarantined) == (5, 4, 1)
    assert report.acknowledged == 4
    assert case.pending() == [IDS[BIG]]  # left for a person to look at
    with case.desk() as desk:
        (row,) = desk.mail.staged(state=StagedState.QUARANTINED)
        assert row.blob_key is None
        assert row.size == len(MAILS[BIG])
        assert row.reason is not None
        assert "exceeds the limit of 20000" in row.reason
        assert desk.mail.reprocess() == [(row, None)]  # no bytes to run again
    assert case.stored() == Counter(mid for mid in IDS if mid != IDS[BIG])

    again = case.fetch()
    assert (again.listed, again.downloaded, again.quarantined) == (1, 0, 0)
    assert case.pending() == [IDS[BIG]]


# -- a mail over the limit, when the limit changes -------------------------------------------


def test_helpdesk_fetch_mail_goes_past_a_mail_the_inbox_refuses_as_too_large(
    mailbox: UserMailbox, tmp_path: Path
) -> None:
    # Without max_bytes the loop lists with the policy's limit (25 MiB); the inbox's own
    # max_bytes refuses the invoice at download, and the loop quarantines it and goes on.
    case = _case(mailbox, tmp_path, "imap", after="flag", max_bytes=20_000)
    with case.desk() as desk:
        report = desk.mail.fetch(open_inbox(case.account))
        (row,) = desk.mail.staged(state=StagedState.QUARANTINED)
    assert report.error is None
    assert (report.downloaded, report.quarantined, report.acknowledged) == (4, 1, 4)
    assert row.reason is not None
    assert "exceeds the limit of 20000" in row.reason
    assert case.pending() == [IDS[BIG]]


@pytest.mark.parametrize("mode", ["imap-flag", "pop3-delete"])
def test_a_mail_refused_as_too_large_is_fetched_once_the_limit_is_raised(
    mailbox: UserMailbox, tmp_path: Path, mode: str
) -> None:
    case = _case(mailbox, tmp_path, **MODES[mode], max_bytes=20_000)
    case.fetch()
    assert case.pending() == [IDS[BIG]]
    raised = attrs.evolve(case, account=attrs.evolve(case.account, max_bytes=1_000_000))
    report = raised.fetch()
    assert (report.downloaded, report.processed, report.acknowledged) == (1, 1, 1)
    raised.assert_exactly_once()
    assert raised.pending() == []
    with raised.desk() as desk:
        assert desk.mail.staged(state=StagedState.QUARANTINED) == []


# -- two fetchers on one mailbox -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["imap-flag", "pop3-delete"])
def test_two_fetchers_at_once_store_every_mail_once(
    mailbox: UserMailbox, tmp_path: Path, mode: str
) -> None:
    case = _case(mailbox, tmp_path, **MODES[mode])
    both = [case.start_child(), case.start_child()]
    reports = []
    for child in both:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        reports.append(json.loads(out))
    assert sum(r["processed"] for r in reports) >= 5
    case.assert_exactly_once()
    assert case.assert_nothing_taken_before_commit() == Counter(IDS)


# -- POP3 carries out DELE at QUIT: a session that died first leaves the mail there ---------


def test_pop3_mail_whose_deletion_died_with_its_session_is_deleted_by_the_next_run(
    mailbox: UserMailbox, tmp_path: Path
) -> None:
    case = _case(mailbox, tmp_path, **MODES["pop3-delete"])
    case.killed("after_handle", 3)  # DELE sent for the first two, no QUIT
    case.fetch()
    case.assert_exactly_once()
    assert case.pending() == []
