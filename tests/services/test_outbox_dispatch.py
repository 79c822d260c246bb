"""Agent replies and the outbox dispatcher on in-memory storage with scripted senders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from tests.services.conftest import MakeHelpdesk
from tests.services.mail_support import raw_mail

from helpdesk_core import DispatchPolicy, Helpdesk, StaffVia
from helpdesk_core.domain import Actor, Channel, Direction
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.outbox import OutboxState
from helpdesk_core.errors import DeliveryError, ValidationError
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.mail.threading import reply_subject
from helpdesk_core.ports.messaging import OutgoingMail

AGENT = Actor.agent("petra", "Petra Malá")


class ScriptedSender:
    """Answers each send with the next scripted outcome: a result map or an error."""

    def __init__(self, *outcomes: Mapping[str, str] | DeliveryError) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail, *,
             before_data: Callable[[], None] | None = None) -> Mapping[str, str]:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, DeliveryError):
            if outcome.uncertain and before_data:
                before_data()
            raise outcome
        if before_data:
            before_data()
        self.sent.append(mail)
        return outcome or {r: "sent" for r in mail.recipients}


class ScriptedSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, *, to: str, text: str, reference: str) -> str:
        self.sent.append((to, text, reference))
        return f"gw-{len(self.sent)}"


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    channel = MailChannel(name="support", addresses=["support@shop.example"])
    return make_helpdesk(mail_policy=MailPolicy(message_id_domain="hd.shop.example",
                                                acknowledge=False),
                         mail_channels=(channel,))


def mail_ticket(desk: Helpdesk) -> str:
    outcome = desk.mail.receive(raw_mail(message_id="<c1@example.cz>"), channel="support")
    return outcome.ticket_number or ""


def test_a_reply_is_an_article_and_an_outbox_message(desk: Helpdesk) -> None:
    number = mail_ticket(desk)
    article, message = desk.tickets.reply(number, "Náhradu pošleme zítra.", agent=AGENT)
    assert article.direction is Direction.OUTBOUND
    assert article.public
    assert article.meta["message_id"] == message.message_id
    assert message.message_id is not None
    assert message.message_id.endswith("@hd.shop.example>")
    assert message.recipients == ("jana@example.cz",)
    assert message.sender == message.reply_to == "support@shop.example"
    assert message.sender_name == "Petra Malá"
    assert message.subject == f"Re: [{number}] Rychlovarná konvice nefunguje"
    assert message.headers["In-Reply-To"] == "<c1@example.cz>"
    assert message.state is OutboxState.PENDING
    # the customer's answer to it threads by its Message-ID
    answer = desk.mail.receive(raw_mail(subject="Re: díky", in_reply_to=message.message_id))
    assert answer.ticket_number == number


def test_replying_to_a_customer_without_address_is_refused(desk: Helpdesk) -> None:
    ticket = desk.tickets.open_by_staff(agent=AGENT, via=StaffVia.PHONE,
                                subject="Callback", message="Zavolat zpět")
    with pytest.raises(ValidationError):
        desk.tickets.reply(ticket.number, "Hello", agent=AGENT)
    assert desk.outbox.for_ticket(ticket.number) == []


def test_the_message_sent_carries_the_text_the_article_shows(desk: Helpdesk) -> None:
    """A control character, a CR that would start a new header, a bidi override in the
    subject: the outbox message is cleaned as the article is (it kept them raw, and
    PostgreSQL refused the NUL — a hypothesis find)."""
    number = mail_ticket(desk)
    article, message = desk.tickets.reply(
        number, "Dobrý den,\r\nnáhrada\x00 jde.\x1b ", agent=AGENT,
        subject="Re: víko\r\nBcc: victim@example.org \u202e", html="<p>a\x00b</p>\r\n")
    assert message.body_text == article.body_text == "Dobrý den,\nnáhrada jde."
    assert message.subject == article.subject == "Re: víko Bcc: victim@example.org"
    assert message.body_html == "<p>ab</p>"
    [stored] = desk.outbox.for_ticket(number)[-1:]
    assert (stored.subject, stored.body_text) == (message.subject, message.body_text)


def test_subjects_keep_one_re_and_one_number() -> None:
    assert reply_subject("AW: Re: [HD-1] Lieferung", "HD-1") == "Re: [HD-1] Lieferung"
    assert reply_subject("Lieferung", "HD-1") == "Re: [HD-1] Lieferung"
    assert reply_subject("Re[2]: Odp: Lieferung", "HD-1", "{subject} (#{number})") == \
        "Re: Lieferung (#HD-1)"


def test_transient_failures_back_off_then_fail(desk: Helpdesk, clock: FakeClock) -> None:
    number = mail_ticket(desk)
    desk.tickets.reply(number, "text", agent=AGENT)
    busy = DeliveryError("451 busy", transient=True)
    sender = ScriptedSender(busy, busy, busy)
    policy = DispatchPolicy(max_attempts=3, backoff=timedelta(minutes=1))
    waits = []
    for _ in range(3):
        report = desk.outbox.dispatch(mail_sender=sender, policy=policy)
        [message] = desk.outbox.for_ticket(number)
        waits.append((report.retried, report.failed, message.attempts))
        clock.advance(timedelta(hours=1))
    assert waits == [(1, 0, 1), (1, 0, 2), (0, 1, 3)]
    [message] = desk.outbox.for_ticket(number)
    assert message.state is OutboxState.FAILED
    deliveries = [e.new for e in desk.tickets.history(number) if e.kind is EventKind.DELIVERY]
    assert deliveries == ["failed"]


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = DispatchPolicy(backoff=timedelta(minutes=1), max_backoff=timedelta(minutes=5))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert [policy.retry_at(now, n) - now for n in (1, 2, 3, 4)] == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=5)]


def test_a_broken_adapter_does_not_stop_the_run(desk: Helpdesk) -> None:
    number = mail_ticket(desk)
    desk.tickets.reply(number, "one", agent=AGENT)
    desk.tickets.reply(number, "two", agent=AGENT)

    class Broken(ScriptedSender):
        def send(self, mail: OutgoingMail, *,
                 before_data: Callable[[], None] | None = None) -> Mapping[str, str]:
            if mail.text == "one":
                raise RuntimeError("bug in the adapter")
            return super().send(mail, before_data=before_data)

    report = desk.outbox.dispatch(mail_sender=Broken())
    assert (report.retried, report.sent) == (1, 1)


def test_resend_is_only_for_failed_or_uncertain(desk: Helpdesk) -> None:
    number = mail_ticket(desk)
    _article, message = desk.tickets.reply(number, "text", agent=AGENT)
    with pytest.raises(ValidationError):
        desk.outbox.resend(message.id, actor=AGENT)
    desk.outbox.dispatch(mail_sender=ScriptedSender(
        DeliveryError("lost", transient=False, uncertain=True)))
    again = desk.outbox.resend(message.id, actor=AGENT)
    assert (again.state, again.message_id) == (OutboxState.PENDING, message.message_id)
    sender = ScriptedSender()
    desk.outbox.dispatch(mail_sender=sender)
    assert [m.message_id for m in sender.sent] == [message.message_id]
    states = [e.new for e in desk.tickets.history(number) if e.kind is EventKind.DELIVERY]
    assert states == ["uncertain", "resend requested", "sent"]


def test_sms_replies_go_through_the_sms_sender(desk: Helpdesk) -> None:
    number = mail_ticket(desk)  # Jana has a phone number in the host directory
    _article, message = desk.tickets.reply(number, "Zásilka je na cestě.", agent=AGENT,
                                   channel=Channel.SMS)
    assert message.recipients == ("+420601234567",)
    sms = ScriptedSms()
    report = desk.outbox.dispatch(mail_sender=ScriptedSender(), sms_sender=sms)
    assert report.sent == 1
    assert sms.sent == [("+420601234567", "Zásilka je na cestě.", message.id)]
    [stored] = desk.outbox.for_ticket(number)
    assert (stored.state, stored.provider_id) == (OutboxState.SENT, "gw-1")


def test_a_delivery_report_that_overtakes_the_dispatcher_is_kept(desk: Helpdesk) -> None:
    number = mail_ticket(desk)
    desk.tickets.reply(number, "Zásilka je na cestě.", agent=AGENT, channel=Channel.SMS)

    class FastGateway(ScriptedSms):
        """The network reports delivery before the dispatcher has recorded the handover."""

        def send(self, *, to: str, text: str, reference: str) -> str:
            provider_id = super().send(to=to, text=text, reference=reference)
            with desk.storage.unit_of_work() as uow:
                message = uow.outbox.get(reference)
                uow.outbox.update(attrs.evolve(message, provider_id=provider_id,
                                               results={to: "delivered"}))
                uow.commit()
            return provider_id

    desk.outbox.dispatch(sms_sender=FastGateway())
    [stored] = desk.outbox.for_ticket(number)
    assert stored.state is OutboxState.SENT
    assert stored.results == {"+420601234567": "delivered"}
    assert stored.provider_id == "gw-1"


def test_resolving_queues_the_resolution_message(desk: Helpdesk) -> None:
    number = mail_ticket(desk)
    desk.tickets.transition(number, "resolved", actor=AGENT)
    [message] = [m for m in desk.outbox.for_ticket(number) if m.kind == "resolution"]
    assert message.recipients == ("jana@example.cz",)
    assert number in message.subject
    assert message.headers["Auto-Submitted"] == "auto-generated"
    assert message.headers["In-Reply-To"] == "<c1@example.cz>"
    assert message.body_text.strip()
    [article] = [a for a in desk.tickets.articles(number) if a.meta.get("kind") == "resolution"]
    assert article.direction is Direction.OUTBOUND
    desk.tickets.transition(number, "open", actor=AGENT)
    desk.tickets.transition(number, "resolved", actor=AGENT)  # resolved again: a second message
    assert len([m for m in desk.outbox.for_ticket(number) if m.kind == "resolution"]) == 2


def test_no_resolution_message_when_turned_off_or_without_address(
        make_helpdesk: MakeHelpdesk) -> None:
    quiet = make_helpdesk(mail_policy=MailPolicy(resolution_message=False, acknowledge=False))
    number = quiet.mail.receive(raw_mail()).ticket_number or ""
    quiet.tickets.transition(number, "resolved", actor=AGENT)
    assert quiet.outbox.for_ticket(number) == []
    ticket = quiet.tickets.open_by_staff(agent=AGENT, via=StaffVia.PHONE, subject="x", message="y")
    loud = make_helpdesk()
    loud.storage._state = quiet.storage._state  # type: ignore[attr-defined]
    loud.tickets.transition(ticket.number, "resolved", actor=AGENT)  # nobody to write to
    assert loud.tickets.get(ticket.number).status == "resolved"


def test_what_became_of_a_message_reaches_the_ticket_event_hook(
        make_helpdesk: MakeHelpdesk) -> None:
    """Delivery results (sent, failed, uncertain) are ticket events like any other: a host's
    listener can alert on a failed delivery."""
    from helpdesk_core import hookimpl
    from helpdesk_core.domain.history import TicketEvent
    from helpdesk_core.domain.ticket import Ticket

    heard: list[tuple[str, object]] = []

    class Listener:
        @hookimpl
        def helpdesk_ticket_event(self, event: TicketEvent, ticket: Ticket) -> None:
            if event.kind is EventKind.DELIVERY:
                heard.append((ticket.number, event.new))

    channel = MailChannel(name="support", addresses=["support@shop.example"])
    desk = make_helpdesk(plugins=(Listener(),), mail_channels=(channel,),
                         mail_policy=MailPolicy(acknowledge=False))
    number = mail_ticket(desk)
    desk.tickets.reply(number, "První.", agent=AGENT)
    desk.tickets.reply(number, "Druhá.", agent=AGENT)
    desk.tickets.reply(number, "Třetí.", agent=AGENT)
    desk.outbox.dispatch(mail_sender=ScriptedSender(
        None, DeliveryError("550 no such user", transient=False),  # type: ignore[arg-type]
        DeliveryError("lost", transient=False, uncertain=True)))
    assert heard == [(number, "sent"), (number, "failed"), (number, "uncertain")]


def test_a_message_sent_after_a_failed_attempt_shows_no_error(desk: Helpdesk,
                                                               clock: FakeClock) -> None:
    number = mail_ticket(desk)
    desk.tickets.reply(number, "text", agent=AGENT)
    sender = ScriptedSender(DeliveryError("cannot reach smtp.shop.example:587", transient=True))
    assert desk.outbox.dispatch(mail_sender=sender).retried == 1
    [waiting] = desk.outbox.for_ticket(number)
    assert (waiting.state, waiting.last_error) == (OutboxState.PENDING,
                                                   "cannot reach smtp.shop.example:587")
    clock.advance(timedelta(hours=1))
    assert desk.outbox.dispatch(mail_sender=sender).sent == 1
    [sent] = desk.outbox.for_ticket(number)
    assert (sent.state, sent.attempts, sent.last_error) == (OutboxState.SENT, 2, None)


def test_a_resent_message_shows_no_error_and_the_history_keeps_the_failure(
        desk: Helpdesk) -> None:
    number = mail_ticket(desk)
    _article, message = desk.tickets.reply(number, "text", agent=AGENT)
    desk.outbox.dispatch(mail_sender=ScriptedSender(
        DeliveryError("550 5.1.1 no such user", transient=False)))
    desk.outbox.resend(message.id, actor=AGENT)
    desk.outbox.dispatch(mail_sender=ScriptedSender())
    [sent] = desk.outbox.for_ticket(number)
    assert (sent.state, sent.last_error) == (OutboxState.SENT, None)
    events = [e for e in desk.tickets.history(number) if e.kind is EventKind.DELIVERY]
    assert [(e.new, e.data.get("error")) for e in events] == [
        ("failed", "550 5.1.1 no such user"), ("resend requested", None), ("sent", None)]


def test_a_follow_up_for_deferred_recipients_starts_without_an_error(
        desk: Helpdesk, clock: FakeClock) -> None:
    number = mail_ticket(desk)
    desk.tickets.reply(number, "text", agent=AGENT, cc=["pavel@example.cz"])
    desk.outbox.dispatch(mail_sender=ScriptedSender(DeliveryError("421 busy", transient=True)))
    clock.advance(timedelta(hours=1))
    desk.outbox.dispatch(mail_sender=ScriptedSender(
        {"jana@example.cz": "sent", "pavel@example.cz": "deferred: 451 4.2.0 busy"}))
    messages = sorted(desk.outbox.for_ticket(number), key=lambda m: -len(m.recipients))
    assert [(m.state, m.recipients, m.last_error) for m in messages] == [
        (OutboxState.SENT, ("jana@example.cz", "pavel@example.cz"), None),
        (OutboxState.PENDING, ("pavel@example.cz",), None)]
