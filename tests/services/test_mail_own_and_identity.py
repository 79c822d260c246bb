"""A stranger speaking as a customer: mail whose author is in doubt, and our own mail, is held.

Through the public API (``helpdesk.mail.receive`` and ``fetch``): a From that could name
someone else than its address, and mail from our own addresses or marked as ours, opens no
ticket, adds nothing to one and answers nobody. It waits in quarantine with its reason
(received mail gets a staged row under its channel's name), is logged, and
``reprocess`` runs it again — to be held again.
"""

from __future__ import annotations

import base64
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.mail.test_mail_identity import FORMS, NAME_TEXT, SPELLINGS
from tests.services.conftest import MakeHelpdesk

from helpdesk_core import Helpdesk
from helpdesk_core.domain import StatusCategory
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.domain.values import Actor
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.testing import MemoryInbox

AGENT = Actor.agent("eva", "Eva")
POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")
CHANNELS = (MailChannel(name="reklamace", addresses=frozenset({"reklamace@shop.example"})),)
JANA = "jana@example.cz"  # the customer; the host directory knows her
MALLORY = "mallory@evil.example"


def mail(from_: str | None, subject: str = "Konvice", *, message_id: str = "<m1@x.example>",
         extra: str = "", body: str = "Prosím vraťte peníze.") -> bytes:
    head = f"From: {from_}\r\n" if from_ is not None else ""
    return (f"{head}To: support@shop.example\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\n{extra}Date: Mon, 2 Mar 2026 08:30:00 +0000\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def q_word(text: str) -> str:
    return "=?utf-8?q?" + "".join(c if c.isalnum() else f"={ord(c):02X}" for c in text) + "?="


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(mail_policy=POLICY, mail_channels=CHANNELS)


def janas_ticket(desk: Helpdesk) -> str:
    """Jana's ticket, waiting on her, with her mail and our acknowledgement."""
    first = desk.mail.receive(mail(f"Jana Nováková <{JANA}>", message_id="<jana-1@x.example>"))
    assert first.outcome == "new_ticket"
    number = first.ticket_number or ""
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    return number


def untouched(desk: Helpdesk, number: str) -> None:
    """Jana's ticket as janas_ticket left it."""
    assert len(desk.tickets.articles(number)) == 2
    assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER
    assert len(desk.outbox.for_ticket(number)) == 1


def held(desk: Helpdesk, account: str = "default") -> dict[str, str]:
    rows = desk.mail.staged(account=account, state=StagedState.QUARANTINED)
    return {row.key: row.reason or "" for row in rows}


# -- a From that could be someone else's -----------------------------------------------------

AMBIGUOUS = [
    f"{JANA})<{MALLORY}>",
    f"{JANA} <{MALLORY}>",
    f"{JANA}<{MALLORY}>",
    q_word(f"Jana <{JANA}>"),
    f"{q_word(f'Jana <{JANA}>')} <{MALLORY}>",
    f"Jana ({JANA}) <{MALLORY}>",
    f"<{MALLORY}> ({JANA})",
    f"jana\uff20example.cz <{MALLORY}>",
    f"{JANA}, {MALLORY}",
    f"{MALLORY}, {JANA}",
    f"Jana <{JANA}>, Jana <{JANA}>",
    f"{JANA} <{JANA}>>",
    f"{JANA} <mallory@[192.0.2.1]>",
    f"Kunden: {JANA};",
    "=?utf-8?b?" + base64.b64encode(f"Jana <{JANA}>".encode()).decode() + "?=",
]


@pytest.mark.parametrize("from_", AMBIGUOUS)
@pytest.mark.parametrize("thread", ["subject", "in-reply-to", "references", "new"])
def test_a_reply_whose_from_is_in_doubt_never_reaches_the_customers_ticket(
        desk: Helpdesk, from_: str, thread: str) -> None:
    number = janas_ticket(desk)
    [ack] = desk.outbox.for_ticket(number)
    subject, extra = {
        "subject": (f"Re: [{number}] Konvice", ""),
        "in-reply-to": ("Re: Konvice", f"In-Reply-To: {ack.message_id}\r\n"),
        "references": ("Re: Konvice", f"References: <jana-1@x.example> {ack.message_id}\r\n"),
        "new": ("Vrácení peněz", ""),
    }[thread]
    tickets_before = len(desk.tickets.queue().items)
    outcome = desk.mail.receive(mail(from_, subject, extra=extra, message_id="<m2@x.example>"))
    assert outcome.outcome == "quarantined"
    assert outcome.ticket_number is None
    assert outcome.acknowledgement is None
    assert (outcome.reason or "").startswith("sender in doubt: ")
    untouched(desk, number)
    assert len(desk.tickets.queue().items) == tickets_before  # nobody's ticket either
    assert list(held(desk).values()) == [outcome.reason]


@pytest.mark.parametrize("from_", [f'"{JANA}" <{MALLORY}>', f'"Jana Nováková {JANA}" <{MALLORY}>',
                                   f"'{JANA}' <{MALLORY}>"])
def test_a_quoted_name_that_spells_the_customers_address_is_only_a_name(
        desk: Helpdesk, from_: str) -> None:
    """The author is the address in brackets: a stranger to Jana's ticket, who gets a ticket
    of their own; Jana's gets an internal note, nothing public, and stays waiting on her."""
    number = janas_ticket(desk)
    outcome = desk.mail.receive(mail(from_, f"Re: [{number}] Konvice",
                                     message_id="<m2@x.example>"))
    assert (outcome.outcome, outcome.held_on) == ("new_ticket", number)
    theirs = desk.tickets.get(outcome.ticket_number or "")
    assert theirs.customer_id != desk.tickets.get(number).customer_id
    articles = desk.tickets.articles(number)
    assert [a.public for a in articles] == [True, True, False]
    assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER


@pytest.mark.parametrize(("froms", "extra", "problem"), [
    ((), f"Sender: {JANA}\r\n", "no From header"),
    ((), f"Reply-To: Jana <{JANA}>\r\n", "no From header"),
    ((), f"Return-Path: <{JANA}>\r\n", "no From header"),
    ((f"Jana <{JANA}>", f"Mallory <{MALLORY}>"), "", "2 From headers"),
    ((f"Jana <{JANA}>", f"Jana <{JANA}>"), "", "2 From headers"),
    ((f"{JANA}, {MALLORY}",), f"Sender: {JANA}\r\n", "2 mailboxes in From"),
    ((q_word(f"Jana <{JANA}>"),), f"Reply-To: {JANA}\r\nSender: {JANA}\r\n",
     "no valid address in From"),
    (("undisclosed-recipients:;",), f"Reply-To: {JANA}\r\n", "a group in From"),
])
def test_sender_and_reply_to_never_stand_in_for_a_from(
        desk: Helpdesk, froms: tuple[str, ...], extra: str, problem: str) -> None:
    number = janas_ticket(desk)
    head = "".join(f"From: {value}\r\n" for value in froms)
    outcome = desk.mail.receive(head.encode() + mail(None, f"Re: [{number}]", extra=extra,
                                                     message_id="<m2@x.example>"))
    assert outcome.outcome == "quarantined"
    assert (outcome.reason or "").startswith(f"sender in doubt: {problem}")
    untouched(desk, number)


@pytest.mark.parametrize("extra", [f"Sender: {MALLORY}\r\n", f"Reply-To: {MALLORY}\r\n"])
def test_a_clear_from_is_the_customer_whoever_passed_the_mail_on(desk: Helpdesk,
                                                                 extra: str) -> None:
    number = janas_ticket(desk)
    outcome = desk.mail.receive(mail(f"Jana <{JANA}>", f"Re: [{number}]", extra=extra,
                                     message_id="<m2@x.example>"))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", number)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(form=FORMS, alice=SPELLINGS, before=NAME_TEXT, after=NAME_TEXT,
       thread=st.sampled_from(["subject", "new"]))
def test_no_spelling_of_the_customers_address_beside_another_is_attributed(
        make_helpdesk: MakeHelpdesk, form: str, alice: str, before: str, after: str,
        thread: str) -> None:
    desk = make_helpdesk(mail_policy=POLICY)
    first = desk.mail.receive(mail("alice@example.org", message_id="<a1@x.example>"))
    number = first.ticket_number or ""
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    from_ = form.format(a=alice, m=MALLORY, b=before, c=after)
    from_ = from_.replace("\r", " ").replace("\n", " ")
    subject = f"Re: [{number}]" if thread == "subject" else "Nový dotaz"
    outcome = desk.mail.receive(mail(from_, subject, message_id="<a2@x.example>"))
    if outcome.outcome != "quarantined":  # a quoted name: the author is the address in brackets
        assert from_.lstrip()[:1] in "\"'", outcome
        assert outcome.outcome == "new_ticket"
        assert outcome.ticket_number != number
        assert [a.public for a in desk.tickets.articles(number)][:2] == [True, True]
        assert len([a for a in desk.tickets.articles(number) if a.public]) == 2
        assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER
        return
    assert len(desk.tickets.articles(number)) == 2
    assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER
    assert len(desk.tickets.queue().items) == 1


def test_held_mail_is_logged_listed_and_held_again_when_reprocessed(
        desk: Helpdesk, caplog: pytest.LogCaptureFixture) -> None:
    number = janas_ticket(desk)
    raw = mail(f"{JANA} <{MALLORY}>", f"Re: [{number}]", message_id="<m2@x.example>")
    with caplog.at_level(logging.WARNING, logger="helpdesk_core.mail"):
        outcome = desk.mail.receive(raw)
    assert any("held" in r.getMessage() and "sender in doubt" in r.getMessage()
               for r in caplog.records)
    [(key, reason)] = held(desk).items()
    assert key.startswith("received:")
    assert reason == outcome.reason
    [row] = desk.mail.staged(state=StagedState.QUARANTINED)
    assert desk.blob_store.get(row.blob_key or "") == raw  # the exact bytes, to look at
    # the same mail again: still one row
    assert desk.mail.receive(raw).outcome == "quarantined"
    assert len(held(desk)) == 1
    [(again, result)] = desk.mail.reprocess(account="default")
    assert result is None
    assert again.state is StagedState.QUARANTINED
    assert again.reason == outcome.reason
    untouched(desk, number)


def test_a_fetched_mail_whose_from_is_in_doubt_is_quarantined_and_taken_off_the_server(
        desk: Helpdesk) -> None:
    number = janas_ticket(desk)
    inbox = MemoryInbox(account="default")
    inbox.deliver(mail(f"{JANA} <{MALLORY}>", f"Re: [{number}]", message_id="<f1@x.example>"))
    inbox.deliver(mail(f"Jana <{JANA}>", f"Re: [{number}]", message_id="<f2@x.example>"))
    report = desk.mail.fetch(inbox)
    assert report.outcomes == {"quarantined": 1, "reply": 1}
    assert report.quarantined == 1
    assert inbox.messages == {}
    [row] = desk.mail.staged(state=StagedState.QUARANTINED)
    assert (row.reason or "").startswith("sender in doubt: more than one address in From")
    assert [a.public for a in desk.tickets.articles(number)] == [True, True, True]


# -- our own mail ----------------------------------------------------------------------------

@pytest.mark.parametrize("from_", [
    "support@shop.example", "Podpora <Support@Shop.Example>", "reklamace@shop.example",
    '"Reklamace" <Reklamace@shop.example>',
])
def test_mail_from_our_own_address_opens_no_ticket(desk: Helpdesk, from_: str) -> None:
    outcome = desk.mail.receive(mail(from_, "Test"))
    assert outcome.outcome == "quarantined"
    assert (outcome.reason or "").startswith("our own mail: sent from our address")
    assert desk.tickets.queue().items == []
    assert desk.directory.customer_by_email(from_.split("<")[-1].strip(">").lower()) is None


def test_the_agents_reply_coming_back_is_not_the_customers(desk: Helpdesk) -> None:
    number = janas_ticket(desk)
    desk.tickets.transition(number, "open", actor=AGENT)
    _article, sent = desk.tickets.reply(number, "Pošlete prosím fotku.", agent=AGENT)
    desk.tickets.transition(number, "waiting_on_customer", actor=AGENT)
    # the reply, as it lands in our own mailbox (copied to us, or forwarded back)
    back = (f"From: Eva <{sent.sender}>\r\nTo: {JANA}\r\nSubject: {sent.subject}\r\n"
            f"Message-ID: {sent.message_id}\r\nIn-Reply-To: {sent.headers['In-Reply-To']}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nPošlete prosím fotku.\r\n")
    outcome = desk.mail.receive(back.encode())
    assert outcome.outcome == "quarantined"
    assert (outcome.reason or "").startswith("our own mail:")
    articles = desk.tickets.articles(number)
    assert [a.direction.value for a in articles] == ["inbound", "outbound", "outbound"]
    assert desk.tickets.get(number).status_category is StatusCategory.WAITING_ON_CUSTOMER


@pytest.mark.parametrize(("from_", "extra", "message_id", "reason"), [
    # our acknowledgement, its threading headers stripped by a forwarder
    ("support@shop.example", "X-Helpdesk-Loop: helpdesk-core\r\nAuto-Submitted: auto-replied\r\n",
     "<ack1@helpdesk.shop.example>", "sent from our address"),
    # ... re-sent by the customer's auto-forward under her own address
    (JANA, "X-Helpdesk-Loop: helpdesk-core\r\n", "<ack2@helpdesk.shop.example>",
     "carries our X-Helpdesk-Loop"),
    (JANA, "X-Helpdesk-Loop: helpdesk-core\r\n", "<fwd@mail.example.cz>",
     "carries our X-Helpdesk-Loop"),
    (JANA, "", "<ack3@helpdesk.shop.example>", "a Message-ID in our domain"),
    (f"Jana <{JANA}>", "Resent-From: jana@example.cz\r\n", "<ack4@helpdesk.shop.example>",
     "a Message-ID in our domain"),
])
@pytest.mark.parametrize("names_ticket", [True, False])
def test_our_marked_mail_is_held_whoever_it_claims_to_be_from(
        desk: Helpdesk, from_: str, extra: str, message_id: str, reason: str,
        names_ticket: bool) -> None:
    number = janas_ticket(desk)
    subject = f"[{number}] Konvice" if names_ticket else "Vaše zpráva byla přijata"
    outcome = desk.mail.receive(mail(from_, subject, message_id=message_id, extra=extra))
    assert outcome.outcome == "quarantined"
    assert outcome.reason is not None
    assert outcome.reason.startswith(f"our own mail: {reason}")
    untouched(desk, number)
    assert len(desk.tickets.queue().items) == 1
    assert len(held(desk)) == 1


def test_own_mail_through_a_channel_is_held_under_that_channels_name(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(mail("reklamace@shop.example", "Test"), channel="reklamace")
    assert outcome.outcome == "quarantined"
    assert list(held(desk, "reklamace").values()) == [outcome.reason]
    assert held(desk, "default") == {}
    [(_row, result)] = desk.mail.reprocess(account="reklamace")
    assert result is None  # ours, held again


def test_a_customer_who_merely_answers_us_is_not_ours(desk: Helpdesk) -> None:
    number = janas_ticket(desk)
    [ack] = desk.outbox.for_ticket(number)
    outcome = desk.mail.receive(mail(f"Jana <{JANA}>", "Re: Konvice", message_id="<j2@x.example>",
                                     extra=f"In-Reply-To: {ack.message_id}\r\n"
                                           f"References: {ack.message_id}\r\n"))
    assert (outcome.outcome, outcome.ticket_number) == ("reply", number)

