"""Inbound SMS → articles and tickets; delivery reports → outbox results and ticket notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from helpdesk_core import Actor
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import ValidationError
from helpdesk_core.services.sms import SmsOutcome, sms_key
from helpdesk_core.sms import DeliveryStatus

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the fake clock's start (conftest.py)
JANA_PHONE = "+420601234567"
AGENT = Actor.agent("petra", "Petra Malá")


def sms(helpdesk, text="Dobrý den, kde je moje zásilka?", *, sender="601 234 567",
        provider_id="k-1") -> SmsOutcome:
    return helpdesk.sms.receive(from_number=sender, to_number="+420800123456",
                       text=text, at=T0, provider_id=provider_id)


def test_a_known_senders_sms_opens_a_ticket_on_the_sms_channel(helpdesk, directory):
    outcome = sms(helpdesk)
    assert outcome.outcome == "new_ticket"
    assert outcome.sender == JANA_PHONE
    jana = directory.customer_by_phone(JANA_PHONE)
    ticket = helpdesk.tickets.get(outcome.ticket_number)
    assert (ticket.channel, ticket.customer_id, ticket.language) == (Channel.SMS, jana.id, "cs")
    assert ticket.subject == "Dobrý den, kde je moje zásilka?"
    [article] = helpdesk.tickets.articles(ticket.id)
    assert (article.direction, article.channel, article.public) == (
        Direction.INBOUND, Channel.SMS, True)
    assert article.author.id == jana.id
    assert article.external_id == sms_key("k-1")
    assert article.meta["from"] == JANA_PHONE
    assert article.meta["to"] == "+420800123456"


def test_the_next_sms_joins_the_newest_active_ticket(helpdesk):
    first = sms(helpdesk, provider_id="k-1")
    second = sms(helpdesk, "Už to mám, děkuji.", sender="+420601234567", provider_id="k-2")
    assert second.outcome == "reply"
    assert second.ticket_id == first.ticket_id
    bodies = [a.body_text for a in helpdesk.tickets.articles(first.ticket_id)]
    assert bodies == ["Dobrý den, kde je moje zásilka?", "Už to mám, děkuji."]


def test_a_reply_reopens_a_ticket_waiting_on_the_customer(helpdesk):
    first = sms(helpdesk, provider_id="k-1")
    helpdesk.tickets.transition(first.ticket_id, "open", actor=AGENT)
    helpdesk.tickets.transition(first.ticket_id, "waiting_on_customer", actor=AGENT)
    sms(helpdesk, "Posílám číslo objednávky.", provider_id="k-2")
    assert helpdesk.tickets.get(first.ticket_id).status == "open"


def test_a_closed_ticket_is_not_reused(helpdesk):
    first = sms(helpdesk, provider_id="k-1")
    helpdesk.tickets.transition(first.ticket_id, "open", actor=AGENT)
    helpdesk.tickets.transition(first.ticket_id, "resolved", actor=AGENT)
    again = sms(helpdesk, "Zase nefunguje.", provider_id="k-2")
    assert again.outcome == "new_ticket"
    assert again.ticket_id != first.ticket_id


def test_the_same_sms_delivered_twice_is_one_article(helpdesk):
    first = sms(helpdesk, provider_id="dup")
    again = sms(helpdesk, provider_id="dup")
    assert again.outcome == "duplicate"
    assert (again.ticket_id, again.article_id) == (first.ticket_id, first.article_id)
    assert len(helpdesk.tickets.articles(first.ticket_id)) == 1
    reply = sms(helpdesk, "Druhá zpráva", provider_id="other")
    assert sms(helpdesk, "Druhá zpráva", provider_id="other").outcome == "duplicate"
    assert len(helpdesk.tickets.articles(reply.ticket_id)) == 2


def test_an_unknown_number_gets_a_contact_and_keeps_its_ticket(helpdesk, directory):
    first = sms(helpdesk, "Hello, is my parcel lost?", sender="+421 903 123 456",
                provider_id="u-1")
    assert first.outcome == "new_ticket"
    contact = directory.customer_by_phone("+421903123456")
    assert contact is not None
    assert first.customer_id == contact.id
    second = sms(helpdesk, "Any news?", sender="00421903123456", provider_id="u-2")
    assert (second.outcome, second.ticket_id) == ("reply", first.ticket_id)


@pytest.mark.parametrize("sender", ["anonymous", "", "Vodafone", "+310000000", "12"])
def test_a_sender_that_is_no_phone_number_opens_a_ticket_without_a_customer(helpdesk, sender):
    outcome = sms(helpdesk, "Vaše zásilka", sender=sender, provider_id=f"x-{sender}")
    assert outcome.outcome == "new_ticket"
    assert outcome.customer_id is None
    assert outcome.sender is None
    ticket = helpdesk.tickets.get(outcome.ticket_id)
    assert ticket.customer_id is None
    [article] = helpdesk.tickets.articles(ticket.id)
    assert article.meta["from"] == sender.strip()


def test_an_empty_sms_is_kept_and_a_long_one_gets_a_short_subject(helpdesk):
    empty = sms(helpdesk, "  ", provider_id="e")
    assert helpdesk.tickets.articles(empty.ticket_id)[0].body_text == "(empty SMS)"
    long = sms(helpdesk, "slovo " * 40, sender="+420602000000", provider_id="l")
    subject = helpdesk.tickets.get(long.ticket_id).subject
    assert len(subject) <= 60
    assert subject.endswith("…")


@pytest.mark.parametrize("text", ["\ud800", "Dobrý den \udfff"])
def test_a_text_with_a_lone_surrogate_is_refused_before_the_sender_becomes_a_contact(
        helpdesk, directory, text):
    customers = dict(directory.customers)
    with pytest.raises(ValidationError) as refused:
        sms(helpdesk, text, sender="+421 903 123 456", provider_id="s-1")
    assert refused.value.field == "text"
    assert directory.customers == customers


def test_an_sms_of_control_characters_only_is_an_empty_sms(helpdesk):
    outcome = sms(helpdesk, "\x00\x1b", sender="+421 903 123 456", provider_id="c-1")
    assert helpdesk.tickets.articles(outcome.ticket_id)[0].body_text == "(empty SMS)"


@pytest.mark.parametrize("provider_id", ["", "   "])
def test_an_sms_needs_a_provider_id(helpdesk, provider_id):
    with pytest.raises(ValidationError):
        sms(helpdesk, provider_id=provider_id)


# -- delivery reports ---------------------------------------------------------------------


def queued_sms(helpdesk, *, provider_id: str | None = "gw-1",
               state: OutboxState = OutboxState.SENT) -> OutboxMessage:
    ticket = sms(helpdesk, provider_id=f"in-{provider_id}")
    message = OutboxMessage.create(
        ticket_id=ticket.ticket_id, kind="reply", channel=Channel.SMS, sender="+420800123456",
        recipients=(JANA_PHONE,), subject="", body_text="Zásilka je na cestě.", at=T0,
        article_id="article-1")
    message = attrs.evolve(message, provider_id=provider_id, state=state,
                           results={JANA_PHONE: "sent"} if provider_id else {})
    with helpdesk.storage.unit_of_work() as uow:
        uow.outbox.add(message)
        uow.commit()
    return message


def stored(helpdesk, message_id: str) -> OutboxMessage:
    with helpdesk.storage.unit_of_work(read_only=True) as uow:
        return uow.outbox.get(message_id)


def notes(helpdesk, ticket_id: str):
    return [a for a in helpdesk.tickets.articles(ticket_id) if a.direction is Direction.INTERNAL]


def test_reports_update_the_results_and_a_final_one_notes_the_ticket(helpdesk):
    message = queued_sms(helpdesk)
    accepted = helpdesk.sms.delivery_report(provider_id="gw-1", status="accepted",
                                      at=T0, detail="ACK/")
    assert (accepted.matched, accepted.changed, accepted.note_id) == (True, True, None)
    assert stored(helpdesk, message.id).results == {JANA_PHONE: "accepted"}
    assert notes(helpdesk, message.ticket_id) == []

    delivered = helpdesk.sms.delivery_report(provider_id="gw-1",
                                       status=DeliveryStatus.DELIVERED,
                                       at=T0 + timedelta(seconds=5), detail="")
    assert delivered.changed
    assert stored(helpdesk, message.id).results == {JANA_PHONE: "delivered"}
    assert stored(helpdesk, message.id).state is OutboxState.SENT
    [note] = notes(helpdesk, message.ticket_id)
    assert note.id == delivered.note_id
    assert note.public is False
    assert note.body_text == f"SMS to {JANA_PHONE} delivered."
    assert note.meta["outbox_id"] == message.id
    assert note.meta["article_id"] == "article-1"
    assert note.meta["status"] == "delivered"

    # Repeated and late reports change nothing.
    for status in ("delivered", "accepted", "failed"):
        late = helpdesk.sms.delivery_report(provider_id="gw-1", status=status, at=T0)
        assert (late.matched, late.changed) == (True, False)
    assert stored(helpdesk, message.id).results == {JANA_PHONE: "delivered"}
    assert len(notes(helpdesk, message.ticket_id)) == 1


def test_a_failure_report_marks_the_message_failed(helpdesk):
    message = queued_sms(helpdesk)
    outcome = helpdesk.sms.delivery_report(provider_id="gw-1", status="failed",
                                     at=T0, detail="absent subscriber", recipient=JANA_PHONE)
    assert outcome.changed
    after = stored(helpdesk, message.id)
    assert after.state is OutboxState.FAILED
    assert after.results == {JANA_PHONE: "failed: absent subscriber"}
    assert "absent subscriber" in (after.last_error or "")
    [note] = notes(helpdesk, message.ticket_id)
    assert note.body_text == f"SMS to {JANA_PHONE} not delivered: absent subscriber"


def test_a_report_before_the_provider_id_was_stored_finds_the_message_by_reference(helpdesk):
    message = queued_sms(helpdesk, provider_id=None, state=OutboxState.SENDING)
    outcome = helpdesk.sms.delivery_report(provider_id="gw-early", status="delivered",
                                     at=T0, reference=message.id)
    assert outcome.matched
    after = stored(helpdesk, message.id)
    assert (after.provider_id, after.state) == ("gw-early", OutboxState.SENT)
    assert after.results == {JANA_PHONE: "delivered"}


def test_a_report_for_an_unknown_message_is_not_an_error(helpdesk):
    queued_sms(helpdesk)
    outcome = helpdesk.sms.delivery_report(provider_id="nobody", status="delivered",
                                     at=T0, reference="no-such-outbox-id")
    assert (outcome.matched, outcome.changed) == (False, False)


def test_an_unknown_status_is_refused(helpdesk):
    with pytest.raises(ValidationError) as caught:
        helpdesk.sms.delivery_report(provider_id="gw-1", status="lost", at=T0)
    assert caught.value.field == "status"


def test_a_delivered_report_clears_the_error_of_an_uncertain_message(helpdesk):
    message = queued_sms(helpdesk, state=OutboxState.UNCERTAIN)
    with helpdesk.storage.unit_of_work() as uow:
        uow.outbox.update(attrs.evolve(message, last_error="the gateway did not answer"))
        uow.commit()
    helpdesk.sms.delivery_report(provider_id="gw-1", status="delivered", at=T0)
    [after] = helpdesk.outbox.for_ticket(message.ticket_id)
    assert (after.state, after.last_error) == (OutboxState.SENT, None)
    assert after.results == {JANA_PHONE: "delivered"}
