"""Hostile and odd mails, one small byte literal each, with the decoded values they must give."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from helpdesk_core.mail import Address, MailLimits, parse_mail


def mail(headers: str, body: bytes | str = b"Hello\n", *, charset: str = "utf-8") -> bytes:
    head = headers.strip("\n").encode(charset, "surrogateescape") + b"\n\n"
    return head + (body.encode(charset) if isinstance(body, str) else body)


# ---- headers and envelope -------------------------------------------------------------------


def test_plain_mail_without_content_type_is_text_body() -> None:
    parsed = parse_mail(mail("From: a@b.example\nSubject: hi", "Just text\n"))
    assert parsed.body_text == "Just text"
    assert parsed.content_type == "text/plain"
    assert parsed.attachments == ()
    assert parsed.body_html is None


def test_encoded_word_split_mid_character_across_words() -> None:
    # "Žluťoučký" in utf-8, the bytes of "ť" (c5 a5) split between the two words
    parsed = parse_mail(mail("From: a@b.example\n"
                             "Subject: =?utf-8?q?=C5=BDlu=C5?= =?utf-8?q?=A5ou=C4=8Dk=C3=BD?="))
    assert parsed.subject == "Žluťoučký"


def test_adjacent_encoded_words_glued_without_space() -> None:
    parsed = parse_mail(mail("From: a@b.example\n"
                             "Subject: =?utf-8?b?UMWZw61s?==?utf-8?b?acWhIMW+bHXFpW91xI1rw70=?="))
    assert parsed.subject == "Příliš žluťoučký"


def test_encoded_words_folded_over_lines_and_mixed_with_text() -> None:
    parsed = parse_mail(mail("From: a@b.example\n"
                             "Subject: Re: =?iso-8859-2?q?Objedn=E1vka?=\n"
                             " =?windows-1250?q?=9Ailem?= done"))
    assert parsed.subject == "Re: Objednávkašilem done"


def test_raw_utf8_header_bytes() -> None:
    raw = "From: Jürgen Groß <j@b.example>\nSubject: Größe ändern\n\nx\n".encode()
    parsed = parse_mail(raw)
    assert parsed.subject == "Größe ändern"
    assert parsed.from_name == "Jürgen Groß"


def test_raw_windows1250_header_bytes_use_guess_list() -> None:
    raw = "From: j@b.example\nSubject: Reklamácia tovaru č. 5\n\nx\n".encode("windows-1250")
    assert parse_mail(raw).subject == "Reklamácia tovaru č. 5"


def test_unknown_charset_in_encoded_word_falls_back_to_guesses() -> None:
    parsed = parse_mail(mail("From: a@b.example\nSubject: =?x-unknown?q?Gr=C3=BC=C3=9Fe?="))
    assert parsed.subject == "Grüße"


def test_gb2312_label_decoded_as_gb18030() -> None:
    word = base64.b64encode("订单".encode("gb18030")).decode()
    parsed = parse_mail(mail(f"From: a@b.example\nSubject: =?gb2312?b?{word}?="))
    assert parsed.subject == "订单"


def test_ks_c_5601_label_decoded_as_cp949() -> None:
    word = base64.b64encode("주문".encode("cp949")).decode()
    parsed = parse_mail(mail(f"From: a@b.example\nSubject: =?ks_c_5601-1987?b?{word}?="))
    assert parsed.subject == "주문"


def test_iso_2022_jp_body() -> None:
    body = "注文番号".encode("iso2022_jp")
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: text/plain; charset=ISO-2022-JP",
                             body + b"\n"))
    assert parsed.body_text == "注文番号"


def test_utf7_body() -> None:
    body = "Grüße".encode("utf-7")
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: text/plain; charset=utf-7",
                             body))
    assert parsed.body_text == "Grüße"


def test_missing_from_falls_back_to_reply_to_then_sender_then_return_path() -> None:
    parsed = parse_mail(mail("Reply-To: Help <r@b.example>\nSender: s@b.example"))
    assert parsed.from_address == "r@b.example"
    assert parsed.from_name == "Help"
    assert parsed.reply_to == (Address("r@b.example", "Help"),)
    parsed = parse_mail(mail("From: not an address\nSender: s@b.example"))
    assert parsed.from_address == "s@b.example"
    parsed = parse_mail(mail("Return-Path: <bounce@b.example>\nSubject: x"))
    assert parsed.from_address == "bounce@b.example"
    assert any("return-path" in d for d in parsed.defects)


def test_no_sender_at_all() -> None:
    parsed = parse_mail(mail("Subject: anonymous"))
    assert parsed.from_address is None
    assert "no sender address" in parsed.defects


def test_duplicate_from_uses_first_and_records_defect() -> None:
    parsed = parse_mail(mail("From: first@b.example\nFrom: second@b.example"))
    assert parsed.from_address == "first@b.example"
    assert "more than one From header" in parsed.defects


def test_encoded_display_name_with_comma_is_one_address() -> None:
    parsed = parse_mail(mail("From: a@b.example\n"
                             "To: =?utf-8?q?Nov=C3=A1k=2C_Jan?= <jan@b.example>, x@b.example\n"
                             "Cc: \"Kováč, Peter\" <p@b.example>, Bad <nowhere>, <c@b.example>"))
    assert parsed.to == (Address("jan@b.example", "Novák, Jan"), Address("x@b.example", ""))
    assert Address("p@b.example", "Kováč, Peter") in parsed.cc
    assert Address("c@b.example", "") in parsed.cc
    assert "unparseable address in Cc" in parsed.defects


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Message-ID: <abc@example.com>", "<abc@example.com>"),
        ("Message-ID: abc@example.com", "<abc@example.com>"),
        ("Message-ID:   <abc@example.com> (comment)", "<abc@example.com>"),
        ("Message-ID: <<abc@example.com>>", "<abc@example.com>"),
        ("Message-ID: <>", None),
        ("Message-ID:", None),
        ("Message-ID: <[broken]@@@>", "<[broken]@@@>"),
    ],
)
def test_message_id_normalised(header: str, expected: str | None) -> None:
    assert parse_mail(mail(f"From: a@b.example\n{header}")).message_id == expected


def test_references_and_in_reply_to() -> None:
    parsed = parse_mail(mail("From: a@b.example\nIn-Reply-To: <p2@x> (John's mail)\n"
                             "References: <p0@x> <p1@x>\n <p1@x>\n\t<p2@x>"))
    assert parsed.in_reply_to == "<p2@x>"
    assert parsed.references == ("<p0@x>", "<p1@x>", "<p2@x>")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 24 Nov 2026 09:15:02 +0100", datetime(2026, 11, 24, 8, 15, 2, tzinfo=UTC)),
        ("24 Nov 2026 09:15:02 -0000", datetime(2026, 11, 24, 9, 15, 2, tzinfo=UTC)),
        ("Tue, 24 Nov 2026 09:15:02 GMT", datetime(2026, 11, 24, 9, 15, 2, tzinfo=UTC)),
    ],
)
def test_dates_are_aware_utc(value: str, expected: datetime) -> None:
    parsed = parse_mail(mail(f"From: a@b.example\nDate: {value}"))
    assert parsed.date == expected
    assert parsed.date is not None
    assert parsed.date.tzinfo is UTC


@pytest.mark.parametrize("value", ["yesterday", "Tue, 99 Foo 2026 99:99:99 +9999", "", "0"])
def test_invalid_dates_become_none_with_defect(value: str) -> None:
    parsed = parse_mail(mail(f"From: a@b.example\nDate: {value}"))
    assert parsed.date is None
    assert any("Date" in d for d in parsed.defects)


def test_mbox_from_line_and_junk_before_headers_are_stripped() -> None:
    raw = b"From MAILER-DAEMON Tue Nov 24 10:00:00 2026\r\n\r\nFrom: a@b.example\r\n" \
          b"Subject: crlf\r\n\r\nBody line\r\n"
    parsed = parse_mail(raw)
    assert parsed.raw == raw
    assert parsed.subject == "crlf"
    assert parsed.body_text == "Body line"
    assert "mbox From line removed" in parsed.defects


def test_headers_keep_auto_response_facts_in_order() -> None:
    parsed = parse_mail(mail("From: a@b.example\nAuto-Submitted: auto-replied\n"
                             "Precedence: bulk\nX-Autoreply: yes\nReceived: one\nReceived: two"))
    assert parsed.header("auto-submitted") == "auto-replied"
    assert parsed.header("PRECEDENCE") == "bulk"
    assert parsed.header_all("Received") == ("one", "two")
    assert [name for name, _ in parsed.headers][:2] == ["From", "Auto-Submitted"]
    assert parsed.header("Missing") is None


# ---- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("utf-8", "quoted-printable"), ("iso-8859-2", "quoted-printable"),
     ("windows-1250", "base64"), ("utf-8", "base64"), ("iso-8859-2", "8bit")],
)
def test_czech_body_in_charsets_and_transfer_encodings(charset: str, encoding: str) -> None:
    import quopri

    text = "Dobrý den, zboží dorazilo poškozené. Žádám o výměnu.\n"
    data = text.encode(charset)
    body = {"quoted-printable": quopri.encodestring(data), "base64": base64.encodebytes(data),
            "8bit": data}[encoding]
    raw = mail(f"From: a@b.example\nContent-Type: text/plain; charset={charset}\n"
               f"Content-Transfer-Encoding: {encoding}", body)
    assert parse_mail(raw).body_text == text.strip()


def test_iso_8859_1_label_with_cp1252_bytes() -> None:
    raw = mail("From: a@b.example\nContent-Type: text/plain; charset=iso-8859-1",
               b"Price \x80 5 \x96 quoted \x93x\x94\n")
    assert parse_mail(raw).body_text == "Price \u20ac 5 \u2013 quoted \u201cx\u201d"


def test_wrong_declared_charset_falls_back_to_guesses() -> None:
    raw = mail("From: a@b.example\nContent-Type: text/plain; charset=us-ascii",
               "Příliš žluťoučký kůň\n".encode())
    assert parse_mail(raw).body_text == "Příliš žluťoučký kůň"


def test_bogus_charset_name_is_ignored() -> None:
    raw = mail("From: a@b.example\nContent-Type: text/plain; charset=\"rot13\"",
               "Grüße\n".encode())
    assert parse_mail(raw).body_text == "Grüße"


def test_html_only_mail_renders_text_and_sanitises() -> None:
    html = ("<html><body><h1>Objednávka</h1><p>Dobrý den,<br>kde je <b>balík</b>?</p>"
            "<script>steal()</script><img src=x onerror=alert(1)>"
            "<a href='javascript:evil()'>x</a><a href='https://shop.example/o/1'>order</a>"
            "<img src='cid:part1@x'></body></html>")
    raw = mail("From: a@b.example\nContent-Type: text/html; charset=utf-8", html)
    parsed = parse_mail(raw)
    assert parsed.content_type == "text/html"
    assert "Objednávka" in parsed.body_text
    assert "kde je balík?" in parsed.body_text
    assert "<" not in parsed.body_text
    assert "steal" not in parsed.body_text
    assert parsed.html_original == html
    assert parsed.body_html is not None
    for bad in ("script", "steal", "onerror", "javascript", 'src="x"'):
        assert bad not in parsed.body_html
    assert 'href="https://shop.example/o/1"' in parsed.body_html
    assert 'src="cid:part1@x"' in parsed.body_html
    assert parsed.new_text.startswith("Objednávka")


def test_remote_images_can_be_kept_on_request() -> None:
    raw = mail("From: a@b.example\nContent-Type: text/html",
               "<p>x</p><img src='https://cdn.example/a.png'>")
    assert "cdn.example" not in (parse_mail(raw).body_html or "")
    assert "cdn.example" in (parse_mail(raw, keep_remote_images=True).body_html or "")


def test_alternative_prefers_plain_text_but_keeps_html() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/alternative; boundary=A",
               "--A\nContent-Type: text/plain\n\nplain version\n"
               "--A\nContent-Type: text/html\n\n<p>html <i>version</i></p>\n--A--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "plain version"
    assert parsed.content_type == "text/html"
    assert parsed.body_html is not None
    assert "<i>version</i>" in parsed.body_html


def test_empty_plain_alternative_gives_way_to_html() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/alternative; boundary=A",
               "--A\nContent-Type: text/plain\n\n \n"
               "--A\nContent-Type: text/html\n\n<p>real content</p>\n--A--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "real content"
    assert parsed.content_type == "text/html"


def test_html_only_outlook_reply_cuts_rendered_header_block() -> None:
    html = ("<html><body><p>Prosím o opravu faktúry.</p><hr>"
            "<div id='divRplyFwdMsg'><b>Od:</b> Podpora &lt;s@x&gt;<br><b>Odoslané:</b> "
            "pondelok 23. novembra 2026 17:00<br><b>Komu:</b> Ján<br><b>Predmet:</b> RE: "
            "faktúra</div><p>Pôvodný text</p></body></html>")
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: text/html; charset=utf-8", html))
    assert "Pôvodný text" in parsed.body_text
    assert parsed.new_text.startswith("Prosím o opravu faktúry.")
    assert "Pôvodný" not in parsed.new_text
    assert "Odoslané" not in parsed.new_text


def test_plain_text_mail_has_plain_content_type() -> None:
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: text/plain", "x\n"))
    assert parsed.content_type == "text/plain"
    assert parsed.html_original is None


def test_alternative_with_calendar_keeps_invite_as_attachment() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/alternative; boundary=A",
               "--A\nContent-Type: text/plain\n\nmeeting\n"
               "--A\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\n--A--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "meeting"
    (invite,) = parsed.attachments
    assert invite.filename == "invite.ics"
    assert invite.content_type == "text/calendar"


def test_inline_text_parts_are_concatenated_in_order() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain\n\nfirst\n"
               "--M\nContent-Type: image/png\nContent-Disposition: inline\n"
               "Content-ID: <img1>\n\nPNG\n"
               "--M\nContent-Type: text/plain\nContent-Disposition: inline\n\nsecond\n--M--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "first\n\nsecond"
    (image,) = parsed.attachments
    assert image.inline
    assert image.content_id == "img1"
    assert image.filename == "attachment.png"


def test_nested_multiparts_find_body_and_all_attachments() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=L1",
               "--L1\nContent-Type: multipart/mixed; boundary=L2\n\n"
               "--L2\nContent-Type: multipart/alternative; boundary=L3\n\n"
               "--L3\nContent-Type: text/plain\n\ndeep body\n"
               "--L3\nContent-Type: text/html\n\n<b>deep body</b>\n--L3--\n"
               "--L2\nContent-Type: application/pdf; name=a.pdf\n\n%PDF\n--L2--\n"
               "--L1\nContent-Type: application/pdf\nContent-Disposition: attachment;"
               " filename=a.pdf\n\n%PDF2\n"
               "--L1\nContent-Type: application/pdf\nContent-Disposition: attachment;"
               " filename=A.PDF\n\n%PDF3\n--L1--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "deep body"
    assert [a.filename for a in parsed.attachments] == ["a.pdf", "a (2).pdf", "A (3).PDF"]


def test_html_attachment_never_keeps_an_html_name() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain\n\nsee attached\n"
               "--M\nContent-Type: text/html\nContent-Disposition: attachment;"
               " filename=invoice.html\n\n<script>x</script>\n"
               "--M\nContent-Type: text/html\nContent-Disposition: attachment\n\n<p>x</p>\n"
               "--M--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "see attached"
    names = [a.filename for a in parsed.attachments]
    assert names == ["invoice.html.txt", "attachment.html.txt"]
    assert parsed.body_html is None


def test_whole_body_pdf_is_an_attachment() -> None:
    raw = mail("From: a@b.example\nContent-Type: application/pdf; name=\"scan 01.pdf\"\n"
               "Content-Transfer-Encoding: base64", base64.encodebytes(b"%PDF-1.7 scan"))
    parsed = parse_mail(raw)
    assert parsed.body_text == ""
    (pdf,) = parsed.attachments
    assert pdf.filename == "scan 01.pdf"
    assert pdf.data == b"%PDF-1.7 scan"


def test_subpart_without_content_type_is_kept_as_attachment() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain\n\nbody\n--M\n\nmystery bytes\n--M--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "body"
    (mystery,) = parsed.attachments
    assert mystery.content_type == "application/octet-stream"
    assert mystery.data.startswith(b"mystery bytes")


def test_content_location_names_an_inline_image() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/related; boundary=R",
               "--R\nContent-Type: text/html\n\n<img src='cid:x'>hi\n"
               "--R\nContent-Type: image/gif\nContent-Location: http://x.example/img/pic.gif\n"
               "Content-ID: <x>\n\nGIF89a\n--R--\n")
    parsed = parse_mail(raw)
    (pic,) = parsed.attachments
    assert pic.filename == "pic.gif"
    assert pic.inline
    assert parsed.content_type == "text/html"


def test_hostile_filenames_are_made_safe() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: application/octet-stream\n"
               "Content-Disposition: attachment; filename=\"../../etc/passwd\"\n\nx\n"
               "--M\nContent-Type: application/octet-stream\n"
               "Content-Disposition: attachment; filename=\"CON.txt\"\n\nx\n"
               "--M\nContent-Type: application/octet-stream\n"
               "Content-Disposition: attachment; filename=\"invoice\u202egpj.exe\"\n\nx\n"
               "--M\nContent-Type: application/octet-stream\n"
               "Content-Disposition: attachment; filename=\"=?utf-8?q?fa=C4=8Dtura.pdf?=\"\n"
               "\nx\n--M--\n")
    names = [a.filename for a in parse_mail(raw).attachments]
    assert names == ["passwd", "_CON.txt", "invoicegpj.exe.txt", "fačtura.pdf"]


def test_rfc2231_filename_in_latin2_with_continuations() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: application/pdf\nContent-Disposition: attachment;\n"
               " filename*0*=iso-8859-2''Faktura%20%E8;\n filename*1*=.%2012.pdf\n\n%PDF\n--M--\n")
    (pdf,) = parse_mail(raw).attachments
    assert pdf.filename == "Faktura č. 12.pdf"


def test_uuencoded_block_in_plain_text_becomes_attachment() -> None:
    import binascii

    encoded = binascii.b2a_uu(b"secret data").decode()
    body = f"See the file.\n\nbegin 644 data.bin\n{encoded}`\nend\n\nThanks\n"
    parsed = parse_mail(mail("From: a@b.example", body))
    assert "begin 644" not in parsed.body_text
    assert "See the file." in parsed.body_text
    assert "Thanks" in parsed.body_text
    (blob,) = parsed.attachments
    assert blob.filename == "data.bin"
    assert blob.data == b"secret data"


def test_forward_as_attachment_uses_inner_subject() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain\n\nFYI\n--M\nContent-Type: message/rfc822\n\n"
               "From: x@y.example\nSubject: =?utf-8?q?P=C5=AFvodn=C3=AD?=\n\ninner body\n--M--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "FYI"
    (fwd,) = parsed.attachments
    assert fwd.filename == "Původní.eml"
    assert b"inner body" in fwd.data


def test_bad_base64_is_decoded_leniently() -> None:
    raw = mail("From: a@b.example\nContent-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: base64", b"SGVsbG8g!!!d29y\nbGQ")
    parsed = parse_mail(raw)
    assert parsed.body_text.startswith("Hello")


def test_unterminated_multipart_still_yields_body() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain\n\nno closing boundary\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "no closing boundary"
    assert parsed.quarantine_reason is None


def test_multipart_without_boundary() -> None:
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: multipart/mixed", "text\n"))
    assert parsed.raw.endswith(b"text\n")
    assert parsed.quarantine_reason is None


# ---- reply cutting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [
        "From: Support <s@x>\nSent: Monday, November 23, 2026 5:00 PM\nTo: Jan <j@x>\n"
        "Subject: RE: order\n\nold text",
        "Von: Support <s@x>\nGesendet: Montag, 23. November 2026 17:00\nAn: Jan\n"
        "Betreff: AW: Bestellung\n\nold text",
        "Od: Podpora <s@x>\nOdesláno: pondělí 23. listopadu 2026 17:00\nKomu: Jan\n"
        "Předmět: RE: objednávka\n\nold text",
        "Od: Podpora <s@x>\nOdoslané: pondelok 23. novembra 2026 17:00\nKomu: Ján\n"
        "Predmet: RE: objednávka\n\nold text",
        "*From:* Support <s@x>\n*Sent:* Monday\n*To:* Jan\n*Subject:* x\n\nold text",
        "On Mon, Nov 23, 2026 at 5:00 PM Support <s@x> wrote:\n> old text",
        "Am 23.11.2026 um 17:00 schrieb Support <s@x>:\n> old text",
        "Dne 23. 11. 2026 v 17:00 Podpora <s@x> napsal(a):\n> old text",
        "Dňa 23. 11. 2026 o 17:00 Podpora <s@x> napísal(a):\n> old text",
        "-----Original Message-----\nFrom: s@x\nold text",
        "-----Ursprüngliche Nachricht-----\nVon: s@x\nold text",
        "> old text\n> more old text",
    ],
)
def test_new_text_strips_quoted_history(history: str) -> None:
    body = f"Thanks, that works now.\n\n{history}\n"
    parsed = parse_mail(mail("From: a@b.example", body))
    assert parsed.new_text == "Thanks, that works now."
    assert "old text" in parsed.body_text


def test_new_text_of_an_all_quote_mail_is_the_body() -> None:
    parsed = parse_mail(mail("From: a@b.example", "> only quoted\n"))
    assert parsed.new_text == "> only quoted"


# ---- limits ---------------------------------------------------------------------------------


def test_too_large_mail_is_quarantined_with_headers() -> None:
    raw = mail("From: a@b.example\nSubject: big", b"x" * 5000)
    parsed = parse_mail(raw, limits=MailLimits(max_bytes=1000))
    assert parsed.quarantine_reason == "larger than 1000 bytes"
    assert parsed.raw == raw
    assert parsed.subject == "big"
    assert parsed.from_address == "a@b.example"
    assert parsed.body_text == ""


def test_too_many_parts_are_read_up_to_the_limit() -> None:
    parts = "".join(f"--M\nContent-Type: application/octet-stream\n\n{i}\n" for i in range(30))
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain\n\nbody\n" + parts + "--M--\n")
    parsed = parse_mail(raw, limits=MailLimits(max_parts=10))
    assert parsed.quarantine_reason is None
    assert parsed.truncated == ("more than 10 MIME parts: the first 10 were read",
                                "more than 10 MIME parts: the parts after that were not read")
    assert parsed.body_text == "body"
    assert 0 < len(parsed.attachments) < 10
    assert parsed.raw == raw
    assert parse_mail(raw).truncated == ()


def test_deeply_nested_mail_is_read_down_to_the_limit() -> None:
    depth = 60
    body = "".join(f"--B{i}\nContent-Type: multipart/mixed; boundary=B{i + 1}\n\n"
                   for i in range(depth))
    body += "--B60\nContent-Type: text/plain\n\ndeep\n"
    body += "".join(f"--B{i}--\n" for i in range(depth, -1, -1))
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=B0", body)
    parsed = parse_mail(raw)
    assert parsed.quarantine_reason is None
    assert parsed.truncated == ("MIME nesting deeper than 20: the parts after that were not read",)
    assert parsed.from_address == "a@b.example"


def test_very_deep_nesting_does_not_blow_the_stack() -> None:
    depth = 3000
    body = "".join(f"--B{i}\nContent-Type: multipart/mixed; boundary=B{i + 1}\n\n"
                   for i in range(depth))
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=B0", body)
    parsed = parse_mail(raw)
    assert parsed.quarantine_reason is not None or parsed.truncated
    assert parsed.raw == raw
    assert parsed.from_address == "a@b.example"


def test_a_huge_header_section_leaves_out_what_a_helpdesk_does_not_read() -> None:
    raw = mail("Received: from a by b\nFrom: a@b.example\nSubject: big\nX-Junk: " + "y" * 3000
               + "\nContent-Type: text/plain; charset=utf-8", "Dobrý den")
    parsed = parse_mail(raw, limits=MailLimits(max_header_bytes=1000))
    assert parsed.quarantine_reason is None
    assert parsed.from_address == "a@b.example"
    assert parsed.subject == "big"
    assert parsed.body_text == "Dobrý den"
    assert parsed.header("Received") == "from a by b"
    assert parsed.header("X-Junk") is None
    [note] = parsed.truncated
    size = raw.index(b"\n\n")
    assert note.startswith(f"header section of {size} bytes cut to ")
    assert note.endswith(": left out x-junk")


@pytest.mark.parametrize(("header", "kept"), [
    # References keeps its newest ids, anything else its start
    ("References: " + " ".join(f"<id{i}@x.example>" for i in range(2000)), "<id1999@x.example>"),
    ("To: " + ", ".join(f"c{i}@example.org" for i in range(2000)), "c0@example.org"),
    ("Subject: " + "slovo " * 3000, "slovo slovo"),
    ("Subject: " + "x" * 20_000, "xxxx"),
])
def test_a_needed_header_too_large_for_the_limit_is_shortened(header: str, kept: str) -> None:
    raw = mail("From: a@b.example\n" + header + "\nContent-Type: text/plain", "text")
    parsed = parse_mail(raw, limits=MailLimits(max_header_bytes=4000))
    name = header.split(":")[0]
    assert parsed.quarantine_reason is None
    assert parsed.from_address == "a@b.example"
    assert parsed.body_text == "text"
    assert kept in (parsed.header(name) or "")
    assert len(parsed.header(name) or "") < 4000
    [note] = parsed.truncated
    assert note.endswith(f"shortened {name.lower()}")


def test_many_small_header_fields_keep_the_first_that_fit() -> None:
    raw = mail("From: a@b.example\nContent-Type: text/plain\n"
               + "\n".join(f"To: c{i}@example.org" for i in range(500)), "text")
    parsed = parse_mail(raw, limits=MailLimits(max_header_bytes=2000))
    assert parsed.from_address == "a@b.example"
    assert parsed.body_text == "text"
    assert 50 < len(parsed.header_all("To")) < 500
    assert parsed.truncated[0].endswith(": left out to x" + str(500 - len(parsed.header_all("To"))))


@pytest.mark.parametrize("lines", [100, 3000, 20_000])
def test_a_pasted_log_full_of_dash_lines_is_text_not_parts(lines: int) -> None:
    log = "".join(f"--option-{i} --verbose\n-- \n" for i in range(lines))
    for raw in [mail("From: a@b.example\nContent-Type: text/plain", log),
                mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
                     f"--M\nContent-Type: text/plain\n\n{log}\n--M--\n")]:
        parsed = parse_mail(raw)
        assert parsed.quarantine_reason is None
        assert parsed.truncated == ()
        assert f"--option-{lines - 1} --verbose" in parsed.body_text


def test_a_from_header_of_base64_without_an_address_is_read_in_linear_time() -> None:
    import time

    blob = "9I+CkfG5o5jDqMKZwq1Z" * 12_000  # 240 KB: took minutes before
    raw = mail(f"From: =?utf-8?b?{blob}?=\nSubject: x", "text")
    started = time.monotonic()
    parsed = parse_mail(raw)
    assert time.monotonic() - started < 5
    assert parsed.from_address is None


def test_time_budget_is_enforced() -> None:
    parts = "".join(f"--M\nContent-Type: text/plain\n\npart {i}\n" for i in range(50))
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M", parts + "--M--\n")
    parsed = parse_mail(raw, limits=MailLimits(time_budget_s=0.0))
    assert parsed.quarantine_reason is None
    [note] = parsed.truncated
    assert note == "parsing took longer than 0 s: the parts after that were not read"
    assert parsed.from_address == "a@b.example"


def test_non_bytes_input_does_not_raise() -> None:
    assert parse_mail(bytearray(b"From: a@b.example\n\nx")).from_address == "a@b.example"
    assert parse_mail(b"").raw == b""


# ---- cost of hostile bodies -----------------------------------------------------------------


def test_no_headers_at_all_keeps_the_text() -> None:
    parsed = parse_mail(b"hello\nworld\n")
    assert parsed.body_text == "hello\nworld"
    assert parsed.from_address is None


def test_long_reply_marker_lines_stay_fast() -> None:
    import time

    body = "Thanks.\n\nOn " + "a " * 50_000 + "\n" + ("On " + "b " * 198 + "\n") * 50
    started = time.monotonic()
    parsed = parse_mail(mail("From: a@b.example", body))
    assert time.monotonic() - started < 3
    assert parsed.new_text.startswith("Thanks.")


def test_huge_html_body_is_rendered_roughly_but_quickly() -> None:
    import time

    html = "<div><p>Hello <b>world</b> &amp; <a href='https://x'>more</a></p></div>\n" * 20_000
    started = time.monotonic()
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: text/html", html))
    assert time.monotonic() - started < 3
    assert parsed.body_text.startswith("Hello world & more")
    assert "<" not in parsed.body_text
    assert parsed.quarantine_reason is None


def test_format_flowed_is_unwrapped() -> None:
    body = ("This is a long line that the client \nwrapped for sending.\n"
            "> quoted text that \n> also wraps\n\n-- \nSig\n")
    parsed = parse_mail(mail("From: a@b.example\n"
                             "Content-Type: text/plain; charset=utf-8; format=flowed", body))
    assert parsed.body_text.startswith(
        "This is a long line that the client wrapped for sending.\n"
        "> quoted text that also wraps\n")
    assert "\n-- \nSig" in parsed.body_text


def test_format_flowed_delsp() -> None:
    parsed = parse_mail(mail("From: a@b.example\n"
                             "Content-Type: text/plain; format=flowed; delsp=yes",
                             "Verbin \ndung\n"))
    assert parsed.body_text == "Verbindung"


def test_html_meta_charset_used_when_part_declares_none() -> None:
    html = '<html><head><meta charset="koi8-r"></head><body>Привет, заказ</body></html>'
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: text/html",
                             html.encode("koi8-r")))
    assert parsed.body_text == "Привет, заказ"


def test_utf8_bom_is_dropped() -> None:
    parsed = parse_mail(mail("From: a@b.example\nContent-Type: text/plain; charset=utf-8",
                             "\ufeffAhoj\n".encode()))
    assert parsed.body_text == "Ahoj"


def test_base64_encoded_forward_is_decoded_before_keeping_it() -> None:
    inner = b"From: x@y.example\nSubject: Inner mail\n\ninner body\n"
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               b"--M\nContent-Type: text/plain\n\nFYI\n--M\nContent-Type: message/rfc822\n"
               b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(inner) + b"--M--\n")
    (fwd,) = parse_mail(raw).attachments
    assert fwd.data == inner
    assert fwd.filename == "Inner mail.eml"


@pytest.mark.parametrize("length", [151, 400, 5000])
def test_a_long_attachment_name_is_shortened_and_said_so(length: int) -> None:
    name = "Reklamační protokol " + "x" * (length - 24) + ".pdf"
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: application/pdf\nContent-Disposition: attachment; "
               f'filename="{name}"\n\n%PDF\n--M--\n'.encode())
    parsed = parse_mail(raw)
    [attachment] = parsed.attachments
    assert len(attachment.filename) == 150
    assert attachment.filename.startswith("Reklamační protokol xxx")
    assert "attachment name longer than 150 characters shortened" in parsed.defects


def test_attachment_meta_and_sender() -> None:
    raw = mail("From: Jan <jan@b.example>\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain\n\nx\n--M\nContent-Type: image/png\n"
               "Content-ID: <i1>\nContent-Disposition: inline; filename=a.png\n"
               "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
               "--M\nContent-Type: image/png\nContent-Disposition: inline; filename=b.png\n"
               "\nPNG\n--M--\n")
    parsed = parse_mail(raw)
    assert parsed.sender == Address("jan@b.example", "Jan")
    meta = parsed.attachments[0].meta("blob-1")
    assert (meta.blob_key, meta.filename, meta.content_type) == ("blob-1", "a.png", "image/png")
    assert meta.inline
    assert meta.content_id == "i1"
    assert meta.size == 8
    # "PNG" is no PNG: a download, whatever the mail says
    fake = parsed.attachments[1].meta("blob-2")
    assert (fake.content_type, fake.declared_type, fake.inline) == (
        "application/octet-stream", "image/png", False)
    assert parsed.attachments[1].inline  # the parser reports what the mail declared
    assert parse_mail(b"Subject: x\n\n").sender is None


def test_gmail_amp_alternative_is_not_an_attachment() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/alternative; boundary=A",
               "--A\nContent-Type: text/plain\n\nplain\n"
               "--A\nContent-Type: text/x-amp-html\n\n<html amp4email>x</html>\n"
               "--A\nContent-Type: text/html\n\n<p>rich</p>\n--A--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "plain"
    assert parsed.attachments == ()
    only_amp = mail("From: a@b.example\nContent-Type: multipart/alternative; boundary=A",
                    "--A\nContent-Type: text/x-amp-html\n\n<html amp4email>x</html>\n--A--\n")
    assert len(parse_mail(only_amp).attachments) == 1


def test_byte_order_mark_before_headers() -> None:
    parsed = parse_mail(b"\xef\xbb\xbfFrom: a@b.example\nSubject: bom\n\nx\n")
    assert parsed.from_address == "a@b.example"
    assert parsed.subject == "bom"


def test_message_id_with_inner_whitespace() -> None:
    parsed = parse_mail(mail("From: a@b.example\nMessage-ID: <abc def@x.example>"))
    assert parsed.message_id == "<abcdef@x.example>"


def test_gmail_wrote_line_wrapped_over_two_lines() -> None:
    body = ("Sounds good.\n\nOn Mon, Nov 23, 2026 at 5:00 PM Support Team <\n"
            "support@shop.example> wrote:\n\n> Shall we ship it?\n")
    assert parse_mail(mail("From: a@b.example", body)).new_text == "Sounds good."


def test_apple_mail_inline_pdf_between_text_parts() -> None:
    raw = mail("From: a@b.example\nContent-Type: multipart/mixed; boundary=M",
               "--M\nContent-Type: text/plain; charset=us-ascii\n\nHere is the form:\n"
               "--M\nContent-Disposition: inline; filename=form.pdf\n"
               "Content-Type: application/pdf; name=form.pdf\n\n%PDF\n"
               "--M\nContent-Type: text/plain; charset=us-ascii\n\nSigned.\n--M--\n")
    parsed = parse_mail(raw)
    assert parsed.body_text == "Here is the form:\n\nSigned."
    (pdf,) = parsed.attachments
    assert pdf.filename == "form.pdf"
    assert pdf.inline


def test_encoded_word_inside_quoted_display_name() -> None:
    parsed = parse_mail(mail('From: "=?utf-8?q?Ji=C5=99=C3=AD?= Dvořák" <jiri@b.example>'))
    assert parsed.from_name == "Jiří Dvořák"
    assert parsed.from_address == "jiri@b.example"
