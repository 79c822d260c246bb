"""KannelSender, delivery reports and inbound SMS against a real Kannel with fake SMSCs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import attrs
import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import DeliveryError
from helpdesk_core.inmemory import InMemoryDirectory
from helpdesk_core.sms import SmsPolicy, segment_count
from helpdesk_sms import KannelConfig, KannelSender, SmsCallbackApp
from kannel_server import Kannel, free_ports
from sms_support import JANA_PHONE, OUR_NUMBER, T0

AGENT = Actor.agent("petra", "Petra Malá")
_numbers = itertools.count(1)


def new_number() -> str:
    """A different (valid Slovak mobile) recipient per test keeps the SMSC's log apart."""
    return f"+42190{next(_numbers):07d}"


@pytest.fixture
def app(kannel: Kannel, helpdesk: Helpdesk) -> Iterator[SmsCallbackApp]:
    callbacks = SmsCallbackApp(helpdesk, token=kannel.token)
    kannel.callbacks.app = callbacks
    yield callbacks
    kannel.callbacks.app = None


def sender(kannel: Kannel, **overrides: object) -> KannelSender:
    values: dict[str, object] = {
        "sendsms_url": kannel.sendsms_url, "username": kannel.username,
        "password": kannel.password, "sender": OUR_NUMBER, "dlr_url": kannel.dlr_url,
        "callback_token": kannel.token, "timeout": 10.0,
    }
    values.update(overrides)
    return KannelSender(KannelConfig(**values))  # type: ignore[arg-type]


def test_czech_text_arrives_intact_as_ucs2(kannel: Kannel) -> None:
    to = new_number()
    text = "Příliš žluťoučký kůň úpěl ďábelské ódy – „zásilka“ č. 42 je na cestě."  # noqa: RUF001
    provider_id = sender(kannel, dlr_url=None).send(to=to, text=text, reference="ref-czech")
    assert provider_id == "ref-czech"
    got = kannel.wait_received(lambda m: m.receiver == to)
    assert (got.sender, got.kind, got.text) == (OUR_NUMBER, "ucs-2", text)


def test_a_transliterating_policy_sends_gsm7(kannel: Kannel) -> None:
    to = new_number()
    policy = SmsPolicy(transliterate=True, max_segments=1)
    sender(kannel, dlr_url=None, policy=policy).send(
        to=to, text="Dobrý den, Vaše zásilka čeká – „výdejní místo“ Žižkov.",  # noqa: RUF001
        reference="r-gsm")
    got = kannel.wait_received(lambda m: m.receiver == to)
    assert got.kind == "text"
    assert got.text == 'Dobry den, Vase zasilka ceka - "vydejni misto" Zizkov.'


@pytest.mark.parametrize(("text", "coding"), [
    ("Objednávka č. 2026-00042 bude doručena zítra mezi 8 a 12 hodinou. " * 3, "ucs2"),
    ("Your order 2026-00042 will be delivered tomorrow between 8 and 12. " * 6, "gsm7"),
])
def test_kannel_splits_long_text_into_the_counted_segments(
        kannel: Kannel, text: str, coding: str) -> None:
    to = new_number()
    expected = segment_count(text)
    assert expected == 3
    sender(kannel, dlr_url=None).send(to=to, text=text, reference=f"long-{coding}")
    kannel.wait_received(lambda m: m.receiver == to and m.kind == "udh"
                         and len([r for r in kannel.received() if r.receiver == to]) >= expected)
    parts = [m for m in kannel.received() if m.receiver == to]
    assert len(parts) == expected
    assert all(m.kind == "udh" for m in parts)


def test_a_text_over_the_cap_is_refused_before_kannel(kannel: Kannel) -> None:
    with pytest.raises(DeliveryError) as caught:
        sender(kannel, policy=SmsPolicy(max_segments=1)).send(
            to=new_number(), text="č" * 71, reference="too-long")
    assert caught.value.transient is False


def queued_reply(helpdesk: Helpdesk, to: str) -> OutboxMessage:
    opened = helpdesk.sms.receive(from_number=to, to_number=OUR_NUMBER,
                         text="Kde je moje zásilka?", at=T0, provider_id=f"seed-{to}")
    message = OutboxMessage.create(
        ticket_id=opened.ticket_id, kind="reply", channel=Channel.SMS, sender=OUR_NUMBER,
        recipients=(to,), subject="", body_text="Zásilka je na cestě, dorazí zítra.", at=T0,
        article_id="reply-article")
    message = attrs.evolve(message, state=OutboxState.SENDING)
    with helpdesk.storage.unit_of_work() as uow:
        uow.outbox.add(message)
        uow.commit()
    return message


def test_delivery_reports_reach_the_callback_and_update_outbox_and_ticket(
        kannel: Kannel, helpdesk: Helpdesk, app: SmsCallbackApp) -> None:
    to = new_number()
    message = queued_reply(helpdesk, to)
    provider_id = sender(kannel).send(to=to, text=message.body_text, reference=message.id)
    # Kannel reports "delivered to the SMSC" (8) and the fake SMSC "delivered" (1).
    calls = kannel.callbacks.wait_for(
        lambda c: c.path == "/kannel/dlr" and c.params.get("ref") == message.id, count=2)
    assert {c.params["status"] for c in calls} == {"1", "8"}
    assert all(c.status.startswith("200") for c in calls)
    assert {c.params["to"] for c in calls} == {to}
    with helpdesk.storage.unit_of_work(read_only=True) as uow:
        stored = uow.outbox.get(message.id)
    assert stored.provider_id == provider_id
    assert stored.results == {to: "delivered"}
    assert stored.state is OutboxState.SENT
    notes = [a for a in helpdesk.tickets.articles(message.ticket_id)
             if a.direction is Direction.INTERNAL]
    assert [n.body_text for n in notes] == [f"SMS to {to} delivered."]
    assert notes[0].meta["outbox_id"] == message.id


def test_a_report_with_a_wrong_key_is_refused(
        kannel: Kannel, helpdesk: Helpdesk, app: SmsCallbackApp) -> None:
    to = new_number()
    message = queued_reply(helpdesk, to)
    sender(kannel, callback_token="not-the-token").send(to=to, text="Ahoj", reference=message.id)
    calls = kannel.callbacks.wait_for(
        lambda c: c.path == "/kannel/dlr" and c.params.get("ref") == message.id, count=2)
    assert all(c.status.startswith("403") for c in calls)
    with helpdesk.storage.unit_of_work(read_only=True) as uow:
        assert uow.outbox.get(message.id).results == {}


def test_an_inbound_sms_joins_the_senders_open_ticket(
        kannel: Kannel, helpdesk: Helpdesk, app: SmsCallbackApp) -> None:
    first = helpdesk.sms.receive(from_number=JANA_PHONE, to_number=OUR_NUMBER,
                        text="Zásilka nedorazila.", at=T0, provider_id="earlier")
    helpdesk.tickets.transition(first.ticket_id, "open", actor=AGENT)
    text = "Dobrý den, posílám fotky – krabice je promáčklá. Děkuji, Jana"  # noqa: RUF001
    call = kannel.inject(JANA_PHONE, OUR_NUMBER, text)
    assert call.status.startswith("200")
    articles = helpdesk.tickets.articles(first.ticket_id)
    assert [a.body_text for a in articles] == ["Zásilka nedorazila.", text]
    latest = articles[-1]
    assert (latest.direction, latest.channel) == (Direction.INBOUND, Channel.SMS)
    assert latest.meta["from"] == JANA_PHONE
    assert latest.external_id == f"sms:{call.params['id']}"


def test_an_inbound_sms_from_an_unknown_number_opens_a_ticket(
        kannel: Kannel, helpdesk: Helpdesk, app: SmsCallbackApp,
        directory: InMemoryDirectory) -> None:
    stranger = new_number()
    call = kannel.inject(stranger, OUR_NUMBER, "Hello, my parcel has not arrived.")
    assert call.status.startswith("200")
    contact = directory.customer_by_phone(stranger)
    assert contact is not None
    [ticket] = [t for t in helpdesk.tickets.queue().items if t.customer_id == contact.id]
    assert ticket.channel is Channel.SMS
    assert [a.body_text for a in helpdesk.tickets.articles(ticket.id)] == [
        "Hello, my parcel has not arrived."]


def test_wrong_credentials_are_a_permanent_error(kannel: Kannel) -> None:
    with pytest.raises(DeliveryError) as caught:
        sender(kannel, password="wrong").send(to=new_number(), text="x", reference="auth")
    assert (caught.value.transient, caught.value.uncertain) == (False, False)
    assert "403" in str(caught.value)


def test_an_unreachable_smsbox_is_a_transient_error() -> None:
    [port] = free_ports(1)
    config = KannelConfig(sendsms_url=f"http://127.0.0.1:{port}/cgi-bin/sendsms",
                          username="u", password="p", timeout=2)
    with pytest.raises(DeliveryError) as caught:
        KannelSender(config).send(to=JANA_PHONE, text="x", reference="down")
    assert (caught.value.transient, caught.value.uncertain) == (True, False)
