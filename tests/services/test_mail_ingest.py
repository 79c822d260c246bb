"""Inbound mail into tickets: threading, repeats, participants, bounces, acknowledgements."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from tests.services.conftest import MakeHelpdesk
from tests.services.mail_support import raw_mail

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Contact, Direction, EntityKind, EntityRef, StatusCategory
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.domain.values import Actor
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.mail.policy import MailChannel, MailPolicy

AGENT = Actor.agent("eva", "Eva")
POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(mail_policy=POLICY)


def new_ticket(desk: Helpdesk, **kw: object) -> str:
    outcome = desk.mail.receive(raw_mail(**kw))  # type: ignore[arg-type]
    assert outcome.outcome == "new_ticket", outcome
    assert outcome.ticket_number is not None
    return outcome.ticket_number


# -- new tickets and the acknowledgement -----------------------------------------------------


def test_a_new_mail_opens_a_ticket_and_queues_an_acknowledgement(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(raw_mail(message_id="<first@mail.example.cz>"))
    assert outcome.outcome == "new_ticket"
    ticket = desk.tickets.get(outcome.ticket_number or "")
    assert ticket.channel.value == "email"
    assert ticket.subject == "Rychlovarná konvice nefunguje"
    assert ticket.language == "cs"  # Jana's language from the host directory
    inbound, ack = desk.tickets.articles(ticket.number)
    assert inbound.direction is Direction.INBOUND
    assert inbound.public
    assert "přestala hřát" in inbound.body_text
    assert inbound.meta["message_id"] == "<first@mail.example.cz>"
    assert ack.direction is Direction.OUTBOUND
    assert ticket.number in ack.subject
    [message] = desk.outbox.for_ticket(ticket.number)
    assert message.id == outcome.acknowledgement
    assert message.recipients == ("jana@example.cz",)
    assert message.sender == "support@shop.example"
    assert ticket.number in message.subject
    assert ticket.number in message.body_text
    assert "Dobrý den" in message.body_text  # Czech template for a Czech customer
    assert message.headers["Auto-Submitted"] == "auto-replied"
    assert message.headers["X-Helpdesk-Loop"] == "helpdesk-core"
    assert message.headers["X-Auto-Response-Suppress"] == "All"
    assert message.headers["In-Reply-To"] == "<first@mail.example.cz>"
    assert message.headers["References"] == "<first@mail.example.cz>"
    assert message.message_id is not None
    assert message.message_id.endswith("@helpdesk.shop.example>")


def test_an_unknown_sender_becomes_a_contact(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(raw_mail(sender="Karl Huber <Karl.Huber@Firma.DE>",
                                         subject="Lieferung verspätet", body="Wo bleibt sie?"))
    ticket = desk.tickets.get(outcome.ticket_number or "")
    contact = desk.directory.customer(ticket.customer_id or "")
    assert contact is not None
    assert contact.emails == ("karl.huber@firma.de",)
    assert contact.name == "Karl Huber"


def test_unknown_senders_can_be_quarantined_by_policy(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=MailPolicy(unknown_sender="quarantine"))
    outcome = desk.mail.receive(raw_mail(sender="stranger@example.org"))
    assert outcome.outcome == "quarantined"
    assert outcome.reason == "unknown sender (policy: quarantine)"
    assert desk.directory.customer_by_email("stranger@example.org") is None
    assert desk.tickets.queue().items == []


def test_mail_quarantined_by_receive_is_kept_for_reprocessing(
        make_helpdesk: MakeHelpdesk, directory: InMemoryDirectory) -> None:
    desk = make_helpdesk(mail_policy=MailPolicy(unknown_sender="quarantine"))
    raw = raw_mail(sender="Karl <karl@firma.example>", subject="Lieferung")
    outcome = desk.mail.receive(raw)
    assert outcome.reason == "unknown sender (policy: quarantine)"
    # a staged row of the channel's account, with the raw bytes: listed like fetched mail
    [row] = desk.mail.staged(account="default", state=StagedState.QUARANTINED)
    assert row.key.startswith("received:")
    assert row.reason == outcome.reason
    assert desk.blob_store.get(row.blob_key or "") == raw
    assert desk.mail.receive(raw).outcome == "quarantined"  # the same mail: still one row
    assert len(desk.mail.staged(state=StagedState.QUARANTINED)) == 1
    [(_row, again)] = desk.mail.reprocess()
    assert again is None  # still unknown
    directory.add_customer(Contact.create(name="Karl", email="karl@firma.example"))
    [(row, result)] = desk.mail.reprocess(account="default")
    assert result is not None
    assert result.outcome == "new_ticket"
    assert row.state is StagedState.PROCESSED
    assert desk.mail.staged(state=StagedState.QUARANTINED) == []


def test_channel_defaults_and_its_owner_in_the_assignment_chain(
        make_helpdesk: MakeHelpdesk) -> None:
    channel = MailChannel(name="returns", addresses=["reklamace@shop.example"], team="returns",
                          owner="milan", language="cs")
    desk = make_helpdesk(mail_policy=POLICY, mail_channels=(channel,))
    outcome = desk.mail.receive(raw_mail(sender="nobody@example.org"), channel="returns")
    ticket = desk.tickets.get(outcome.ticket_number or "")
    assert ticket.team == "returns"
    assert ticket.assignee == "milan"
    [assigned] = [e for e in desk.tickets.history(ticket.number) if e.kind is EventKind.ASSIGNED]
    reason = assigned.data["reason"]
    assert reason["winner"] == "channel_owner"
    assert [s["resolver"] for s in reason["trace"]] == ["incident_type", "account_owner",
                                                        "channel_owner"]
    [message] = desk.outbox.for_ticket(ticket.number)
    assert message.sender == "reklamace@shop.example"


@pytest.mark.parametrize(("headers", "sender", "reason"), [
    ({"Auto-Submitted": "auto-generated"}, "shop-robot@example.org", "auto-submitted"),
    ({"Precedence": "bulk"}, "news@example.org", "precedence: bulk"),
    ({"List-Id": "<news.example.org>"}, "news@example.org", "list-id"),
    ({"List-Unsubscribe": "<mailto:u@example.org>"}, "news@example.org", "list-unsubscribe"),
    ({"X-Auto-Response-Suppress": "All"}, "petr@example.cz", "x-auto-response-suppress"),
    ({"Return-Path": "<>"}, "petr@example.cz", "return-path: null"),
    ({}, "noreply@example.org", "robot-sender"),
    ({}, "MAILER-DAEMON@example.org", "robot-sender"),
    # our own address, loop header and Message-ID domain open nothing at all:
    # tests/services/test_mail_own_and_identity.py
])
def test_no_acknowledgement_where_a_loop_rule_holds(desk: Helpdesk, headers: dict[str, str],
                                                    sender: str, reason: str) -> None:
    outcome = desk.mail.receive(raw_mail(sender=sender, headers=headers))
    assert outcome.outcome == "new_ticket"
    assert outcome.acknowledgement is None
    assert outcome.reason is not None
    assert outcome.reason.startswith(reason)
    assert desk.outbox.for_ticket(outcome.ticket_number or "") == []


def test_acknowledgements_are_rate_limited_per_sender(desk: Helpdesk,
                                                      clock: FakeClock) -> None:
    outcomes = [desk.mail.receive(raw_mail(subject=f"Dotaz {i}")) for i in range(3)]
    assert [o.acknowledgement is not None for o in outcomes] == [True, False, False]
    assert outcomes[1].reason == "rate-limit"  # ack_limit is 1 by default
    other = desk.mail.receive(raw_mail(sender="petr@example.cz"))
    assert other.acknowledgement is not None  # the limit is per sender
    clock.advance(timedelta(hours=1, seconds=1))
    assert desk.mail.receive(raw_mail(subject="Dotaz 6")).acknowledgement is not None


# -- threading ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["Re: ", "AW: WG: ", "Fwd: ", "SV: ", "Odp: ", "Re[3]: ",
                                    "RE: [EXT] [ABC-17] "])
def test_a_reply_joins_by_the_ticket_number_in_the_subject(desk: Helpdesk,
                                                           prefix: str) -> None:
    number = new_ticket(desk)
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    outcome = desk.mail.receive(raw_mail(subject=f"{prefix}[{number}] Rychlovarná konvice",
                                         body="Posílám fotku."))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", number)
    assert outcome.acknowledgement is None
    ticket = desk.tickets.get(number)
    assert ticket.status_category is StatusCategory.OPEN  # the customer answered
    assert desk.tickets.articles(number)[-1].body_text.strip() == "Posílám fotku."


def test_a_reply_joins_by_in_reply_to_our_message_id(desk: Helpdesk) -> None:
    number = new_ticket(desk)
    [ack] = desk.outbox.for_ticket(number)
    outcome = desk.mail.receive(raw_mail(subject="Re: konvice", in_reply_to=ack.message_id,
                                         references=ack.message_id))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", number)


def test_a_reply_joins_by_references_to_a_stored_message(desk: Helpdesk) -> None:
    number = new_ticket(desk, message_id="<orig@mail.example.cz>")
    outcome = desk.mail.receive(raw_mail(subject="doplnění",
                                         references="<other@x> <orig@mail.example.cz>"))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", number)


def test_a_number_inside_a_longer_number_is_not_ours(desk: Helpdesk) -> None:
    number = new_ticket(desk)
    outcome = desk.mail.receive(raw_mail(subject=f"Re: {number}7 faktura"))
    assert outcome.outcome == "new_ticket"
    assert outcome.ticket_number != number


def test_our_control_headers_from_outside_are_ignored(desk: Helpdesk) -> None:
    number = new_ticket(desk)
    outcome = desk.mail.receive(raw_mail(subject="Jiný dotaz", headers={
        "X-Helpdesk-Ticket": number, "X-Helpdesk-Priority": "urgent"}))
    assert outcome.outcome == "new_ticket"
    assert outcome.ticket_number != number
    assert desk.tickets.get(outcome.ticket_number or "").priority.value == "normal"


def test_a_reply_to_a_merged_ticket_lands_on_its_target(desk: Helpdesk) -> None:
    source = new_ticket(desk)
    target = new_ticket(desk, subject="Druhý dotaz")
    storage = desk.storage
    stored = storage._state.tickets[desk.tickets.get(source).id]  # type: ignore[attr-defined]
    stored.merged_into = desk.tickets.get(target).id
    stored.status, stored.status_category = "merged", StatusCategory.MERGED
    outcome = desk.mail.receive(raw_mail(subject=f"Re: [{source}] konvice"))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", target)


def test_a_reply_to_a_recently_closed_ticket_reopens_it(desk: Helpdesk,
                                                        clock: FakeClock) -> None:
    number = new_ticket(desk)
    desk.tickets.transition(number, "closed", actor=AGENT)
    clock.advance(timedelta(days=29))
    outcome = desk.mail.receive(raw_mail(subject=f"Re: [{number}]"))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", number)
    assert desk.tickets.get(number).status_category is StatusCategory.OPEN


def test_a_reply_to_a_long_closed_ticket_opens_a_linked_one(desk: Helpdesk,
                                                            clock: FakeClock) -> None:
    number = new_ticket(desk)
    desk.tickets.transition(number, "closed", actor=AGENT)
    clock.advance(timedelta(days=31))
    outcome = desk.mail.receive(raw_mail(subject=f"Re: [{number}] konvice zase"))
    assert outcome.outcome == "new_ticket"
    fresh = desk.tickets.get(outcome.ticket_number or "")
    assert EntityRef(EntityKind.TICKET, "helpdesk", number) in fresh.links
    assert desk.tickets.get(number).status_category is StatusCategory.CLOSED


# -- participants ------------------------------------------------------------------------


def test_a_stranger_naming_a_ticket_is_held_unpublished(desk: Helpdesk) -> None:
    number = new_ticket(desk)
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    outcome = desk.mail.receive(raw_mail(sender="mallory@evil.example",
                                         subject=f"Re: [{number}]", body="Refund to me",
                                         cc="mallory2@evil.example"))
    # the stranger gets a ticket of their own, as for a number that does not exist ...
    assert outcome.outcome == "new_ticket"
    assert outcome.ticket_number != number
    assert outcome.held_on == number
    # ... and the named ticket keeps the mail as an unpublished note
    held = desk.tickets.articles(number)[-1]
    assert held.direction is Direction.INTERNAL
    assert not held.public
    assert held.meta["verified"] == "false"
    assert held.meta["opened"] == outcome.ticket_number
    ticket = desk.tickets.get(number)
    assert ticket.status_category is StatusCategory.WAITING_ON_CUSTOMER  # not reopened
    history = desk.tickets.history(number)
    assert not [e for e in history if e.kind in (EventKind.PARTICIPANT_ADDED,
                                                 EventKind.CC_RECORDED)]
    # ... and the stranger cannot become a participant through that Cc either
    again = desk.mail.receive(raw_mail(sender="mallory2@evil.example",
                                       subject=f"Re: [{number}]"))
    assert (again.outcome, again.held_on) == ("new_ticket", number)
    assert all(not a.public for a in desk.tickets.articles(number)[2:])


def test_a_stranger_opens_a_ticket_of_their_own_without_a_note_by_policy(
        make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=MailPolicy(unverified_reply="new_ticket"))
    number = new_ticket(desk)
    outcome = desk.mail.receive(raw_mail(sender="mallory@evil.example",
                                         subject=f"Re: [{number}]"))
    assert outcome.outcome == "new_ticket"
    assert outcome.ticket_number != number
    assert outcome.held_on is None
    assert len(desk.tickets.articles(number)) == 2  # the first mail and its acknowledgement


def test_addresses_in_cc_are_recorded_but_take_no_part(desk: Helpdesk) -> None:
    number = new_ticket(desk, cc="Manžel <pavel@example.cz>, support@shop.example")
    history = desk.tickets.history(number)
    assert not [e for e in history if e.kind is EventKind.PARTICIPANT_ADDED]
    recorded = [e.new for e in history if e.kind is EventKind.CC_RECORDED]
    assert recorded == ["pavel@example.cz"]  # our own address is never recorded
    outcome = desk.mail.receive(raw_mail(sender="pavel@example.cz", subject=f"Re: [{number}]"))
    assert (outcome.outcome, outcome.held_on) == ("new_ticket", number)
    assert not desk.tickets.articles(number)[-1].public


def test_addresses_in_cc_take_part_by_policy(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=attrs.evolve(POLICY, cc_participants=True))
    number = new_ticket(desk, cc="Manžel <pavel@example.cz>, support@shop.example")
    added = [e.new for e in desk.tickets.history(number) if e.kind is EventKind.PARTICIPANT_ADDED]
    assert added == ["pavel@example.cz"]  # our own address is never a participant
    outcome = desk.mail.receive(raw_mail(sender="pavel@example.cz", subject=f"Re: [{number}]"))
    assert outcome.outcome == "reply"
    assert desk.tickets.articles(number)[-1].public


# -- repeats -----------------------------------------------------------------------------


def test_the_same_mail_delivered_twice_is_one_article(desk: Helpdesk) -> None:
    first = raw_mail(message_id="<dup@mail.example.cz>", trace="support@shop.example")
    second = raw_mail(message_id="<dup@mail.example.cz>", trace="info@shop.example")
    assert first != second
    one = desk.mail.receive(first)
    two = desk.mail.receive(second)
    assert two.outcome == "duplicate"
    assert (two.ticket_number, two.article_id) == (one.ticket_number, one.article_id)
    assert len(desk.tickets.queue().items) == 1
    assert len(desk.tickets.articles(one.ticket_number or "")) == 2  # mail + acknowledgement


def test_two_different_mails_sharing_a_message_id_are_both_kept(desk: Helpdesk) -> None:
    one = desk.mail.receive(raw_mail(message_id="<same@x>", subject="První"))
    two = desk.mail.receive(raw_mail(message_id="<same@x>", subject="Druhý", body="jiný"))
    assert (one.outcome, two.outcome) == ("new_ticket", "new_ticket")
    assert one.ticket_number != two.ticket_number


def test_mails_without_message_id_are_recognised_by_content(desk: Helpdesk) -> None:
    data = raw_mail().replace(b"Message-ID:", b"X-Old-Message-ID:")
    assert desk.mail.receive(data).outcome == "new_ticket"
    assert desk.mail.receive(b"Received: by mx2\r\n" + data).outcome == "duplicate"


# -- automatic mail ----------------------------------------------------------------------


def test_an_out_of_office_reply_threads_without_reopening(desk: Helpdesk) -> None:
    number = new_ticket(desk)
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    outcome = desk.mail.receive(raw_mail(subject=f"Automatická odpověď: [{number}]",
                                         headers={"Auto-Submitted": "auto-replied"}))
    assert (outcome.outcome, outcome.ticket_number) == ("auto_reply", number)
    assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER
    assert outcome.acknowledgement is None


def test_an_out_of_office_reply_naming_nothing_opens_nothing(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(raw_mail(subject="Abwesenheitsnotiz: Ihre Anfrage",
                                         headers={"X-Auto-Response-Suppress": "OOF"}))
    assert outcome.outcome == "auto_reply_unmatched"
    assert desk.tickets.queue().items == []


def _bounce(original_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.cz\r\nTo: support@shop.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.example.cz>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.cz\r\n\r\nFinal-Recipient: rfc822; jana@example.cz\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@shop.example\r\nMessage-ID: {original_id}\r\nSubject: x\r\n"
        "--b--\r\n"
    ).encode()


def test_a_bounce_threads_as_a_delivery_failure(desk: Helpdesk) -> None:
    number = new_ticket(desk)
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    [ack] = desk.outbox.for_ticket(number)
    outcome = desk.mail.receive(_bounce(ack.message_id or ""))
    assert (outcome.outcome, outcome.ticket_number) == ("bounce", number)
    note = desk.tickets.articles(number)[-1]
    assert note.direction is Direction.INTERNAL
    assert note.meta["kind"] == "delivery_failure"
    assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER
    assert len(desk.tickets.queue().items) == 1


def test_a_bounce_for_a_stranger_message_opens_nothing(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(_bounce("<unknown@elsewhere>"))
    assert outcome.outcome == "bounce_unmatched"
    assert desk.tickets.queue().items == []


# -- orders ------------------------------------------------------------------------------


def test_an_order_number_is_linked_when_it_is_the_senders(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(raw_mail(subject="Objednávka č. 2026-00042 nedorazila"))
    ticket = desk.tickets.get(outcome.ticket_number or "")
    assert EntityRef(EntityKind.ORDER, "eshop", "2026-00042") in ticket.links


def test_someone_elses_order_is_not_linked(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(raw_mail(sender="petr@example.cz",
                                         subject="Bestellung 2026-00042 fehlt"))
    ticket = desk.tickets.get(outcome.ticket_number or "")
    assert not [r for r in ticket.links if r.kind is EntityKind.ORDER]
    [created] = [e for e in desk.tickets.history(ticket.number) if e.kind is EventKind.CREATED]
    assert created.data["orders_not_linked"] == ["2026-00042"]


# -- limits ------------------------------------------------------------------------------


def test_a_mail_over_the_limits_is_quarantined(make_helpdesk: MakeHelpdesk) -> None:
    from helpdesk_core.mail import MailLimits

    desk = make_helpdesk(mail_policy=MailPolicy(limits=MailLimits(max_bytes=200)))
    outcome = desk.mail.receive(raw_mail(body="x" * 1000))
    assert outcome.outcome == "quarantined"
    assert outcome.reason
    assert desk.tickets.queue().items == []


def test_a_stored_acknowledgement_template_for_the_incident_type_is_used(
        make_helpdesk: MakeHelpdesk) -> None:
    from helpdesk_core.domain.incident_types import IncidentType
    from helpdesk_core.domain.templates import MessageTemplate, TemplateKind

    channel = MailChannel(name="returns", addresses=["reklamace@shop.example"],
                          incident_type="complaint")
    desk = make_helpdesk(mail_policy=POLICY, mail_channels=(channel,))
    desk.configuration.define_incident_type(IncidentType("complaint", "Reklamace"))
    desk.templates.save(MessageTemplate(
        key="acknowledgement", kind=TemplateKind.ACKNOWLEDGEMENT, language="cs",
        name="Potvrzení reklamace", incident_type="complaint",
        subject="Reklamace {{ ticket.number }} přijata",
        body_text="Vaši reklamaci {{ ticket.number }} vyřídíme do 30 dnů."))
    outcome = desk.mail.receive(raw_mail(), channel="returns")
    [message] = desk.outbox.for_ticket(outcome.ticket_number or "")
    assert message.subject == f"Reklamace {outcome.ticket_number} přijata"
    assert "do 30 dnů" in message.body_text
    other = desk.mail.receive(raw_mail(sender="petr@example.cz"))  # no incident type
    [plain] = desk.outbox.for_ticket(other.ticket_number or "")
    assert "30 dnů" not in plain.body_text
