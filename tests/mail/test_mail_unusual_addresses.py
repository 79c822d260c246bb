"""Addresses that are legal but unusual (real-world mail, class 3): quoted local parts,
display names with commas, quotes or an @, a mail system's mailbox without a domain. The
author is the parsed addr-spec, never display text; the name is the display name."""

from __future__ import annotations

import pytest

from helpdesk_core.mail import parse_mail


def mail(from_: str, *, to: str = "support@shop.example") -> bytes:
    return (f"From: {from_}\r\nTo: {to}\r\nSubject: Dotaz k objednávce\r\n"
            "Message-ID: <u-1@mail.example.org>\r\nDate: Mon, 2 Mar 2026 08:30:00 +0100\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Dobrý den, kdy dorazí zboží?\r\n").encode()


# (From, author, name); author None: nobody can be sure, the mail is held
CASES = [
    ('"john smith"@example.com', '"john smith"@example.com', ""),
    ('"power quadrant system"@example.com', '"power quadrant system"@example.com', ""),
    ('<"john smith"@example.com>', '"john smith"@example.com', ""),
    ('John Smith <"john smith"@example.com>', '"john smith"@example.com', "John Smith"),
    ('"John Smith" <"john smith"@example.com>', '"john smith"@example.com', "John Smith"),
    ('"John Smith" <"john.smith"@example.com>', "john.smith@example.com", "John Smith"),
    ('Jana Nováková <"jana novakova"@example.cz>', '"jana novakova"@example.cz',
     "Jana Nováková"),
    ('"Smith, John" <john@example.com>', "john@example.com", "Smith, John"),
    ('"Smith, John \\"JS\\"" <john@example.com>', "john@example.com", 'Smith, John "JS"'),
    ("'Müller, Hans' <hans@firma.de>", "hans@firma.de", "Müller, Hans"),
    ('"Nováková, Jana (Eshop)" <jana@example.cz>', "jana@example.cz", "Nováková, Jana (Eshop)"),
    ('"O\'Brien, Pat" <pat@example.ie>', "pat@example.ie", "O'Brien, Pat"),
    ('"info@firma.de via Portal" <noreply@portal.example>', "noreply@portal.example",
     "info@firma.de via Portal"),
    ('"Jana@Home" <jana@example.cz>', "jana@example.cz", "Jana@Home"),
    ('"jana@example.cz" <jana@example.cz>', "jana@example.cz", ""),
    ('"Support @ Firma" <support@firma.de>', "support@firma.de", "Support @ Firma"),
    ('"alice@example.org" <mallory@evil.example>', "mallory@evil.example",
     "alice@example.org"),
    ("MAILER-DAEMON@mx.example.org (Mail Delivery System)", "MAILER-DAEMON@mx.example.org",
     "Mail Delivery System"),
    ("alice@example.org <mallory@evil.example>", None, None),  # unquoted: two readings
    ('"Alice <alice@example.org>" <mallory@evil.example>', None, None),  # imitates a mailbox
]


@pytest.mark.parametrize(("from_", "author", "name"), CASES)
def test_the_author_is_the_parsed_address_and_the_name_the_display_name(
        from_: str, author: str | None, name: str | None) -> None:
    parsed = parse_mail(mail(from_))
    assert parsed.author == author
    if author is not None:
        assert parsed.from_address == author
        assert parsed.from_name == name
    assert parsed.subject == "Dotaz k objednávce"
    assert parsed.body_text.strip() == "Dobrý den, kdy dorazí zboží?"


@pytest.mark.parametrize(("from_", "name"), [
    ("MAILER-DAEMON", ""),
    ("mailer-daemon", ""),
    ("Mail Delivery System <MAILER-DAEMON>", "Mail Delivery System"),
    ("MAILER-DAEMON (Mail Delivery System)", ""),
    ("postmaster", ""),
    ('"Mail Delivery Subsystem" <postmaster>', "Mail Delivery Subsystem"),
])
def test_a_mail_systems_mailbox_without_a_domain_is_reported_and_never_an_author(
        from_: str, name: str) -> None:
    parsed = parse_mail(mail(from_))
    assert (parsed.from_address or "").lower() in {"mailer-daemon", "postmaster"}
    assert parsed.from_name == name
    assert parsed.author is None
    assert parsed.sender_problem


def test_a_quoted_local_part_in_to_and_cc_is_kept() -> None:
    parsed = parse_mail(mail("jana@example.cz", to='"john smith"@example.com, eva@shop.example'))
    assert "eva@shop.example" in [a.address for a in parsed.to]
