"""The database failing under the fetch loop is never a mail's fault.

A PostgreSQL backend terminated inside one healthy mail's transaction, run after run, and the
database made unreachable (a TCP proxy in front of it, stopped): no mail is quarantined or
charged an attempt, nothing is acknowledged on the server before it is stored, and once the
database is back every mail is processed. Pooled connections whose backends were terminated
are replaced before use (``pool_pre_ping``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.services.mail_ingest import MailIngest
from helpdesk_core.testing import MemoryInbox
from sa_support import pg_server_url
from tcp_proxy import TcpProxy
from test_sqlalchemy_mail import POLICY, mail

pytestmark = pytest.mark.postgres


class CheckedInbox(MemoryInbox):
    """Refuses (by failing the test) an acknowledgement of a mail that is not stored."""

    def __init__(self, desk: Helpdesk) -> None:
        super().__init__()
        self.desk = desk
        self.early: list[str] = []

    def acknowledge(self, key: str) -> None:
        rows = {r.key: r for r in self.desk.mail.staged(account=self.account, limit=10_000)}
        row = rows.get(key)
        if row is None or row.state is StagedState.STAGED:
            self.early.append(key)
        super().acknowledge(key)


def _desk(url: str) -> Helpdesk:
    return bootstrap(Settings(database_url=url, mail_policy=POLICY, migrate=True,
                              options={"pool_size": 2}), environ={})


def _fill(inbox: MemoryInbox, count: int, start: int = 0) -> list[str]:
    return [inbox.deliver(mail(f"c{i}@example.org", f"Dotaz {i}", message_id=f"<o{i}@x>"))
            for i in range(start, start + count)]


def _terminate(pids: list[int]) -> None:
    admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    finally:
        admin.dispose()


def _assert_all_processed(desk: Helpdesk, inbox: CheckedInbox, count: int) -> None:
    rows = desk.mail.staged(limit=10_000)
    assert [r.state for r in rows] == [StagedState.PROCESSED] * count
    assert all(r.attempts == 0 and r.acknowledged for r in rows)
    assert inbox.messages == {}
    assert inbox.early == []
    assert len(desk.tickets.queue().items) == count


@pytest.fixture
def desk(pg_url: str) -> Iterator[Helpdesk]:
    with _desk(pg_url) as helpdesk:
        yield helpdesk


def test_a_backend_killed_in_one_mails_transaction_three_runs_running_counts_nothing(
    desk: Helpdesk, monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = CheckedInbox(desk)
    keys = _fill(inbox, 6)
    victim = "Dotaz 2"
    kills = {"left": 6}  # every attempt of three runs (each run tries twice)
    real = MailIngest._decide

    def decide_then_die(self: MailIngest, unit: Any, p: Any, *args: Any) -> Any:
        result = real(self, unit, p, *args)
        if p.text.subject == victim and kills["left"]:
            kills["left"] -= 1
            conn = unit.storage_unit.connection()
            _terminate([conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()])
        return result

    monkeypatch.setattr(MailIngest, "_decide", decide_then_die)
    for _run in range(3):
        report = desk.mail.fetch(inbox)
        assert report.error is not None
        assert "database is unavailable" in report.error
        assert report.quarantined == report.failed == 0
        [row] = [r for r in desk.mail.staged() if r.key == keys[2]]
        assert (row.state, row.attempts, row.acknowledged) == (StagedState.STAGED, 0, False)
        assert keys[2] in inbox.messages  # never acknowledged: it is not stored
    assert kills["left"] == 0
    report = desk.mail.fetch(inbox)
    assert report.error is None
    _assert_all_processed(desk, inbox, 6)


def test_pooled_connections_of_terminated_backends_are_replaced(desk: Helpdesk) -> None:
    engine = desk.storage.engine  # type: ignore[attr-defined]
    pids: list[int] = []

    @event.listens_for(engine, "connect")
    def remember(dbapi_connection: Any, record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(cursor.fetchone()[0])
        dbapi_connection.commit()

    engine.dispose()
    inbox = CheckedInbox(desk)
    _fill(inbox, 3)
    assert desk.mail.fetch(inbox).error is None
    assert pids
    _terminate(pids)  # every pooled connection's backend: the server restarted, say
    _fill(inbox, 3, start=3)
    report = desk.mail.fetch(inbox)
    assert (report.error, report.storage_unavailable, report.processed) == (None, 0, 3)
    _assert_all_processed(desk, inbox, 6)


def test_a_database_that_goes_away_mid_run_loses_and_charges_nothing(
    pg_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_url = make_url(pg_url)
    proxy = TcpProxy((real_url.host or "127.0.0.1", real_url.port or 5432))
    url = real_url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    try:
        with _desk(url) as desk:
            inbox = CheckedInbox(desk)
            _fill(inbox, 8)
            real = MailIngest._decide

            def decide_then_go_away(self: MailIngest, unit: Any, p: Any, *args: Any) -> Any:
                result = real(self, unit, p, *args)
                if p.text.subject == "Dotaz 3":
                    proxy.stop()  # inside that mail's transaction
                return result

            monkeypatch.setattr(MailIngest, "_decide", decide_then_go_away)
            report = desk.mail.fetch(inbox)
            assert report.error is not None
            assert "database is unavailable" in report.error
            assert (report.processed, report.failed, report.quarantined) == (3, 0, 0)
            assert len(inbox.messages) == 5
            monkeypatch.setattr(MailIngest, "_decide", real)
            down = desk.mail.fetch(inbox)  # still down: the run stops before anything
            assert down.error is not None
            assert (down.processed, down.acknowledged) == (0, 0)
            proxy.start()
            report = desk.mail.fetch(inbox)
            assert report.error is None
            assert report.processed == 5
            _assert_all_processed(desk, inbox, 8)
    finally:
        proxy.stop()
