"""Header blocks whose folding a gateway broke: continuation lines without their leading
whitespace (long anti-spam, tracking and ``Received`` headers wrapped at the margin) and banner
lines before the headers. The headers below the damage are still headers; a mail whose blank
line before the body is missing keeps its body."""

from __future__ import annotations

import email
from email.header import Header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.mail import parse_mail

# Long headers as real gateways write them, each a name and its value on one line.
LONG_HEADERS = [
    b"Received: from mx1.mailgw.example (mx1.mailgw.example [192.0.2.17]) by mail.shop.example "
    b"(Postfix) with ESMTPS id 4F2A1C0045 for <support@shop.example>; Mon, 30 Nov 2026 "
    b"10:00:00 +0100 (CET)",
    b"Received: from [10.0.0.12] (unknown [198.51.100.4]) (using TLSv1.3 with cipher "
    b"TLS_AES_256_GCM_SHA384 (256/256 bits)) (No client certificate requested) by "
    b"smtp.mailgw.example (Postfix) with ESMTPSA id 91BB2; Mon, 30 Nov 2026 09:59:58 +0100",
    b"X-Spam-Report: Content analysis details: (0.1 points, 5.0 required) pts rule name "
    b"description ---- ---------------------- -------------------------------------- 0.1 "
    b"HTML_MESSAGE BODY HTML included in message 0.0 BAYES_00 BODY Bayes spam probability "
    b"is 0 to 1 percent",
    b"X-Forefront-Antispam-Report: CIP=198.51.100.4;CTRY=CZ;LANG=cs;SCL=1;SRV=;IPV=NLI;"
    b"SFV=NSPM;H=EUR05-AM6-obe.outbound.protection.outlook.com;PTR=InfoDomainNonexistent;"
    b"CAT=NONE;SFS=(13230040)(4636009)(136003)(346002)(376002)(39860400002);DIR=INB;",
    b"X-Tracking-Id: 7f0c9f6e2b4a4d0f8c1e3a5b7d9f1e2c3b4a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6"
    b"e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=mailgw.example; s=sel1; "
    b"h=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
    b"b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaXMgbG9uZyBlbm91Z2ggdG8gd3JhcA==",
    b"ARC-Authentication-Results: i=1; mx.microsoft.example; spf=pass smtp.mailfrom="
    b"mailgw.example; dmarc=pass action=none header.from=mailgw.example; dkim=pass "
    b"header.d=mailgw.example; arc=none",
]
BANNERS = [b"---- Original email message ----", b"Forwarded message:",
           b"-----Original Message-----", b"From MAILER-DAEMON Mon Nov 30 10:00:00 2026"]

WORDS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789"),
                min_size=1, max_size=10)
PHRASE = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
NAME = st.lists(st.sampled_from(["Jan", "Nováková", "Müller", "Ľubica", "Štěpán", "Hans",
                                 "Groß", "Eva", "Petr"]), min_size=1, max_size=3).map(" ".join)


@st.composite
def wrapped(draw: st.DrawFn, header: bytes) -> bytes:
    """``header`` cut at random places into lines that do not start with whitespace."""
    name, _, value = header.partition(b": ")
    value = value.replace(b" ", b"  ") if draw(st.booleans()) else value
    cuts = sorted(draw(st.sets(st.integers(1, len(value) - 1), min_size=1, max_size=6)))
    pieces = [value[a:b] for a, b in zip([0, *cuts], [*cuts, len(value)], strict=True)]
    lines = [name + b": " + pieces[0]]
    for piece in pieces[1:]:
        piece = piece.lstrip(b" ")
        if not piece.strip():
            continue
        if draw(st.booleans()) and lines[-1].strip():
            lines.append(piece)  # the damage: no leading whitespace
        else:
            lines.append(b"\t" + piece)
    return b"\n".join(lines)


def _mail(trace: list[bytes], subject: str, name: str, body: str, *, html: bool,
          banner: bytes | None = None, crlf: bool = False) -> bytes:
    encoded_name = Header(name, "utf-8").encode()
    head = [*([banner] if banner else []), *trace,
            f"From: {encoded_name} <jan@example.cz>".encode(),
            b"To: support@shop.example",
            b"Subject: " + Header(subject, "utf-8").encode().encode(),
            b"Date: Mon, 30 Nov 2026 10:00:00 +0100",
            b"Message-ID: <abc.1@example.cz>",
            b"MIME-Version: 1.0",
            b"Content-Type: text/" + (b"html" if html else b"plain") + b"; charset=utf-8",
            b"Content-Transfer-Encoding: 8bit"]
    text = f"<html><body><p>{body}</p></body></html>" if html else body
    mail = b"\n".join(head) + b"\n\n" + text.encode() + b"\n"
    return mail.replace(b"\n", b"\r\n") if crlf else mail


@st.composite
def damaged_trace(draw: st.DrawFn) -> list[bytes]:
    chosen = draw(st.lists(st.sampled_from(LONG_HEADERS), min_size=1, max_size=5))
    return [draw(wrapped(h)) for h in chosen]


@settings(max_examples=150, deadline=None)
@given(damaged_trace(), PHRASE, NAME, PHRASE, st.booleans(), st.booleans(),
       st.none() | st.sampled_from(BANNERS))
def test_headers_below_broken_folding_are_headers(trace: list[bytes], subject: str, name: str,
                                                  body: str, html: bool, crlf: bool,
                                                  banner: bytes | None) -> None:
    raw = _mail(trace, subject, name, body, html=html, banner=banner, crlf=crlf)
    mail = parse_mail(raw)
    assert mail.subject == subject
    assert mail.from_address == "jan@example.cz"
    assert mail.from_name == name
    assert mail.message_id == "<abc.1@example.cz>"
    assert mail.content_type == ("text/html" if html else "text/plain")
    assert body in mail.body_text
    assert "Subject:" not in mail.body_text
    unbannered = _mail(trace, subject, name, body, html=html, crlf=crlf)
    if email.message_from_bytes(unbannered)["Message-ID"] is None:  # the stdlib loses it
        assert "broken header folding repaired" in mail.defects
    received = [v for k, v in mail.headers if k.lower().startswith(("received", "x-", "dkim",
                                                                    "arc"))]
    assert len(received) == len(trace)


@settings(max_examples=100, deadline=None)
@given(st.lists(PHRASE, min_size=1, max_size=8), st.booleans())
def test_a_missing_blank_line_before_the_body_keeps_the_body(lines: list[str],
                                                              quoted: bool) -> None:
    body = [line for line in lines if ":" not in line]
    if quoted:  # a quoted message below the first body line: its headers stay body text
        body += ["From: Eva <eva@example.cz>", "Subject: earlier", "Date: yesterday"]
    raw = (b"From: Jan <jan@example.cz>\nSubject: Dotaz\nContent-Type: text/plain\n"
           + "\n".join(["Dobry den,", *body]).encode() + b"\n")
    mail = parse_mail(raw)
    assert mail.subject == "Dotaz"
    assert mail.from_name == "Jan"
    assert mail.body_text.startswith("Dobry den,")
    for line in body:
        assert line in mail.body_text
    assert "broken header folding repaired" not in mail.defects


@pytest.mark.parametrize("banner", BANNERS)
def test_a_banner_line_before_the_headers_is_dropped(banner: bytes) -> None:
    mail = parse_mail(_mail([], "Reklamace", "Jan Novák", "Dobrý den", html=False,
                            banner=banner))
    assert (mail.subject, mail.from_name, mail.body_text) == ("Reklamace", "Jan Novák",
                                                              "Dobrý den")


def test_received_split_over_lines_keeps_every_header() -> None:
    raw = (b"Received: from mx1.example.net (mx1.example.net [192.0.2.1])\n"
           b"by mail.shop.example (Postfix) with ESMTPS id 4F2A1\n"
           b"for <support@shop.example>; Mon, 30 Nov 2026 10:00:00 +0100\n"
           b"From: =?utf-8?q?Jan_Nov=C3=A1k?= <jan@example.cz>\n"
           b"Subject: =?utf-8?q?Reklamace_=C4=8D=2E_5?=\n"
           b"Content-Type: text/plain; charset=utf-8\n\nDobry den\n")
    mail = parse_mail(raw)
    assert (mail.subject, mail.from_name, mail.body_text) == ("Reklamace č. 5", "Jan Novák",
                                                              "Dobry den")
    assert dict(mail.headers)["Received"].endswith("+0100")
    assert "broken header folding repaired" in mail.defects


def test_a_second_subject_after_broken_lines_is_body_text() -> None:
    raw = (b"From: jan@example.cz\nSubject: Hi\nHello there,\n"
           b"From: someone <a@b.example>\nSubject: old\ntext\n")
    mail = parse_mail(raw)
    assert mail.subject == "Hi"
    assert mail.body_text.startswith("Hello there,\nFrom: someone")


def test_header_like_words_in_a_wrapped_value_join_the_value() -> None:
    raw = (b"X-Spam-Status: No, score=-1.9 required=5.0\n"
           b"tests=BAYES_00:1,HTML_MESSAGE autolearn=ham\n"
           b"https://tracking.example/t?id=1\n"
           b"Subject: Objednavka\nFrom: eva@example.cz\n\nText\n")
    mail = parse_mail(raw)
    assert (mail.subject, mail.from_address, mail.body_text) == ("Objednavka",
                                                                 "eva@example.cz", "Text")
    status = dict(mail.headers)["X-Spam-Status"]
    assert "tests=BAYES_00:1" in status
    assert "https://tracking.example" in status
