"""Auto-response suppression (RFC 3834 and practice), bounces and subject ticket numbers."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.mail import ParsedMail, parse_mail
from helpdesk_core.mail.loops import (
    AutoResponse,
    Bounce,
    auto_response,
    bounce_info,
    ticket_numbers,
)

BASE = (
    "From: Jana Nováková <jana@customer.example>\r\n"
    "To: support@shop.example\r\n"
    "Subject: Order 1234 arrived broken\r\n"
    "Message-ID: <abc123@customer.example>\r\n"
    "Date: Tue, 24 Nov 2026 08:00:00 +0000\r\n"
)


def mail(extra: str = "", *, base: str = BASE,
         body: str = "Hello, the box was crushed.\r\n") -> ParsedMail:
    return parse_mail((base + extra + "\r\n" + body).encode("utf-8"))


def test_ordinary_customer_mail_is_answered() -> None:
    assert auto_response(mail(), own_addresses=["support@shop.example"],
                         own_message_id_domains=["shop.example"]) == AutoResponse(False, None)
    assert bounce_info(mail()) == Bounce(False, None)


def test_auto_submitted_no_is_answered() -> None:
    assert not auto_response(mail("Auto-Submitted: no\r\n")).suppress


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("Auto-Submitted: auto-replied\r\n", "auto-submitted: auto-replied"),
        ("Auto-Submitted: auto-generated\r\n", "auto-submitted: auto-generated"),
        ("Auto-Submitted: Auto-Notified; owner-email=x@y.example\r\n",
         "auto-submitted: auto-notified"),
        ("Return-Path: <>\r\n", "return-path: null"),
        ("Precedence: bulk\r\n", "precedence: bulk"),
        ("Precedence: JUNK\r\n", "precedence: junk"),
        ("Precedence: list\r\n", "precedence: list"),
        ("List-Id: Announcements <announce.lists.example>\r\n", "list-id"),
        ("List-Unsubscribe: <mailto:leave@lists.example>\r\n", "list-unsubscribe"),
        ("X-Auto-Response-Suppress: All\r\n", "x-auto-response-suppress: all"),
        ("X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\r\n",
         "x-auto-response-suppress: dr"),
        ("X-Auto-Response-Suppress: OOF\r\n", "x-auto-response-suppress: oof"),
        ("X-Helpdesk-Loop: shop.example\r\n", "loop-header"),
        ("X-Autoreply: yes\r\n", "x-autoreply"),
        ("X-Autorespond: Thank you for your mail\r\n", "x-autorespond"),
    ],
)
def test_each_header_rule_suppresses(extra: str, reason: str) -> None:
    assert auto_response(mail(extra)) == AutoResponse(True, reason)


def test_precedence_first_class_is_answered() -> None:
    assert not auto_response(mail("Precedence: first-class\r\n")).suppress


def test_unknown_x_auto_response_suppress_value_is_answered() -> None:
    assert not auto_response(mail("X-Auto-Response-Suppress: None\r\n")).suppress


@pytest.mark.parametrize(
    ("sender", "local"),
    [
        ("MAILER-DAEMON@mx.example", "mailer-daemon"),
        ("mailer_daemon@mx.example", "mailer_daemon"),
        ("postmaster@mx.example", "postmaster"),
        ("noreply@shop.example", "noreply"),
        ("No-Reply@shop.example", "no-reply"),
        ("no_reply@shop.example", "no_reply"),
        ("do-not-reply@bank.example", "do-not-reply"),
        ("DoNotReply@bank.example", "donotreply"),
        ("noreply-billing@bank.example", "noreply-billing"),
        ("shop.noreply@bank.example", "shop.noreply"),
    ],
)
def test_robot_senders_are_not_answered(sender: str, local: str) -> None:
    base = BASE.replace("Jana Nováková <jana@customer.example>", sender)
    assert auto_response(mail(base=base)) == AutoResponse(True, f"robot-sender: {local}")


@pytest.mark.parametrize("sender", ["reply@x.example", "noreplyjana@x.example",
                                    "postmasters-guild@x.example", "jana.daemon@x.example"])
def test_people_with_similar_names_are_answered(sender: str) -> None:
    base = BASE.replace("Jana Nováková <jana@customer.example>", sender)
    assert not auto_response(mail(base=base)).suppress


def test_own_address_is_not_answered() -> None:
    base = BASE.replace("Jana Nováková <jana@customer.example>", "Support <Support@Shop.example>")
    result = auto_response(mail(base=base), own_addresses=["support@shop.example"])
    assert result == AutoResponse(True, "own-address")


def test_own_message_id_domain_is_not_answered() -> None:
    base = BASE.replace("<abc123@customer.example>", "<hd-7-3@Shop.Example>")
    result = auto_response(mail(base=base), own_message_id_domains=["shop.example"])
    assert result == AutoResponse(True, "own-message-id")
    assert not auto_response(mail(base=base), own_message_id_domains=["other.example"]).suppress


def test_custom_loop_header() -> None:
    extra = "X-Acme-Loop: yes\r\n"
    assert not auto_response(mail(extra)).suppress
    assert auto_response(mail(extra), loop_header="x-acme-loop") == AutoResponse(True,
                                                                                 "loop-header")


REPORT_HEAD = (
    "From: Mail Delivery Subsystem <bounces@relay.example>\r\n"
    "To: support@shop.example\r\n"
    "Subject: Delivery Status Notification (Failure)\r\n"
    "Message-ID: <dsn-1@relay.example>\r\n"
    "MIME-Version: 1.0\r\n"
)

DSN_RFC822 = REPORT_HEAD.replace("bounces@relay.example", "dsn@relay.example") + (
    'Content-Type: multipart/report; report-type="delivery-status"; boundary="XX"\r\n'
    "\r\n"
    "--XX\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
    "--XX\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; relay.example\r\n\r\n"
    "Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "--XX\r\nContent-Type: message/rfc822\r\n\r\n"
    "From: support@shop.example\r\nTo: gone@customer.example\r\n"
    "Subject: [HD-2026-000009] Re: Order\r\nMessage-ID: <hd-9-2@shop.example>\r\n\r\n"
    "Your parcel is on its way.\r\n"
    "--XX--\r\n"
)

DSN_HEADERS = REPORT_HEAD.replace("bounces@relay.example", "dsn@relay.example") + (
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"YY\"\r\n"
    "\r\n"
    "--YY\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
    "--YY\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; relay.example\r\n\r\n"
    "Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\n"
    "--YY\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    "From: support@shop.example\r\nMessage-ID: <hd-9-3@shop.example>\r\n"
    "Subject: [HD-2026-000009] Re: Order\r\n"
    "--YY--\r\n"
)

EXCHANGE_NDR = (
    "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@firma.example>\r\n"
    "To: support@shop.example\r\n"
    "Subject: Unzustellbar: [HD-2026-000010] Ihre Anfrage\r\n"
    "Message-ID: <ndr-5@firma.example>\r\n"
    "X-MS-Exchange-Message-Is-Ndr: \r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="ZZ"\r\n'
    "\r\n"
    "--ZZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Ihre Nachricht konnte nicht zugestellt werden.\r\n"
    "--ZZ\r\nContent-Type: message/rfc822\r\n\r\n"
    "From: support@shop.example\r\nTo: hans@firma.example\r\n"
    "Subject: [HD-2026-000010] Ihre Anfrage\r\nMessage-ID: <hd-10-1@shop.example>\r\n\r\n"
    "Hallo Hans\r\n"
    "--ZZ--\r\n"
)

NON_STANDARD_DAEMON = (
    "From: MAILER-DAEMON@old-mx.example\r\n"
    "To: support@shop.example\r\n"
    "Subject: failure notice\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="QQ"\r\n'
    "\r\n"
    "--QQ\r\nContent-Type: text/plain\r\n\r\nSorry, no mailbox here by that name.\r\n"
    "--QQ\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    "From: support@shop.example\r\nMessage-ID: <hd-11-1@shop.example>\r\n"
    "--QQ--\r\n"
)


@pytest.mark.parametrize(
    ("raw", "original"),
    [
        (DSN_RFC822, "<hd-9-2@shop.example>"),
        (DSN_HEADERS, "<hd-9-3@shop.example>"),
        (EXCHANGE_NDR, "<hd-10-1@shop.example>"),
        (NON_STANDARD_DAEMON, "<hd-11-1@shop.example>"),
    ],
)
def test_bounces_and_their_original_message(raw: str, original: str) -> None:
    parsed = parse_mail(raw.encode("utf-8"))
    assert bounce_info(parsed) == Bounce(True, original)
    assert auto_response(parsed).suppress


def test_standard_dsn_without_other_signs_is_suppressed_as_bounce() -> None:
    assert auto_response(parse_mail(DSN_RFC822.encode())) == AutoResponse(True, "bounce")


def test_original_message_id_field() -> None:
    raw = REPORT_HEAD.replace("bounces@relay.example", "dsn@relay.example") + (
        'Content-Type: multipart/report; report-type=delivery-status; boundary="OO"\r\n\r\n'
        "--OO\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n"
        "--OO\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example\r\n"
        "Original-Message-ID: <hd-12-1@shop.example>\r\n\r\n"
        "Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\n"
        "--OO--\r\n"
    )
    assert bounce_info(parse_mail(raw.encode())) == Bounce(True, "<hd-12-1@shop.example>")
    header_only = mail("X-Failed-Recipients: gone@customer.example\r\n"
                       "X-Original-Message-ID: <hd-13-1@shop.example>\r\n")
    assert bounce_info(header_only) == Bounce(True, "<hd-13-1@shop.example>")


def test_forwarded_mail_from_a_person_is_not_a_bounce() -> None:
    raw = EXCHANGE_NDR.replace("X-MS-Exchange-Message-Is-Ndr: \r\n", "").replace(
        "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@firma.example>",
        "Hans <hans@firma.example>")
    assert bounce_info(parse_mail(raw.encode())) == Bounce(False, None)


def test_bounce_in_corpus() -> None:
    from pathlib import Path

    data = (Path(__file__).parent / "corpus" / "bounce_report.eml").read_bytes()
    assert bounce_info(parse_mail(data)) == Bounce(True, "<hd-7-3@shop.example>")


FMT = TicketNumberFormat()


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [HD-2026-000042] Lieferung", ("HD-2026-000042",)),
        ("AW: WG: Fwd: SV: Odp: Re[3]: [ext-123] [HD-2026-000042]", ("HD-2026-000042",)),
        ("Re:[hd-2026-000042]", ("HD-2026-000042",)),
        ("HD-2026-000042 and HD-2026-000043, again HD-2026-000042",
         ("HD-2026-000042", "HD-2026-000043")),
        ("[XHD-2026-000042] not ours", ()),
        ("[1HD-2026-000042] not ours", ()),
        ("[OTHER-HD-2026-000042] a foreign tag ending in ours", ()),
        ("[Ticket#2026112410000012] foreign", ()),
        ("nothing here", ()),
    ],
)
def test_ticket_numbers_examples(subject: str, expected: tuple[str, ...]) -> None:
    assert ticket_numbers(subject, FMT) == expected


def test_ticket_numbers_other_format() -> None:
    fmt = TicketNumberFormat(prefix="T-", pattern="{prefix}{seq}")
    assert ticket_numbers("Re: [t-42] and T-7", fmt) == ("T-42", "T-7")
    assert ticket_numbers("T-42x", fmt) == ("T-42",)


_MARKERS = st.sampled_from(["Re: ", "RE: ", "AW: ", "WG: ", "Fwd: ", "FW: ", "SV: ", "Odp: ",
                            "Re[3]: ", "Re:", "[ext-123] ", "[#4711] ", "(Ticket 99) ", ""])
_SEQ = st.integers(min_value=1, max_value=9_999_999)
_YEAR = st.integers(min_value=2000, max_value=2099)
_TAIL = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=20)


@given(st.lists(_MARKERS, max_size=6), _SEQ, _YEAR, st.booleans(), _TAIL)
def test_rendered_number_is_found_behind_any_markers(
    markers: list[str], seq: int, year: int, bracket: bool, tail: str
) -> None:
    number = FMT.render(seq=seq, created_at=datetime(year, 1, 1))
    tag = f"[{number}]" if bracket else number
    subject = "".join(markers) + tag + " " + tail
    assert ticket_numbers(subject, FMT)[0] == number
    assert ticket_numbers(subject.lower(), FMT)[0] == number


@given(st.lists(_MARKERS, max_size=4), _SEQ, _YEAR, st.integers(min_value=0, max_value=999))
def test_number_followed_by_more_digits_is_not_found(
    markers: list[str], seq: int, year: int, more: int
) -> None:
    number = FMT.render(seq=seq, created_at=datetime(year, 1, 1))
    subject = "".join(markers) + number + str(more) + " text"
    assert number not in ticket_numbers(subject, FMT)


def test_robot_in_sender_header_with_display_name() -> None:
    result = auto_response(mail("Sender: Newsletter Robot <noreply@mailer.example>\r\n"))
    assert result == AutoResponse(True, "robot-sender: noreply")


def test_precedence_with_comment() -> None:
    assert auto_response(mail("Precedence: bulk (newsletter)\r\n")) == AutoResponse(
        True, "precedence: bulk")


def test_x_autoreply_no_is_answered() -> None:
    assert not auto_response(mail("X-Autoreply: no\r\n")).suppress


@given(_SEQ, _YEAR, st.sampled_from(["1", "9", "X", "x", "_", "-", "ABC-"]))
def test_number_glued_to_a_word_or_number_before_is_not_found(
    seq: int, year: int, before: str
) -> None:
    number = FMT.render(seq=seq, created_at=datetime(year, 1, 1))
    assert ticket_numbers(f"Re: [{before}{number}] text", FMT) == ()
