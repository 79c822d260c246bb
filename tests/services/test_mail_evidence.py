"""Mail is evidence: what a real customer sends is stored and becomes a ticket or an article,
however long, empty or odd it is. The article holds what the library's limits allow and says
what it cut; the whole mail and the whole text are kept in the blob store."""

from __future__ import annotations

import base64

import pytest
from tests.services.conftest import MakeHelpdesk
from tests.services.mail_support import raw_mail

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Article, Direction
from helpdesk_core.domain.values import Actor
from helpdesk_core.mail.policy import MailPolicy

AGENT = Actor.agent("eva", "Eva")
POLICY = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                    message_id_domain="helpdesk.shop.example")
PDF = b"%PDF-1.4\n" + b"0" * 1500
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(mail_policy=POLICY)


def mime(parts: list[tuple[str, str, bytes]], *, subject: str = "Sken",
         sender: str = "skener@firma.example", top: str = "multipart/mixed",
         extra: str = "") -> bytes:
    """A MIME mail of (headers, content type, data) parts; data travels base64-encoded."""
    body = []
    for headers, ctype, data in parts:
        encoded = base64.encodebytes(data).decode("ascii")
        body.append(f"--XYZ\r\nContent-Type: {ctype}\r\n{headers}"
                    f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n")
    return (f"From: {sender}\r\nTo: support@shop.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash((subject, tuple(parts), extra)))}@firma.example>\r\n"
            f"MIME-Version: 1.0\r\n{extra}Content-Type: {top}; boundary=XYZ\r\n\r\n"
            + "".join(body) + "--XYZ--\r\n").encode()


def first_article(desk: Helpdesk, number: str | None) -> Article:
    assert number is not None
    return desk.tickets.articles(number)[0]


def assert_raw_kept(desk: Helpdesk, raw: bytes, article: Article | None,
                    raw_blob: str | None) -> None:
    assert raw_blob is not None
    assert desk.blob_store.get(raw_blob) == raw
    if article is not None:
        assert article.meta["raw_blob"] == raw_blob


# -- mail without text -------------------------------------------------------------------

ATTACHMENT = 'Content-Disposition: attachment; filename="{}"\r\n'
NO_TEXT = [
    pytest.param(mime([(ATTACHMENT.format("scan.pdf"), "application/pdf", PDF)]),
                 "(no text; attached: scan.pdf (2 KB))", id="scanner-pdf-only"),
    pytest.param(mime([(ATTACHMENT.format("fax-0001.tif"), "image/tiff", b"II*\x00" * 300),
                       (ATTACHMENT.format("fax-0002.tif"), "image/tiff", b"II*\x00" * 30)]),
                 "(no text; attached: fax-0001.tif (1 KB), fax-0002.tif (120 bytes))",
                 id="fax-gateway-two-pages"),
    pytest.param(mime([("", "text/plain; charset=utf-8", b""),
                       (ATTACHMENT.format("scan.pdf"), "application/pdf", PDF)]),
                 "(no text; attached: scan.pdf (2 KB))", id="empty-text-part-and-pdf"),
    pytest.param(mime([("", "text/html; charset=utf-8",
                        b'<html><body><img src="cid:img1@x"></body></html>'),
                       ("Content-ID: <img1@x>\r\n", "image/png", PNG)],
                      top="multipart/related"),
                 "(no text; attached: attachment.png (48 bytes))", id="image-only-html"),
    pytest.param(raw_mail(body=""), "(no text)", id="empty-plain"),
    pytest.param(raw_mail(body=" \n\t\n  "), "(no text)", id="blank-plain"),
    pytest.param(raw_mail(body="\x00\x01\x02\u200b"[:3]), "(no text)", id="control-chars"),
    pytest.param(mime([("", "text/html", b"<p>&nbsp;</p><br><div> </div>")]), "(no text)",
                 id="html-of-blanks"),
    pytest.param(mime([]), "(no text; attached: attachment.bin (0 bytes))",
                 id="multipart-without-parts"),
    pytest.param(mime([(ATTACHMENT.format(f"photo{i}.jpg"), "image/jpeg", b"\xff\xd8\xff" * 9)
                       for i in range(60)]),
                 None, id="sixty-photos"),
]


@pytest.mark.parametrize(("raw", "text"), NO_TEXT)
def test_a_mail_without_text_opens_a_ticket_saying_what_is_attached(
        desk: Helpdesk, raw: bytes, text: str | None) -> None:
    outcome = desk.mail.receive(raw)
    assert outcome.outcome == "new_ticket", outcome
    article = first_article(desk, outcome.ticket_number)
    assert article.direction is Direction.INBOUND
    if text is not None:
        assert article.body_text == text
    else:  # many files: the first fifty are named, the rest counted
        assert article.body_text.startswith("(no text; attached: photo0.jpg (27 bytes), ")
        assert article.body_text.endswith("photo49.jpg (27 bytes), and 10 more)")
        assert len(article.attachments) == 60
    assert_raw_kept(desk, raw, article, outcome.raw_blob)


def test_a_reply_and_a_held_mail_without_text_are_stored_too(desk: Helpdesk) -> None:
    number = desk.mail.receive(raw_mail()).ticket_number or ""
    reply = desk.mail.receive(mime([(ATTACHMENT.format("foto.jpg"), "image/jpeg", b"\xff\xd8")],
                                   subject=f"Re: [{number}]",
                                   sender="Jana Nováková <jana@example.cz>"))
    held = desk.mail.receive(raw_mail(sender="mallory@evil.example", subject=f"Re: [{number}]",
                                      body=""))
    # A stranger naming the ticket opens one of their own; the named one keeps a note.
    assert (reply.outcome, held.outcome, held.held_on) == ("reply", "new_ticket", number)
    articles = {a.id: a for a in desk.tickets.articles(number)}
    assert articles[reply.article_id or ""].body_text == \
        "(no text; attached: foto.jpg (2 bytes))"
    [note] = [a for a in articles.values() if a.meta.get("verified") == "false"]
    assert note.body_text == "(no text)"
    assert first_article(desk, held.ticket_number).body_text == "(no text)"


# -- long text ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", [100_000, 100_001, 250_000, 1_000_001, 3_000_000])
def test_a_long_new_request_keeps_an_excerpt_and_the_whole_text(
        desk: Helpdesk, length: int) -> None:
    line = "2026-03-02 08:30:00 ERROR kettle.heater: element open circuit (code 0x4f)\n"
    body = (line * (length // len(line) + 1))[:length].rstrip()
    raw = raw_mail(body=body, subject="Log z konvice")
    outcome = desk.mail.receive(raw)
    assert outcome.outcome == "new_ticket", outcome
    article = first_article(desk, outcome.ticket_number)
    assert len(article.body_text) <= 100_000
    if len(body) <= 100_000:
        assert article.body_text == body
        assert "text_blob" not in article.meta
        assert "cut" not in article.meta
        return
    assert body.startswith(article.body_text.rsplit("\n\n[… ", 1)[0])
    assert article.body_text.endswith(" more characters]")
    assert desk.blob_store.get(article.meta["text_blob"]).decode("utf-8") == body
    assert article.meta["cut"].startswith("text: ")
    assert article.meta["cut"].endswith(f" of {len(body)} characters kept")
    assert_raw_kept(desk, raw, article, outcome.raw_blob)


@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-2", "windows-1250"])
def test_a_long_reply_in_any_charset_is_stored_with_its_whole_text(
        desk: Helpdesk, charset: str) -> None:
    number = desk.mail.receive(raw_mail()).ticket_number or ""
    body = "Příliš žluťoučký kůň úpěl ďábelské ódy.\n" * 30_000  # 1.2 million characters
    raw = (f"From: jana@example.cz\r\nTo: support@shop.example\r\nSubject: Re: [{number}]\r\n"
           f"Message-ID: <long-{charset}@example.cz>\r\n"
           f"Content-Type: text/plain; charset={charset}\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + body.encode(charset)
    outcome = desk.mail.receive(raw)
    assert outcome.outcome == "reply", outcome
    article = next(a for a in desk.tickets.articles(number) if a.id == outcome.article_id)
    assert len(article.body_text) <= 100_000
    assert desk.blob_store.get(article.meta["text_blob"]).decode("utf-8") == body.strip()


# -- subjects and names ------------------------------------------------------------------

SUBJECTS = [
    pytest.param("Reklamace " * 51, id="510-ascii"),
    pytest.param("ž" * 501, id="501-czech"),
    pytest.param("字" * 1200, id="1200-cjk"),
    pytest.param("😀" * 700, id="700-emoji"),
    pytest.param("word " * 4000, id="20000-words"),
    pytest.param("x" * 20_000, id="20000-no-blank"),
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_long_subject_is_cut_for_the_ticket_and_kept_whole(
        desk: Helpdesk, subject: str) -> None:
    raw = raw_mail(subject=subject)
    outcome = desk.mail.receive(raw)
    assert outcome.outcome == "new_ticket", outcome
    ticket = desk.tickets.get(outcome.ticket_number or "")
    whole = " ".join(subject.split())
    assert len(ticket.subject) <= 500
    assert ticket.subject.endswith("…")
    assert whole.startswith(ticket.subject[:-1].rstrip())
    article = first_article(desk, ticket.number)
    assert article.subject == ticket.subject
    assert article.meta["full_subject"] == whole
    assert f"of {len(whole)} characters kept" in article.meta["cut"]
    assert article.meta["cut"].startswith("subject: ")


def test_a_long_subject_on_a_reply_and_a_bounce_is_cut_too(desk: Helpdesk) -> None:
    number = desk.mail.receive(raw_mail()).ticket_number or ""
    outcome = desk.mail.receive(raw_mail(subject=f"Re: [{number}] " + "Re: " * 400))
    assert outcome.outcome == "reply"
    article = desk.tickets.articles(number)[-1]
    assert len(article.subject) <= 500
    assert article.meta["full_subject"].endswith("Re: Re:")


def test_a_long_sender_name_becomes_a_contact_with_its_name_cut(
        make_helpdesk: MakeHelpdesk) -> None:
    desk = make_helpdesk(mail_policy=POLICY, builtin_directory=True)
    name = "Ing. Jana Nováková, " + "oddělení reklamací a vrácení zboží, " * 7
    outcome = desk.mail.receive(raw_mail(sender=f'"{name}" <jana@example.cz>'))
    assert outcome.outcome == "new_ticket", outcome
    ticket = desk.tickets.get(outcome.ticket_number or "")
    article = first_article(desk, ticket.number)
    assert len(article.author.name) <= 200
    assert "sender name: " in article.meta["cut"]
    assert article.meta["from_name"] == " ".join(name.split())  # the whole name


# -- what is kept for a mail that becomes no article -------------------------------------


def test_every_outcome_names_the_kept_raw_bytes(make_helpdesk: MakeHelpdesk) -> None:
    from helpdesk_core.mail import MailLimits

    desk = make_helpdesk(mail_policy=MailPolicy(limits=MailLimits(max_bytes=2000),
                                                unknown_sender="quarantine"),
                         builtin_directory=True)
    big = raw_mail(body="x" * 5000)
    nobody = b"Subject: nobody wrote this\r\n\r\nhello\r\n"
    ooo = raw_mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    for raw, outcome in [(big, "quarantined"), (nobody, "quarantined"),
                         (raw_mail(), "quarantined"), (ooo, "auto_reply_unmatched")]:
        result = desk.mail.receive(raw)
        assert result.outcome == outcome, result
        assert_raw_kept(desk, raw, None, result.raw_blob)


# -- past the parser's limits ------------------------------------------------------------


def many_parts(count: int) -> bytes:
    parts = [("", "text/plain; charset=utf-8", "Posílám fotky z reklamace.".encode())]
    parts += [(ATTACHMENT.format(f"IMG_{i:04d}.jpg"), "image/jpeg",
               b"\xff\xd8\xff" + bytes([i % 256])) for i in range(count)]
    return mime(parts, subject="Fotky")


def nested(depth: int) -> bytes:
    body = "".join(f"--B{i}\r\nContent-Type: multipart/mixed; boundary=B{i + 1}\r\n\r\n"
                   for i in range(depth))
    body += f"--B{depth}\r\nContent-Type: text/plain\r\n\r\nhluboko\r\n"
    body += "".join(f"--B{i}--\r\n" for i in range(depth, -1, -1))
    return ("From: jana@example.cz\r\nSubject: Vnořené\r\nMessage-ID: <deep@x>\r\n"
            "Content-Type: multipart/mixed; boundary=B0\r\n\r\n" + body).encode()


def received_chain(hops: int) -> bytes:
    trace = "".join(f"Received: from relay{i}.example by relay{i + 1}.example with ESMTPS id "
                    f"{i:040d}; Mon, 2 Mar 2026 08:30:00 +0000\r\n" for i in range(hops))
    return trace.encode() + raw_mail(message_id="<loop@x>")


def pasted_log(lines: int) -> bytes:
    log = "".join(f"--config=/etc/kettle/{i}.conf --verbose\n----\n" for i in range(lines))
    return raw_mail(body=log, subject="Výpis z konzole")


LIMITS = [
    pytest.param(many_parts(600), "more than 500 MIME parts: the first 500 were read",
                 id="600-attachments"),
    pytest.param(nested(30), "MIME nesting deeper than 20: the parts after that were not read",
                 id="nesting-30"),
    pytest.param(received_chain(3000), "header section of ", id="received-chain"),
    pytest.param(raw_mail(references=" ".join(f"<r{i}@mail.example>" for i in range(20_000))),
                 "shortened references", id="references-20000"),
    pytest.param(raw_mail(cc=", ".join(f"kolega{i}@firma.example" for i in range(15_000))),
                 "shortened cc", id="cc-15000"),
    pytest.param(pasted_log(20_000), None, id="log-of-dash-lines"),
    pytest.param(many_parts(498), None, id="500-parts"),  # the multipart, a text, 498 files
]


@pytest.mark.parametrize(("raw", "note"), LIMITS)
def test_past_the_parser_limits_a_mail_is_stored_with_what_was_left_out(
        desk: Helpdesk, raw: bytes, note: str | None) -> None:
    outcome = desk.mail.receive(raw)
    assert outcome.outcome == "new_ticket", outcome
    article = first_article(desk, outcome.ticket_number)
    assert_raw_kept(desk, raw, article, outcome.raw_blob)
    if note is None:
        assert "cut" not in article.meta or article.meta["cut"].startswith("text: ")
    else:
        assert note in article.meta["cut"]


# -- Message-IDs longer than a database index takes --------------------------------------

LONG_IDS = [
    pytest.param("<" + "😀" * 899 + "@x.example>", id="emoji"),
    pytest.param("<" + "字" * 899 + "@x.example>", id="cjk"),
    pytest.param("<" + "a" * 898 + "@x.example>", id="ascii-900-cut-by-the-parser"),
    pytest.param("<" + "ž" * 600 + "@x.example>", id="latin-1200-bytes"),
]


@pytest.mark.parametrize("message_id", LONG_IDS)
def test_a_mail_with_a_huge_message_id_is_stored_and_its_replies_thread(
        desk: Helpdesk, message_id: str) -> None:
    def utf8_mail(headers: str) -> bytes:
        return (f"From: jana@example.cz\r\nTo: support@shop.example\r\n{headers}"
                "Content-Type: text/plain; charset=utf-8\r\n\r\nKonvice nehřeje.\r\n").encode()

    first_mail = utf8_mail(f"Subject: Konvice\r\nMessage-ID: {message_id}\r\n")
    first = desk.mail.receive(first_mail)
    assert first.outcome == "new_ticket", first
    assert desk.mail.receive(first_mail).outcome == "duplicate"
    reply = desk.mail.receive(utf8_mail(f"Subject: Re: Konvice\r\nMessage-ID: <r@x>\r\n"
                                        f"In-Reply-To: {message_id}\r\n"
                                        f"References: <a@x> {message_id}\r\n"))
    assert (reply.outcome, reply.ticket_number) == ("reply", first.ticket_number)


# -- HTML past the HTML limits (issue 12) --------------------------------------------------

def test_deeply_nested_html_is_stored_flattened_with_a_note(desk: Helpdesk) -> None:
    html = "<div>" * 100_000 + "Dobrý den, zásilka nedorazila." + "</div>" * 100_000
    raw = mime([("", "text/html; charset=utf-8", html.encode())], subject="Hluboko",
               top="multipart/mixed")
    outcome = desk.mail.receive(raw)
    article = first_article(desk, outcome.ticket_number)
    assert "zásilka nedorazila" in article.body_text
    assert "HTML nested deeper than 128 levels" in article.meta["cut"]
    assert "the first 1000000 rendered" in article.meta["cut"]
    assert_raw_kept(desk, raw, article, outcome.raw_blob)
    assert desk.blob_store.get(article.meta["html_blob"]).count(b"<div>") <= 128
