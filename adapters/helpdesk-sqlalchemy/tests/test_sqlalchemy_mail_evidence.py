"""Mail is evidence, on SQLite and PostgreSQL: a mail without text, a pasted log of millions of
characters and a subject of thousands become tickets and articles; the whole text, the whole
subject and the raw bytes are kept."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.testing.strategies import raw_mails

POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")


@pytest.fixture
def desk(url: str) -> Iterator[Helpdesk]:
    with bootstrap(Settings(database_url=url, mail_policy=POLICY), environ={}) as helpdesk:
        yield helpdesk


def plain(body: str, *, subject: str = "Konvice", message_id: str,
          sender: str = "jana@example.cz") -> bytes:
    return (f"From: {sender}\r\nTo: support@shop.example\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + body.encode()


def scan(message_id: str) -> bytes:
    pdf = base64.encodebytes(b"%PDF-1.4\n" + b"0" * 5000).decode()
    return ("From: skener@firma.example\r\nTo: support@shop.example\r\nSubject: Scan\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
            "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
            'filename="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            f"{pdf}\r\n--B--\r\n").encode()


def test_mail_a_real_customer_sends_is_stored_whole(desk: Helpdesk) -> None:
    log = "E 2026-03-02 kettle: žhavicí spirála přerušena\n" * 60_000  # 2.9 million chars
    subject = "Reklamace: " + "konvice " * 300
    cases = [scan("<s1@x>"), plain("", message_id="<e1@x>"),
             plain(log, message_id="<l1@x>"), plain("Dobrý den", subject=subject,
                                                   message_id="<t1@x>")]
    outcomes = [desk.mail.receive(raw) for raw in cases]
    assert [o.outcome for o in outcomes] == ["new_ticket"] * 4
    for raw, outcome in zip(cases, outcomes, strict=True):
        assert outcome.raw_blob is not None
        assert desk.blob_store.get(outcome.raw_blob) == raw
    pdf, empty, long, titled = (desk.tickets.articles(o.ticket_number or "")[0]
                                for o in outcomes)
    assert pdf.body_text == "(no text; attached: scan.pdf (5 KB))"
    assert empty.body_text == "(no text)"
    assert len(long.body_text) <= 100_000
    assert desk.blob_store.get(long.meta["text_blob"]).decode() == log.strip()
    assert long.meta["cut"] == f"text: {len(long.body_text.split(chr(10) * 2 + '[')[0])} " \
                               f"of {len(log.strip())} characters kept"
    ticket = desk.tickets.get(outcomes[3].ticket_number or "")
    assert len(ticket.subject) <= 500
    assert titled.meta["full_subject"] == " ".join(subject.split())


def test_a_long_reply_is_stored_with_its_whole_text(desk: Helpdesk) -> None:
    number = desk.mail.receive(plain("Dobrý den", message_id="<a@x>")).ticket_number or ""
    text = "x" * 1_500_000
    reply = desk.mail.receive(plain(text, subject=f"Re: [{number}]", message_id="<b@x>"))
    assert reply.outcome == "reply"
    [article] = [a for a in desk.tickets.articles(number) if a.id == reply.article_id]
    assert len(article.body_text) == 100_000
    assert desk.blob_store.get(article.meta["text_blob"]) == text.encode()


@pytest.mark.parametrize("message_id", [
    "<" + "".join(chr(0x1F300 + (i * 7919) % 2000) for i in range(899)) + "@x.example>",
    "<" + "a" * 898 + "@x.example>",
], ids=["emoji", "ascii"])
def test_a_message_id_longer_than_an_index_takes_is_stored_and_threads(
        desk: Helpdesk, message_id: str) -> None:
    first = desk.mail.receive(plain("Dobrý den", message_id=message_id))
    assert first.outcome == "new_ticket", first
    assert desk.mail.receive(plain("Dobrý den", message_id=message_id)).outcome == "duplicate"
    reply = (f"From: jana@example.cz\r\nSubject: Re: Konvice\r\nMessage-ID: <r@x>\r\n"
             f"In-Reply-To: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "Pořád nehřeje.\r\n").encode()
    outcome = desk.mail.receive(reply)
    assert (outcome.outcome, outcome.ticket_number) == ("reply", first.ticket_number)


# -- no mail makes receive() raise -------------------------------------------------------

STORED = {"new_ticket", "reply", "auto_reply", "held_unverified", "bounce"}
QUARANTINE_REASONS = ("larger than ", "the mail could not be parsed", "MIME nesting deeper than",
                      "no sender address", "unknown sender (policy: quarantine)",
                      "sender in doubt: ", "our own mail: ", "new-ticket limit: ",
                      "automatic sender: ")


def test_no_raw_mail_makes_receive_raise_on_this_adapter(desk: Helpdesk) -> None:
    """Whatever the bytes — broken MIME, odd charsets, NUL bytes, lone surrogates in encoded
    words, huge and empty parts — the database stores what the mail became."""
    desk.mail.receive(plain("Dobrý den", message_id="<first@x>"))  # HD-...-000001

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @example(raw=b"")
    @example(raw=plain("x" * 2_000_000, subject="s" * 30_000, message_id="<big@x>"))
    @example(raw=("From: jana@example.cz\r\nMessage-ID: <" + "\U0001f600" * 900
                  + "@x>\r\n\r\nx\r\n").encode())
    @given(raw=raw_mails())
    def receive(raw: bytes) -> None:
        outcome = desk.mail.receive(raw)
        if outcome.outcome == "duplicate":
            return
        assert outcome.raw_blob is not None
        assert desk.blob_store.get(outcome.raw_blob) == raw
        if outcome.outcome == "quarantined":
            assert (outcome.reason or "").startswith(QUARANTINE_REASONS), outcome.reason
        if outcome.outcome in STORED:
            articles = desk.tickets.articles(outcome.ticket_number or "")
            [article] = [a for a in articles if a.id == outcome.article_id]
            assert 0 < len(article.body_text) <= 100_000

    receive()
