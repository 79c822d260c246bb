"""Property: no raw mail makes ``helpdesk.mail.receive`` raise. Every mail ends as a ticket or
an article, a held note, a repeat, a dropped automatic mail or a documented quarantine — and
its raw bytes are kept. The mailbox loop handles every one at the first attempt."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.services.conftest import MakeHelpdesk
from tests.services.mail_support import raw_mail

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Article
from helpdesk_core.domain.article import INLINE_TYPES
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.testing import MemoryInbox
from helpdesk_core.testing.strategies import raw_mails

POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")
STORED = {"new_ticket", "reply", "auto_reply", "held_unverified", "bounce"}
DROPPED = {"bounce_unmatched", "auto_reply_unmatched"}
# The documented quarantine reasons (docs/explanation/threading.md, "What is stored").
QUARANTINE_REASONS = ("larger than ", "the mail could not be parsed", "MIME nesting deeper than",
                      "no sender address", "unknown sender (policy: quarantine)",
                      "sender in doubt: ", "our own mail: ", "new-ticket limit: ",
                      "automatic sender: ")
HUGE = raw_mail(body="x" * 3_000_000, subject="s" * 50_000)
SLOW_FROM = b"From: =?utf-8?b?" + b"9I+CkfG5o5jDqMKZwq1Z" * 20_000 + b"?=\r\n\r\nx\r\n"
LONG_ID = ("From: jana@example.cz\r\nMessage-ID: <" + "\U0001f600" * 900
           + "@x>\r\n\r\nx\r\n").encode()
EMPTY_PARTS = (b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
               + b"--B\r\n\r\n" * 50 + b"--B--\r\n")


def check_receive(desk: Helpdesk, raw: bytes) -> None:
    """Receive ``raw`` and check that it is stored or documented as not stored."""
    outcome = desk.mail.receive(raw)
    assert outcome.outcome in STORED | DROPPED | {"duplicate", "quarantined"}, outcome
    if outcome.outcome == "duplicate":
        assert outcome.article_id is not None
        return
    assert outcome.raw_blob is not None
    assert desk.blob_store.get(outcome.raw_blob) == raw
    if outcome.outcome == "quarantined":
        assert (outcome.reason or "").startswith(QUARANTINE_REASONS), outcome.reason
    if outcome.outcome in STORED:
        assert outcome.ticket_number is not None
        ticket = desk.tickets.get(outcome.ticket_number)
        assert 0 < len(ticket.subject) <= 500
        [article] = [a for a in desk.tickets.articles(ticket.number)
                     if a.id == outcome.article_id]
        check_article(desk, article, outcome.raw_blob)


def check_article(desk: Helpdesk, article: Article, raw_blob: str) -> None:
    assert article.meta["raw_blob"] == raw_blob
    assert 0 < len(article.body_text) <= 100_000
    assert len(article.subject) <= 500
    if "text_blob" in article.meta:
        whole = desk.blob_store.get(article.meta["text_blob"]).decode("utf-8")
        assert len(whole) > 100_000
        assert article.meta["cut"].startswith("text: ")
    for attachment in article.attachments:
        assert desk.blob_store.get(attachment.blob_key) is not None
        if attachment.inline or attachment.disposition == "inline":
            assert attachment.content_type in INLINE_TYPES  # active content is never inline


SETTINGS = settings(max_examples=200, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


def test_receive_never_raises_and_keeps_every_mail(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=POLICY)
    desk.mail.receive(raw_mail(sender="jana@example.cz", subject="První"))  # HD-...-000001

    @SETTINGS
    @example(raw=b"")
    @example(raw=b"\r\n\r\n")
    @example(raw=HUGE)
    @example(raw=EMPTY_PARTS)
    @example(raw=SLOW_FROM)
    @example(raw=LONG_ID)
    @given(raw=raw_mails())
    def receive(raw: bytes) -> None:
        check_receive(desk, raw)

    receive()


def test_receive_never_raises_for_built_in_contacts(make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=POLICY, builtin_directory=True)

    @settings(SETTINGS, max_examples=100)
    @given(raw=raw_mails())
    def receive(raw: bytes) -> None:
        check_receive(desk, raw)

    receive()


def test_the_mailbox_loop_handles_every_mail_at_the_first_attempt(
        make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=POLICY)

    @settings(SETTINGS, max_examples=40)
    @given(raws=st.lists(raw_mails(), min_size=1, max_size=4))
    def fetch(raws: list[bytes]) -> None:
        inbox = MemoryInbox()
        for raw in raws:
            inbox.deliver(raw)
        report = desk.mail.fetch(inbox)
        assert report.failed == 0, desk.mail.staged()
        assert report.error is None
        assert inbox.messages == {}  # every one handled, then removed from the server

    fetch()
