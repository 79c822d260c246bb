"""The outbox dispatcher through SmtpSender to a real SMTP server, on SQLite and PostgreSQL.

No message lost, none sent twice, the ambiguous post-DATA case marked and not resent, rolled
back transactions send nothing, two dispatchers on PostgreSQL send each message once.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from helpdesk_core import DispatchPolicy
from helpdesk_core.app import Helpdesk
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain import Actor, Channel, StatusCategory
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.ports.messaging import OutgoingMail
from helpdesk_core.settings import Settings
from helpdesk_mail.smtp import SmtpSender, SmtpSettings
from smtp_server import SmtpServer, smtp_server

AGENT = Actor.agent("petra", "Petra Malá")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = MailPolicy(message_id_domain="helpdesk.shop.example")
CHANNEL = MailChannel(name="support", addresses=["support@shop.example"])
PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Killed(BaseException):
    """The dispatcher process died here."""


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def _pg_schema() -> tuple[str, str]:
    schema = f"hd_mail_{uuid.uuid4().hex[:12]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _drop(schema: str) -> None:
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.sqlite3'}"
        return
    schema, pg = _pg_schema()
    yield pg
    _drop(schema)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def desk(url: str, clock: FakeClock) -> Iterator[Helpdesk]:
    with _desk(url, clock) as helpdesk:
        yield helpdesk


def _desk(url: str, clock: FakeClock | None = None) -> Helpdesk:
    return bootstrap(Settings(database_url=url, mail_policy=POLICY, mail_channels=(CHANNEL,),
                              options={"sqlite_busy_timeout_ms": 10_000}),
                     clock=clock, environ={})


def smtp(server: SmtpServer) -> SmtpSender:
    return SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, security="none",
                                   timeout=5))


def ticket_with_mail(desk: Helpdesk) -> str:
    raw = ("From: Jana Nováková <jana@example.cz>\r\nTo: support@shop.example\r\n"
           "Subject: Rozbitý hrnek\r\nMessage-ID: <c1@example.cz>\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nHrnek přišel rozbitý.\r\n").encode()
    outcome = desk.mail.receive(raw, channel="support")
    assert outcome.ticket_number is not None
    return outcome.ticket_number


def deliveries(desk: Helpdesk, number: str) -> list[str]:
    return [e.new for e in desk.tickets.history(number) if e.kind is EventKind.DELIVERY]


def test_a_reply_goes_out_once_and_its_answer_threads(desk: Helpdesk,
                                                      server: SmtpServer) -> None:
    number = ticket_with_mail(desk)
    _article, queued = desk.tickets.reply(number, "Dobrý den, náhradu pošleme zítra.", agent=AGENT,
                                  cc=["pavel@example.cz"])
    report = desk.outbox.dispatch(mail_sender=smtp(server))
    assert (report.sent, report.failed, report.uncertain) == (2, 0, 0)  # ack + reply
    assert desk.outbox.dispatch(mail_sender=smtp(server)).claimed == 0
    reply = next(r for r in server.received if r.message["Message-ID"] == queued.message_id)
    message = reply.message
    assert message["In-Reply-To"] == "<c1@example.cz>"
    assert number in message["Subject"]
    assert message["Reply-To"] == "support@shop.example"
    assert sorted(reply.recipients) == ["jana@example.cz", "pavel@example.cz"]
    assert message["Cc"] == "pavel@example.cz"
    [stored] = [m for m in desk.outbox.for_ticket(number) if m.id == queued.id]
    assert stored.state is OutboxState.SENT
    assert stored.results == {"jana@example.cz": "sent", "pavel@example.cz": "sent"}
    assert deliveries(desk, number) == ["sent", "sent"]
    answer = ("From: jana@example.cz\r\nTo: support@shop.example\r\nSubject: Re: hrnek\r\n"
              f"Message-ID: <c2@example.cz>\r\nIn-Reply-To: {queued.message_id}\r\n\r\n"
              "Děkuji.\r\n").encode()
    assert desk.mail.receive(answer).ticket_number == number


def test_a_rolled_back_transaction_sends_nothing(desk: Helpdesk, server: SmtpServer) -> None:
    number = ticket_with_mail(desk)
    desk.outbox.dispatch(mail_sender=smtp(server))  # the acknowledgement
    ticket = desk.tickets.get(number)

    def failing_transaction() -> None:
        with desk.storage.unit_of_work() as uow:
            uow.outbox.add(OutboxMessage.create(
                ticket_id=ticket.id, kind="reply", channel=Channel.EMAIL,
                sender="support@shop.example", recipients=("jana@example.cz",), subject="x",
                body_text="never", at=T0, message_id="<never@helpdesk.shop.example>"))
            raise RuntimeError("the business transaction failed")

    with pytest.raises(RuntimeError):
        failing_transaction()
    assert desk.outbox.dispatch(mail_sender=smtp(server)).claimed == 0
    assert len(server.received) == 1


def test_a_server_down_for_a_while_delays_but_loses_nothing(
        desk: Helpdesk, server: SmtpServer, clock: FakeClock) -> None:
    number = ticket_with_mail(desk)
    server.stop()
    policy = DispatchPolicy(backoff=timedelta(minutes=1))
    first = desk.outbox.dispatch(mail_sender=smtp(server), policy=policy)
    assert (first.claimed, first.retried) == (1, 1)
    [waiting] = desk.outbox.for_ticket(number)
    assert waiting.state is OutboxState.PENDING
    assert waiting.next_attempt_at == T0 + timedelta(minutes=1)
    assert f"cannot reach 127.0.0.1:{server.port}" in (waiting.last_error or "")
    assert desk.outbox.dispatch(mail_sender=smtp(server), policy=policy).claimed == 0  # not due
    clock.advance(timedelta(minutes=1))
    assert desk.outbox.dispatch(mail_sender=smtp(server), policy=policy).retried == 1
    server.start()
    clock.advance(timedelta(minutes=2))
    assert desk.outbox.dispatch(mail_sender=smtp(server), policy=policy).sent == 1
    assert len(server.received) == 1
    [sent] = desk.outbox.for_ticket(number)
    assert (sent.state, sent.attempts) == (OutboxState.SENT, 3)
    assert sent.last_error is None  # the outage is over; the listing shows no stale error


@pytest.mark.parametrize(("fault", "expected"), [("421-mail", OutboxState.PENDING),
                                                 ("451-data", OutboxState.PENDING),
                                                 ("550-data", OutboxState.FAILED)])
def test_temporary_and_permanent_refusals(desk: Helpdesk, server: SmtpServer,
                                          clock: FakeClock, fault: str,
                                          expected: OutboxState) -> None:
    number = ticket_with_mail(desk)
    server.handler.fault = fault
    desk.outbox.dispatch(mail_sender=smtp(server))
    [message] = desk.outbox.for_ticket(number)
    assert message.state is expected
    assert server.received == []
    if expected is OutboxState.FAILED:
        assert deliveries(desk, number) == ["failed"]
        [event] = [e for e in desk.tickets.history(number) if e.kind is EventKind.DELIVERY]
        assert "550" in event.data["error"]
        return
    server.handler.fault = None
    clock.advance(timedelta(hours=1))
    assert desk.outbox.dispatch(mail_sender=smtp(server)).sent == 1
    assert len(server.received) == 1


def test_lost_after_data_is_uncertain_and_never_resent_by_itself(
        desk: Helpdesk, server: SmtpServer, clock: FakeClock) -> None:
    number = ticket_with_mail(desk)
    server.handler.fault = "drop-after-data"
    report = desk.outbox.dispatch(mail_sender=smtp(server))
    assert report.uncertain == 1
    assert len(server.received) == 1
    server.handler.fault = None
    clock.advance(timedelta(days=1))
    assert desk.outbox.dispatch(mail_sender=smtp(server)).claimed == 0
    assert len(server.received) == 1
    [message] = desk.outbox.for_ticket(number)
    assert message.state is OutboxState.UNCERTAIN
    assert deliveries(desk, number) == ["uncertain"]
    desk.outbox.resend(message.id, actor=AGENT)  # an agent decides
    assert desk.outbox.dispatch(mail_sender=smtp(server)).sent == 1
    assert [r.message["Message-ID"] for r in server.received] == [message.message_id] * 2


def test_a_dispatcher_killed_during_the_data_leaves_it_uncertain(
        desk: Helpdesk, server: SmtpServer, clock: FakeClock) -> None:
    number = ticket_with_mail(desk)

    class DiesDuringData(SmtpSender):
        def send(self, mail: OutgoingMail, *,
                 before_data: Callable[[], None] | None = None) -> Mapping[str, str]:
            def die() -> None:
                assert before_data is not None
                before_data()
                raise Killed

            return super().send(mail, before_data=die)

    with pytest.raises(Killed):
        desk.outbox.dispatch(mail_sender=DiesDuringData(smtp(server).settings))
    [message] = desk.outbox.for_ticket(number)
    assert message.state is OutboxState.SENDING
    policy = DispatchPolicy(lease=timedelta(minutes=5))
    assert desk.outbox.dispatch(mail_sender=smtp(server), policy=policy).uncertain == 0
    clock.advance(timedelta(minutes=6))  # the dead dispatcher's lease ran out
    report = desk.outbox.dispatch(mail_sender=smtp(server), policy=policy)
    assert (report.uncertain, report.sent) == (1, 0)
    assert server.received == []


def test_results_per_recipient_and_a_follow_up_for_the_deferred(
        desk: Helpdesk, server: SmtpServer, clock: FakeClock) -> None:
    number = ticket_with_mail(desk)
    desk.outbox.dispatch(mail_sender=smtp(server))
    server.handler.refuse.add("nobody@example.cz")
    server.handler.defer.add("busy@example.cz")
    _article, queued = desk.tickets.reply(number, "Odpověď", agent=AGENT,
                                  cc=["nobody@example.cz", "busy@example.cz"])
    assert desk.outbox.dispatch(mail_sender=smtp(server)).sent == 1
    stored = next(m for m in desk.outbox.for_ticket(number) if m.id == queued.id)
    assert stored.results["jana@example.cz"] == "sent"
    assert stored.results["nobody@example.cz"].startswith("refused: 550")
    assert stored.results["busy@example.cz"].startswith("deferred: 451")
    server.handler.defer.clear()
    clock.advance(timedelta(hours=1))
    assert desk.outbox.dispatch(mail_sender=smtp(server)).sent == 1
    to_busy = [r for r in server.received if "busy@example.cz" in r.recipients]
    assert [r.message["Message-ID"] for r in to_busy] == [queued.message_id]
    assert desk.tickets.get(number).status_category is StatusCategory.NEW


@pytest.mark.postgres
def test_two_dispatchers_on_postgresql_send_each_message_once(server: SmtpServer) -> None:
    schema, url = _pg_schema()
    try:
        with _desk(url) as desk:
            for i in range(30):
                raw = (f"From: c{i}@example.org\r\nTo: support@shop.example\r\n"
                       f"Subject: Dotaz {i}\r\nMessage-ID: <q{i}@example.org>\r\n\r\n"
                       "Dobrý den.\r\n").encode()
                desk.mail.receive(raw, channel="support")
        desks = [_desk(url) for _ in range(2)]
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(helpdesk: Helpdesk) -> None:
            try:
                barrier.wait()
                helpdesk.outbox.dispatch(mail_sender=smtp(server),
                                         policy=DispatchPolicy(batch=5))
                helpdesk.outbox.dispatch(mail_sender=smtp(server))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(d,)) for d in desks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        ids = [r.message["Message-ID"] for r in server.received]
        assert len(ids) == 30
        assert len(set(ids)) == 30
        for helpdesk in desks:
            helpdesk.close()
    finally:
        _drop(schema)


def test_a_server_without_auth_stops_the_run_and_the_messages_wait_with_what_to_change(
        desk: Helpdesk, server: SmtpServer, clock: FakeClock) -> None:
    """The server was reached, but it offers no AUTH for the configured login: the sender's
    settings are wrong, not the messages (it was retried for hours as 'cannot reach', then
    each queued message failed for good). The run stops after the first message, nothing
    fails or counts an attempt, and once the settings are fixed everything goes out."""
    number = ticket_with_mail(desk)
    for text in ("first answer", "second answer"):
        desk.tickets.reply(number, text, agent=Actor.agent("eva"))
    with_login = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, security="none",
                                         username="helpdesk", password="s3cret", timeout=5))
    report = desk.outbox.dispatch(mail_sender=with_login)
    assert (report.claimed, report.sent, report.failed) == (3, 0, 0)
    expected = f"the server 127.0.0.1:{server.port} does not offer AUTH (advertised: "
    assert (report.stopped or "").startswith(expected)
    assert "remove the credentials" in (report.stopped or "")
    messages = desk.outbox.for_ticket(number)
    assert [(m.state, m.attempts) for m in messages] == [(OutboxState.PENDING, 0)] * 3
    assert sum(1 for m in messages if m.last_error == report.stopped) == 1
    assert deliveries(desk, number) == []
    assert server.received == []

    clock.advance(minutes=2)  # the policy's backoff: not asked again before
    report = desk.outbox.dispatch(mail_sender=smtp(server))
    assert (report.sent, report.stopped) == (3, None)
    assert [m.last_error for m in desk.outbox.for_ticket(number)] == [None] * 3
