"""A claim that runs out while its batch is being sent: nothing goes out twice.

One fake clock, one in-memory database, and a "second dispatcher" run from inside the first
one's sender, at the moment the first one's lease has run out (issue 13: a batch claimed under
one lease and sent message by message outlived its lease, and another dispatcher sent the
rest as well).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta

import pytest
from tests.services.conftest import MakeHelpdesk
from tests.services.test_outbox_dispatch import AGENT, ScriptedSender, ScriptedSms, mail_ticket

from helpdesk_core import DispatchPolicy, Helpdesk
from helpdesk_core.domain import Channel
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.outbox import OutboxState
from helpdesk_core.errors import DeliveryError
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.ports.messaging import OutgoingMail

LEASE = timedelta(minutes=5)
POLICY = DispatchPolicy(lease=LEASE, batch=10)


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    channel = MailChannel(name="support", addresses=["support@shop.example"])
    return make_helpdesk(mail_policy=MailPolicy(message_id_domain="hd.shop.example",
                                                acknowledge=False),
                         mail_channels=(channel,))


def replies(desk: Helpdesk, count: int, channel: Channel = Channel.EMAIL) -> str:
    number = mail_ticket(desk)
    for i in range(count):
        desk.tickets.reply(number, f"Odpověď {i}", agent=AGENT, channel=channel)
    return number


def deliveries(desk: Helpdesk, number: str) -> list[str]:
    return [e.new for e in desk.tickets.history(number) if e.kind is EventKind.DELIVERY]


class SlowSender(ScriptedSender):
    """Takes ``before`` before the data and ``after`` after it; ``meanwhile`` runs at a chosen
    send (1-based), after the data (``when="after"``) or before ``before_data``."""

    def __init__(self, clock: FakeClock, *, before: timedelta = timedelta(0),
                 after: timedelta = timedelta(0), at: int = 0, when: str = "after",
                 meanwhile: Callable[[], None] = lambda: None,
                 answer: Mapping[str, str] | DeliveryError | None = None) -> None:
        super().__init__()
        self.clock, self.before, self.after = clock, before, after
        self.at, self.when, self.meanwhile, self.answer = at, when, meanwhile, answer
        self.calls = 0

    def send(self, mail: OutgoingMail, *,
             before_data: Callable[[], None] | None = None) -> Mapping[str, str]:
        self.calls += 1
        self.clock.advance(self.before)
        if self.calls == self.at and self.when == "before":
            self.meanwhile()
        assert before_data is not None
        before_data()
        self.sent.append(mail)
        self.clock.advance(self.after)
        if self.calls == self.at and self.when == "after":
            self.meanwhile()
        if isinstance(self.answer, DeliveryError):
            raise self.answer
        return self.answer or {r: "sent" for r in mail.recipients}


def test_a_batch_that_outlives_its_lease_is_not_sent_twice(desk: Helpdesk,
                                                           clock: FakeClock) -> None:
    number = replies(desk, 4)
    other = ScriptedSender()
    reports = []

    def second_dispatcher() -> None:
        clock.advance(timedelta(minutes=2))
        reports.append(desk.outbox.dispatch(mail_sender=other, policy=POLICY))

    # 2 minutes a message: the third begins after the lease ran out; meanwhile another
    # dispatcher claims what the first still holds on paper and sends it.
    first = SlowSender(clock, after=timedelta(minutes=2), at=2, meanwhile=second_dispatcher)
    report = desk.outbox.dispatch(mail_sender=first, policy=POLICY)
    assert (report.claimed, report.sent, report.lost) == (4, 2, 2)
    assert (reports[0].claimed, reports[0].sent) == (2, 2)
    ids = Counter(m.message_id for m in [*first.sent, *other.sent])
    assert sorted(ids.values()) == [1, 1, 1, 1]
    assert {m.state for m in desk.outbox.for_ticket(number)} == {OutboxState.SENT}
    assert deliveries(desk, number) == ["sent"] * 4


def test_a_claim_lost_just_before_the_data_sends_nothing(desk: Helpdesk,
                                                         clock: FakeClock) -> None:
    number = replies(desk, 1)
    other = ScriptedSender()
    # The server takes 6 minutes to accept the recipients; meanwhile the lease ran out and
    # another dispatcher took the message over and sent it.
    first = SlowSender(clock, before=timedelta(minutes=6), at=1, when="before",
                       meanwhile=lambda: desk.outbox.dispatch(mail_sender=other, policy=POLICY))
    report = desk.outbox.dispatch(mail_sender=first, policy=POLICY)
    assert (report.claimed, report.sent, report.lost) == (1, 0, 1)
    assert first.sent == []  # before_data refused: the data never went out
    assert len(other.sent) == 1
    [message] = desk.outbox.for_ticket(number)
    assert message.state is OutboxState.SENT
    assert deliveries(desk, number) == ["sent"]


def test_a_claim_run_out_but_not_taken_over_is_left_for_the_next_run(
        desk: Helpdesk, clock: FakeClock) -> None:
    number = replies(desk, 1)
    first = SlowSender(clock, before=timedelta(minutes=6))
    report = desk.outbox.dispatch(mail_sender=first, policy=POLICY)
    assert (report.sent, report.lost, first.sent) == (0, 1, [])
    [message] = desk.outbox.for_ticket(number)
    assert (message.state, message.attempts) == (OutboxState.PENDING, 0)
    again = ScriptedSender()
    assert desk.outbox.dispatch(mail_sender=again, policy=POLICY).sent == 1
    assert len(again.sent) == 1


def test_the_owner_settles_what_expiry_made_uncertain_and_nobody_resends_it(
        desk: Helpdesk, clock: FakeClock) -> None:
    number = replies(desk, 1)
    other = ScriptedSender()
    # The server takes 6 minutes to answer the data: meanwhile another dispatcher finds the
    # message sending with its lease run out and makes it uncertain; then the server says 250.
    first = SlowSender(clock, after=timedelta(minutes=6), at=1,
                       meanwhile=lambda: desk.outbox.dispatch(mail_sender=other, policy=POLICY))
    report = desk.outbox.dispatch(mail_sender=first, policy=POLICY)
    assert other.sent == []
    assert (report.sent, report.lost) == (1, 0)
    [message] = desk.outbox.for_ticket(number)
    assert message.state is OutboxState.SENT
    assert message.last_error is None
    assert deliveries(desk, number) == ["uncertain", "sent"]


@pytest.mark.parametrize(("answer", "final"), [
    (DeliveryError("451 try later", transient=True), OutboxState.UNCERTAIN),
    (DeliveryError("550 spam", transient=False), OutboxState.FAILED),
])
def test_a_late_owner_writes_only_what_it_knows(desk: Helpdesk, clock: FakeClock,
                                                answer: DeliveryError,
                                                final: OutboxState) -> None:
    number = replies(desk, 1)
    first = SlowSender(clock, after=timedelta(minutes=6), answer=answer)
    desk.outbox.dispatch(mail_sender=first, policy=POLICY)
    [message] = desk.outbox.for_ticket(number)
    # A refusal for good is definite; "try later" after the lease ran out is not retried by
    # itself: the message is uncertain and an agent decides.
    assert message.state is final
    assert deliveries(desk, number) == [final.value]
    assert desk.outbox.dispatch(mail_sender=ScriptedSender(), policy=POLICY).claimed == 0


def test_a_late_owner_does_not_overwrite_an_agents_resend(desk: Helpdesk,
                                                          clock: FakeClock) -> None:
    number = replies(desk, 1)
    other = ScriptedSender()

    def expire_then_resend() -> None:
        desk.outbox.dispatch(mail_sender=other, policy=POLICY)  # uncertain
        [message] = desk.outbox.for_ticket(number)
        desk.outbox.resend(message.id, actor=AGENT)

    first = SlowSender(clock, after=timedelta(minutes=6), at=1, meanwhile=expire_then_resend)
    report = desk.outbox.dispatch(mail_sender=first, policy=POLICY)
    assert (report.sent, report.lost) == (0, 1)
    [message] = desk.outbox.for_ticket(number)
    assert message.state is OutboxState.PENDING  # the agent's resend stands
    assert desk.outbox.dispatch(mail_sender=other, policy=POLICY).sent == 1
    assert len(first.sent) + len(other.sent) == 2  # the second one asked for explicitly
    assert deliveries(desk, number) == ["uncertain", "resend requested", "sent"]


def test_an_sms_whose_claim_ran_out_before_its_turn_is_sent_once(desk: Helpdesk,
                                                                 clock: FakeClock) -> None:
    number = replies(desk, 2, channel=Channel.SMS)
    other = ScriptedSms()

    class SlowGateway(ScriptedSms):
        def send(self, *, to: str, text: str, reference: str) -> str:
            clock.advance(timedelta(minutes=6))
            if not self.sent:
                desk.outbox.dispatch(sms_sender=other, policy=POLICY)
            return super().send(to=to, text=text, reference=reference)

    first = SlowGateway()
    report = desk.outbox.dispatch(sms_sender=first, policy=POLICY)
    assert (report.sent, report.lost) == (1, 1)
    assert len(first.sent) + len(other.sent) == 2
    assert {m.state for m in desk.outbox.for_ticket(number)} == {OutboxState.SENT}
