"""Real-client shapes stored under tests/mail/corpus/: decoded values checked field by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk_core.mail import Address, ParsedMail, parse_mail

CORPUS = Path(__file__).parent / "corpus"


def load(name: str) -> tuple[bytes, ParsedMail]:
    data = (CORPUS / name).read_bytes()
    return data, parse_mail(data)


def test_outlook_german_reply_quoted_printable_latin1() -> None:
    raw, mail = load("outlook_de_reply.eml")
    assert mail.raw == raw
    assert mail.from_address == "hans.mueller@firma.de"
    assert mail.from_name == "Müller, Hans"
    assert mail.to == (Address("support@shop.example", "Support"),)
    assert mail.subject == "AW: [HD-2026-000042] Lieferung verspätet"
    assert mail.message_id == "<AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.outlook.com>"
    assert mail.in_reply_to == "<hd-42-1@shop.example>"
    assert mail.references == ("<hd-42-0@shop.example>", "<hd-42-1@shop.example>")
    assert mail.date == datetime(2026, 11, 24, 8, 15, 2, tzinfo=UTC)
    assert mail.content_type == "text/html"
    assert "Bitte prüfen Sie das." in mail.body_text
    assert "Gesendet: Montag" in mail.body_text
    assert mail.new_text.startswith("Hallo zusammen,")
    assert "Bitte prüfen Sie das." in mail.new_text
    assert "Gesendet" not in mail.new_text
    assert "kümmern" not in mail.new_text
    assert mail.body_html is not None
    assert "<script" not in mail.body_html
    assert "alert" not in mail.body_html
    assert "onclick" not in mail.body_html
    assert "javascript:" not in mail.body_html
    assert "tracker.example" not in mail.body_html
    assert mail.html_original is not None
    assert "tracker.example" in mail.html_original
    assert mail.header("Thread-Topic") == "Lieferung verspaetet"
    assert mail.attachments == ()
    assert mail.quarantine_reason is None


def test_thunderbird_czech_rfc2231_filename_and_mbox_line() -> None:
    _raw, mail = load("thunderbird_cs_attachment.eml")
    assert mail.from_name == "Petr Řehnáček"
    assert mail.subject == "Reklamace zboží"
    assert "Žluťoučký kůň úpěl ďábelské ódy." in mail.body_text
    assert "Petr Řehnáček" in mail.body_text
    assert "multi-part message" not in mail.body_text  # the MIME preamble is not body
    assert "Řehnáček" not in mail.new_text  # signature after "-- " removed
    assert "mbox From line removed" in mail.defects
    assert mail.header("X-Mozilla-Status") == "0001"
    (photo,) = mail.attachments
    assert photo.filename == "fotka poškozeného zboží.jpg"
    assert photo.content_type == "image/jpeg"
    assert photo.data.startswith(b"\xff\xd8")
    assert photo.size == len(photo.data)
    assert not photo.inline


def test_apple_mail_slovak_related_inline_image() -> None:
    _raw, mail = load("apple_sk_inline_image.eml")
    assert mail.from_name == "Jana Kováčová"
    assert mail.subject == "Otázka k objednávke"
    assert mail.content_type == "text/html"
    assert "kedy príde moja objednávka?" in mail.body_text
    assert "napísal(a)" in mail.body_text
    assert "napísal" not in mail.new_text
    assert "odoslaná" not in mail.new_text
    assert "kedy príde moja objednávka?" in mail.new_text
    assert mail.body_html is not None
    assert 'src="cid:logo@example.sk"' in mail.body_html
    assert "remote.example" not in mail.body_html
    (logo,) = mail.attachments
    assert logo.filename == "logo.png"
    assert logo.content_id == "logo@example.sk"
    assert logo.inline


def test_gmail_forward_duplicate_names_and_eml() -> None:
    _raw, mail = load("gmail_forward.eml")
    assert mail.message_id == "<CAF=abc+def@mail.gmail.com>"
    assert mail.date == datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    assert mail.new_text == "See below, the invoice is wrong."
    assert "Your invoice is attached." in mail.body_text
    names = [a.filename for a in mail.attachments]
    assert names == ["invoice.pdf", "invoice (2).pdf", "Invoice 2026-17.eml"]
    pdf1, pdf2, eml = mail.attachments
    assert pdf1.data.startswith(b"%PDF")
    assert pdf2.data.endswith(b"%second\n")
    assert eml.content_type == "message/rfc822"
    assert b"Message-ID: <inv-17@vendor.example>" in eml.data
    assert b"Original invoice mail." in eml.data


def test_bounce_keeps_report_parts() -> None:
    _raw, mail = load("bounce_report.eml")
    assert mail.from_address == "MAILER-DAEMON@mx.shop.example"
    assert mail.header("Auto-Submitted") == "auto-replied"
    assert mail.header("Return-Path") == "<>"
    assert "could not\nbe delivered" in mail.body_text
    kinds = {a.content_type: a for a in mail.attachments}
    assert set(kinds) == {"message/delivery-status", "text/rfc822-headers"}
    assert b"Status: 5.1.1" in kinds["message/delivery-status"].data
    assert b"<hd-7-3@shop.example>" in kinds["text/rfc822-headers"].data
    assert kinds["message/delivery-status"].filename == "delivery-status.txt"


def test_smime_signed_windows1250_body_and_signature_attachment() -> None:
    _raw, mail = load("smime_signed.eml")
    assert mail.body_text == "Dobrý deň, posielame výpis. Ďakujeme."
    (sig,) = mail.attachments
    assert sig.filename == "smime.p7s"
    assert sig.content_type == "application/pkcs7-signature"


def test_smime_encrypted_whole_body_is_an_attachment() -> None:
    _raw, mail = load("smime_encrypted.eml")
    assert mail.body_text == ""
    assert mail.new_text == ""
    (env,) = mail.attachments
    assert env.filename == "smime.p7m"
    assert env.data.startswith(b"0\x80")
    assert mail.date is None


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
def test_every_corpus_mail_parses_cleanly(path: Path) -> None:
    """Clean unless the sidecar says the mail is meant to be quarantined or has no id."""
    data = path.read_bytes()
    mail = parse_mail(data)
    assert mail.raw == data
    sidecar = path.with_suffix(".expected.json")
    expected = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
    if not expected.get("quarantined", False):
        assert mail.quarantine_reason is None
    assert mail.from_address
    if expected.get("message_id", "") is not None:
        assert mail.message_id
        assert mail.message_id.startswith("<")
