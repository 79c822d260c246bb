"""Who wrote a mail: the one address a strict reading of its one From header yields.

A table of real and hostile From headers, and properties: an address hidden anywhere else in
the header (display name, comment, quoted string, encoded word, full-width characters) is
never attributed, and an ordinary display name never costs the sender the identity.
"""

from __future__ import annotations

import base64
import unicodedata
from email.headerregistry import Address as StdAddress
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from helpdesk_core.mail import parse_mail
from helpdesk_core.mail.identity import MAX_FROM, own_mail, sender_identity

ALICE = "alice@example.org"
MALLORY = "mallory@evil.example"

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def q_word(text: str, charset: str = "utf-8") -> str:
    data = text.encode(charset)
    encoded = "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in data)
    return f"=?{charset}?q?{encoded}?="


def b_word(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset)).decode()}?="


def raw(*froms: str, extra: str = "") -> bytes:
    head = "".join(f"From: {value}\r\n" for value in froms)
    return (f"{head}{extra}To: support@shop.example\r\nSubject: Dotaz\r\n"
            "Message-ID: <id-1@mail.example.org>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nText\r\n").encode()


# -- the table -------------------------------------------------------------------------------

# (From header, the author or None, a fragment of the problem when there is none)
ACCEPTED = [
    (ALICE, ALICE),
    (f"<{ALICE}>", ALICE),
    (f"Alice <{ALICE}>", ALICE),
    (f"Alice<{ALICE}>", ALICE),
    (f'"Alice Example" <{ALICE}>', ALICE),
    (f'"Example, Alice" <{ALICE}>', ALICE),
    (f"'Example, Alice' <{ALICE}>", ALICE),  # Outlook's single quotes
    (f"Alice Example {ALICE}", ALICE),  # an old client's unquoted name before the address
    (f"{ALICE} (Alice Example)", ALICE),
    (f'"{ALICE}" <{ALICE}>', ALICE),  # the same address as the name is no doubt
    (f'"ALICE@EXAMPLE.ORG" <{ALICE}>', ALICE),
    (f"'{ALICE}' <{ALICE}>", ALICE),
    (f"J. R. Example <{ALICE}>", ALICE),  # an obsolete period in the phrase
    (f"Jiří Novák <{ALICE}>", ALICE),  # raw UTF-8 display name (RFC 6532)
    (f"{b_word('Jiří Novák')} <{ALICE}>", ALICE),
    (f"{q_word('Müller, Hans', 'iso-8859-1')} <{ALICE}>", ALICE),
    (f'"{b_word("王经理", "gb2312")}" <{ALICE}>', ALICE),  # an encoded word in quotes
    (f"=?UTF-8?Q?Online Shop M=C3=BCller?= <{ALICE}>", ALICE),  # blanks in an encoded word
    ("MAILER-DAEMON@mx.example.org (Mail Delivery System)", "MAILER-DAEMON@mx.example.org"),
    ("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "mailer-daemon@googlemail.com"),
    (f"Alice\r\n <{ALICE}>", ALICE),  # folded
    (f"  Alice   <{ALICE}>  ", ALICE),
    # a quoted local part is an address like any other
    ('"John Doe"@example.org', '"John Doe"@example.org'),
    ('"power quadrant system"@example.com', '"power quadrant system"@example.com'),
    ('John <"john smith"@example.com>', '"john smith"@example.com'),
    ('"John Smith" <"john.smith"@example.com>', "john.smith@example.com"),
    # a quoted display name is only a name, whatever address it spells: the author is the
    # address in brackets, never the text
    (f'"{ALICE}" <{MALLORY}>', MALLORY),
    (f"'{ALICE}' <{MALLORY}>", MALLORY),
    (f'"Alice \\"{ALICE}\\"" <{MALLORY}>', MALLORY),
    (f'"alice\ufe6bexample.org" <{MALLORY}>', MALLORY),  # small at sign
    (f'"\uff41lice@example.org" <{MALLORY}>', MALLORY),  # full-width a
    ('"info@firma.de via Portal" <noreply@portal.example>', "noreply@portal.example"),
    ('"Jana@Home" <jana@example.cz>', "jana@example.cz"),
]

HELD = [
    # the reported ones: the display text or the wrong half taken as the sender
    (f"{ALICE})<{MALLORY}>", "more than one address"),
    (f"{ALICE} <{MALLORY}>", "more than one address"),
    (f"{ALICE}<{MALLORY}>", "more than one address"),
    (q_word(f"Alice <{ALICE}>"), f"{ALICE} only in its text"),
    (b_word(f"Alice <{ALICE}>"), f"{ALICE} only in its text"),
    # an address in the display name, a comment or an encoded word
    (f'"Alice <{ALICE}>" <{MALLORY}>', "more than one address"),
    (f'"Alice, <{ALICE}>" <{MALLORY}>', "more than one address"),  # imitates a mailbox
    (f"Alice ({ALICE}) <{MALLORY}>", "more than one address"),
    (f"<{MALLORY}> ({ALICE})", "more than one address"),
    (f"{MALLORY} (on behalf of {ALICE})", "more than one address"),
    (f"{q_word(f'Alice <{ALICE}>')} <{MALLORY}>", "more than one address"),
    (f"{b_word(f'Alice <{ALICE}>')} <{MALLORY}>", "more than one address"),
    (f"{q_word('alice')}{q_word('@example.org')} <{MALLORY}>", "more than one address"),
    (f"{q_word(ALICE, 'iso-8859-2')} <{MALLORY}>", "more than one address"),
    (f"alice\uff20example.org <{MALLORY}>", "more than one address"),  # full-width at sign
    (f"Alice <{ALICE}> {MALLORY}", "more than one address"),
    (f"<{ALICE}> <{MALLORY}>", "more than one address"),
    (f"{ALICE} {MALLORY}", "more than one address"),
    # two mailboxes, a group, an empty or broken header
    (f"{ALICE}, {MALLORY}", "2 mailboxes in From"),
    (f"Alice <{ALICE}>, Mallory <{MALLORY}>", "2 mailboxes in From"),
    (f"{ALICE}; {MALLORY}", "From"),
    (f"Friends: {ALICE};", "a group in From"),
    ("undisclosed-recipients:;", "a group in From"),
    ("", "an empty From header"),
    ("   ", "an empty From header"),
    ("alice", "no valid address in From"),
    ("Alice <>", "no valid address in From"),
    ("<alice@>", "no valid address in From"),
    ("Alice <alice@exam\u200bple.org>", "no valid address in From"),
    # an @ no pattern would take for an address is still another address to some reader
    (f"{ALICE} <mallory@[192.0.2.1]>", "malformed From"),
    (f'{ALICE} <"mal lory"@evil.example>', "malformed From"),
    (f"{ALICE} <mallory@localhost>", "malformed From"),
    (f"Alice <@relay.evil.example:{ALICE}>", "an @ in From outside its address"),
    (f"Jana@Home <{ALICE}>", "From"),
    # malformed, even when only one address can be seen
    (f"{ALICE} <{ALICE}>", "malformed From"),
    (f"Alice <{ALICE}>>", "malformed From"),
    (f"Alice <{ALICE}", "malformed From"),
    (f"Alice <{ALICE}>;", "malformed From"),
    (f"<<{ALICE}>>", "From"),
    ("x" * MAX_FROM + f" <{ALICE}>", "longer than"),
    ("(" * 400 + ALICE, "From"),
]


@pytest.mark.parametrize(("value", "address"), ACCEPTED)
def test_a_from_that_names_one_address_for_sure_is_its_author(value: str, address: str) -> None:
    identity = sender_identity([value])
    assert (identity.address, identity.problem) == (address, None)
    mail = parse_mail(raw(value))
    assert mail.sender_problem is None
    assert mail.author == address
    assert mail.from_address == address


@pytest.mark.parametrize(("value", "problem"), HELD)
def test_a_from_that_could_mean_someone_else_has_no_author(value: str, problem: str) -> None:
    identity = sender_identity([value])
    assert identity.address is None
    assert identity.problem is not None
    assert problem in identity.problem
    mail = parse_mail(raw(value))
    assert mail.author is None
    assert mail.sender_problem == identity.problem


@pytest.mark.parametrize(("froms", "problem"), [
    ((), "no From header"),
    ((ALICE, ALICE), "2 From headers"),
    ((f"Alice <{ALICE}>", f"Mallory <{MALLORY}>"), "2 From headers"),
    ((ALICE, MALLORY, ALICE), "3 From headers"),
])
def test_exactly_one_from_header(froms: tuple[str, ...], problem: str) -> None:
    assert sender_identity(list(froms)).problem == problem
    assert parse_mail(raw(*froms)).sender_problem == problem


@pytest.mark.parametrize("extra", [
    f"Sender: {ALICE}\r\n",
    f"Reply-To: Alice <{ALICE}>\r\n",
    f"Return-Path: <{ALICE}>\r\n",
    f"Sender: {ALICE}\r\nReply-To: {ALICE}\r\nReturn-Path: <{ALICE}>\r\n",
])
def test_sender_reply_to_and_return_path_never_stand_in_for_from(extra: str) -> None:
    no_from = parse_mail(raw(extra=extra))
    assert no_from.author is None
    assert no_from.sender_problem == "no From header"
    assert no_from.from_address == ALICE  # the lenient reading, for showing only
    broken = parse_mail(raw(f"{q_word(f'Alice <{ALICE}>')}", extra=extra))
    assert broken.author is None
    two = parse_mail(raw(f"{ALICE}, {MALLORY}", extra=extra))
    assert two.author is None  # a Sender does not pick one of two authors


@pytest.mark.parametrize("extra", [
    f"Sender: {MALLORY}\r\n",
    f"Reply-To: {MALLORY}\r\n",
    f"Sender: Secretary <{MALLORY}>\r\nReply-To: {MALLORY}\r\n",
])
def test_a_clear_from_is_the_author_whatever_sender_and_reply_to_say(extra: str) -> None:
    mail = parse_mail(raw(f"Alice <{ALICE}>", extra=extra))
    assert mail.author == ALICE


# -- properties ------------------------------------------------------------------------------

# Ways to write Alice's address in the text around Mallory's.
SPELLINGS = st.sampled_from([
    lambda: ALICE,
    lambda: ALICE.upper(),
    lambda: f"<{ALICE}>",
    lambda: f'"{ALICE}"',
    lambda: f"({ALICE})",
    lambda: "alice\uff20example.org",
    lambda: "alice\ufe6bexample.org",
    lambda: "\uff41\uff4c\uff49\uff43\uff45@example.org",
    lambda: q_word(ALICE),
    lambda: b_word(ALICE),
    lambda: q_word(f"Alice <{ALICE}>"),
    lambda: b_word(f"Alice <{ALICE}>", "utf-16"),
    lambda: q_word(ALICE, "iso-8859-2"),
    lambda: q_word("alice") + " " + q_word("@example.org"),
    lambda: b_word("alice@") + b_word("example.org"),
]).map(lambda make: make())
NAME_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="@"),
                    max_size=12)
FORMS = st.sampled_from([
    "{a} <{m}>", "{a}<{m}>", "{a})<{m}>", '"{a}" <{m}>', "{b} {a} {c} <{m}>",
    '"{b} {a} {c}" <{m}>', "{b} ({a}) <{m}>", "<{m}> ({a})", "{m} ({b} {a})", "{a} {m}",
    "<{m}> {a}", "{b} <{m}> {a}", "{a}, {m}", "{m}, {a}", "{a} <{m}>>", "{b}: {a} <{m}>;",
])


@FAST
@given(form=FORMS, alice=SPELLINGS, before=NAME_TEXT, after=NAME_TEXT)
@example(form="{a} <{m}>", alice=ALICE, before="", after="")
def test_an_address_hidden_beside_the_real_one_is_never_attributed(
        form: str, alice: str, before: str, after: str) -> None:
    value = form.format(a=alice, m=MALLORY, b=before, c=after)
    identity = sender_identity([value])
    mail = parse_mail(raw(value.replace("\r", " ").replace("\n", " ")))
    if identity.address is not None:  # only ever the address in brackets, beside a quoted name
        assert value.lstrip()[:1] in "\"'", (value, identity)
        assert identity.address == MALLORY
        assert mail.author == MALLORY
        return
    assert identity.problem
    assert mail.author is None


NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")),
                min_size=1, max_size=40).filter(
    lambda n: "@" not in unicodedata.normalize("NFKC", n) and "=?" not in n and n.strip())
LOCALS = st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z0-9]{1,8})?", fullmatch=True)


@FAST
@given(name=NAMES, local=LOCALS)
@example(name="Müller, Hans (Einkauf)", local="hans")
@example(name='Jana "Nová" <Shop>', local="jana")
def test_an_ordinary_display_name_keeps_the_author(name: str, local: str) -> None:
    """What a mail client writes for any name without an address in it: the author is the
    address (no false doubt)."""
    address = f"{local}@example.cz"
    msg = EmailMessage()
    msg["From"] = StdAddress(display_name=name, addr_spec=address)
    msg["Subject"] = "x"
    msg.set_content("x")
    mail = parse_mail(bytes(msg))
    assert mail.sender_problem is None, (name, mail.sender_problem)
    assert mail.author == address


@FAST
@given(st.text(max_size=200))
def test_any_from_header_is_read_without_raising(value: str) -> None:
    identity = sender_identity([value])
    assert (identity.address is None) == (identity.problem is not None)
    if identity.address is not None:
        assert "@" in identity.address


# -- our own mail ----------------------------------------------------------------------------

OURS = {"own_addresses": ["support@shop.example", "reklamace@shop.example"],
        "message_id_domain": "helpdesk.shop.example", "loop_header": "X-Helpdesk-Loop",
        "loop_token": "helpdesk-core"}


@pytest.mark.parametrize(("from_", "extra", "reason"), [
    ("support@shop.example", "", "sent from our address support@shop.example"),
    ("Podpora <SUPPORT@Shop.Example>", "", "sent from our address support@shop.example"),
    ("reklamace@shop.example", "", "sent from our address reklamace@shop.example"),
    (ALICE, "X-Helpdesk-Loop: helpdesk-core\r\n", "carries our X-Helpdesk-Loop"),
    (ALICE, "x-helpdesk-loop: HELPDESK-CORE; resent\r\n", "carries our X-Helpdesk-Loop"),
    (ALICE, "Message-ID: <abc@helpdesk.shop.example>\r\n", "a Message-ID in our domain"),
    (ALICE, "Message-ID: <abc@HELPDESK.shop.example.>\r\n", "a Message-ID in our domain"),
])
def test_our_own_mail_is_recognised(from_: str, extra: str, reason: str) -> None:
    data = raw(from_, extra=extra)
    if "Message-ID" in extra:
        data = data.replace(b"Message-ID: <id-1@mail.example.org>\r\n", b"")
    assert (own_mail(parse_mail(data), **OURS) or "").startswith(reason)  # type: ignore[arg-type]


@pytest.mark.parametrize(("from_", "extra"), [
    (ALICE, ""),
    (ALICE, "X-Helpdesk-Loop: another-desk\r\n"),
    (ALICE, "X-Other-Loop: helpdesk-core\r\n"),
    (ALICE, "In-Reply-To: <abc@helpdesk.shop.example>\r\n"),  # a reply to us is not ours
    (ALICE, "References: <abc@helpdesk.shop.example>\r\n"),
    ("support@shop.example.evil.example", ""),
    ('"support@shop.example" <support@shop.example>,x', ""),
])
def test_mail_that_is_not_ours(from_: str, extra: str) -> None:
    assert own_mail(parse_mail(raw(from_, extra=extra)), **OURS) is None  # type: ignore[arg-type]
