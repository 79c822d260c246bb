"""Who wrote a mail: the signal tables of ``helpdesk_core.mail.loops`` (headers, subject
markers and text phrases in English, German, Czech and Slovak) and the verdict they add up to.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from helpdesk_core.mail import ParsedMail, parse_mail
from helpdesk_core.mail.loops import (
    AUTO_REPLY_SUBJECTS,
    PHRASE_WINDOW,
    SHORT_TEXT,
    MailKind,
    Signal,
    Verdict,
    auto_response,
    classify,
)
from helpdesk_core.mail.threading import is_automatic_reply


def mail(*, subject: str = "Order 1234 arrived broken", headers: str = "",
         body: str = "Hello, the box was crushed.\n", sender: str = "jana@customer.example"
         ) -> ParsedMail:
    raw = (f"From: Jana <{sender}>\nTo: support@shop.example\nSubject: {subject}\n"
           f"Message-ID: <m1@customer.example>\n{headers}"
           "Content-Type: text/plain; charset=utf-8\n\n" + body)
    return parse_mail(raw.encode("utf-8"))


def rules(verdict: Verdict) -> list[str]:
    return [s.rule for s in verdict.signals]


# --- subjects ---------------------------------------------------------------------------------

LOOSE = [(lang, marker) for lang, table in AUTO_REPLY_SUBJECTS.items()
         for marker in table["loose"]]
STRICT = [(lang, marker) for lang, table in AUTO_REPLY_SUBJECTS.items()
          for marker in table["strict"]]


@pytest.mark.parametrize(("language", "marker"), LOOSE + STRICT)
@pytest.mark.parametrize("shape", ["{m}: Re: [HD-2026-000001] Broken kettle", "{M}: Dotaz",
                                   "{m}", "  {M} - Ihre Anfrage", "[{m}] : x"])
def test_every_subject_marker_is_an_automatic_reply(language: str, marker: str,
                                                    shape: str) -> None:
    subject = shape.format(m=marker, M=marker.upper())
    verdict = classify(mail(subject=subject))
    assert verdict.kind is MailKind.AUTO_REPLY
    assert f"auto-reply-subject: {language}" in rules(verdict)
    assert is_automatic_reply(mail(subject=subject))


@pytest.mark.parametrize(("language", "marker"), LOOSE)
def test_loose_markers_may_carry_a_short_note_before_the_colon(language: str,
                                                               marker: str) -> None:
    verdict = classify(mail(subject=f"{marker} until 7 December: Your order"))
    assert rules(verdict) == [f"auto-reply-subject: {language}"]


@pytest.mark.parametrize("subject", [
    # the marker is not at the start: somebody answers or forwards a notice
    "Re: Automatic reply: Your order", "AW: Automatische Antwort: Ihre Bestellung",
    "Fwd: Out of Office", "Odp: Automatická odpověď: Reklamace",
    # ordinary words of the strict list, not followed by a colon
    "Nepřítomnost v práci \u2013 jak ji zadat do systému", "Abwesend seit Montag, Paket fehlt",
    "Neprítomnosť na pracovisku a dochádzka",
    # holidays are what some customers write about
    "Dovolená: storno zájezdu", "Urlaub storniert", "Dovolenka v Tatrách \u2013 reklamácia",
    "On holiday: the tent leaks", "Vacation rental booking 4711",
    "Out of stock again?", "Automatic renewal: please cancel",
])
def test_subjects_people_write_are_not_markers(subject: str) -> None:
    assert classify(mail(subject=subject)).kind is MailKind.PERSON


# --- text phrases -----------------------------------------------------------------------------

PHRASES = [
    ("en", "Thank you for your email. I am out of the office until 7 December."),
    ("en", "Hello,\n\nI'm currently out of office and will return on Monday."),
    ("en", "I will be out of the office from 1 to 5 December."),
    ("en", "I am on annual leave until 3 January with limited access to email."),
    ("en", "Thanks for your message. I am away from my desk today."),
    ("en", "This is an automatic reply. Your message has been received."),
    ("en", "I will respond to your message when I return on 8 December."),
    ("de", "Vielen Dank für Ihre Nachricht. Ich bin bis 7.12. nicht im Büro."),
    ("de", "Guten Tag,\nich bin bis einschließlich 11. Dezember im Urlaub."),
    ("de", "Ich bin derzeit außer Haus und ab Montag wieder erreichbar."),
    ("de", "Dies ist eine automatische Antwort."),
    ("de", "Ich habe nur eingeschränkten Zugriff auf meine E-Mails."),
    ("de", "Ihre Nachricht wird nicht weitergeleitet."),
    ("cs", "Dobrý den,\n\nděkuji za Váš e-mail. Jsem mimo kancelář do 7. 12."),
    ("cs", "Do pátku budu mimo kancelář."),
    ("cs", "Jsem na dovolené do 3. 1. 2027, e-maily nečtu."),
    ("cs", "Od 1. do 5. 12. jsem nepřítomna."),
    ("cs", "Toto je automatická odpověď."),
    ("cs", "V naléhavých případech kontaktujte kolegu Nováka."),
    ("sk", "Dobrý deň,\nsom mimo kancelárie do 7. 12."),
    ("sk", "Budem mimo kanceláriu do piatku."),
    ("sk", "Som na dovolenke do 3. 1. 2027."),
    ("sk", "Toto je automatická odpoveď."),
    ("sk", "V naliehavých prípadoch kontaktujte kolegu."),
]


@pytest.mark.parametrize(("language", "text"), PHRASES)
def test_a_phrase_alone_makes_a_mail_automatic_not_an_auto_reply(language: str,
                                                                  text: str) -> None:
    verdict = classify(mail(subject="Re: your message", body=text))
    assert verdict.kind is MailKind.AUTOMATIC
    assert rules(verdict) == [f"auto-reply-text: {language}"]
    assert verdict.signals[0].weight < 3
    assert auto_response(mail(body=text)).suppress
    assert not is_automatic_reply(mail(body=text))


@pytest.mark.parametrize(("language", "text"), PHRASES)
@pytest.mark.parametrize("beside", ["Precedence: bulk\n", "X-Auto-Response-Suppress: All\n",
                                    "List-Id: <staff.example>\n"])
def test_a_phrase_and_a_header_make_an_auto_reply(language: str, text: str,
                                                  beside: str) -> None:
    assert classify(mail(headers=beside, body=text)).kind is MailKind.AUTO_REPLY


@pytest.mark.parametrize(("language", "text"), PHRASES)
def test_a_phrase_counts_only_near_the_start(language: str, text: str) -> None:
    filler = "The parcel came without the power cable. " * (PHRASE_WINDOW // 40 + 1)
    assert classify(mail(body=filler + text)).kind is MailKind.PERSON


@pytest.mark.parametrize(("language", "text"), PHRASES)
def test_a_phrase_counts_only_in_a_short_text(language: str, text: str) -> None:
    long_story = text + "\n\n" + "Here is what happened next. " * (SHORT_TEXT // 25)
    assert classify(mail(body=long_story)).kind is MailKind.PERSON


@pytest.mark.parametrize("text", [
    "I was out of the office, the kettle broke.",
    "Hello, I was out of the office last week and the parcel was returned to you.",
    "When I am back from holiday I will pick up the order. Can you hold it?",
    "We were on vacation and the alarm went off. Please check the logs.",
    "My colleague is out of the office, so I am writing instead: the invoice is wrong.",
    "Ich war im Urlaub und das Paket ist nicht angekommen.",
    "Wir sind umgezogen, bitte ändern Sie die Adresse.",
    "Byl jsem na dovolené a zásilka se mezitím vrátila.",
    "Kolega je mimo kancelář, proto píšu já: faktura nesedí.",
    "Bola som na dovolenke a balík sa vrátil.",
    "Automatická pračka nefunguje, prosím o opravu.",
])
def test_people_telling_about_their_absence_are_people(text: str) -> None:
    verdict = classify(mail(body=text))
    assert verdict == Verdict(MailKind.PERSON)
    assert not auto_response(mail(body=text)).suppress


def test_a_quoted_notice_below_a_reply_does_not_count() -> None:
    body = ("Please send the invoice again.\n\nOn Mon, 30 Nov 2026, Support wrote:\n"
            "> I am out of the office until 7 December.\n")
    assert classify(mail(body=body)).kind is MailKind.PERSON


# --- headers ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "rule", "kind"), [
    ("Auto-Submitted: auto-replied\n", "auto-submitted: auto-replied", MailKind.AUTO_REPLY),
    ("Auto-Submitted: auto-generated\n", "auto-submitted: auto-generated", MailKind.AUTOMATIC),
    ("Auto-Submitted: auto-notified\n", "auto-submitted: auto-notified", MailKind.AUTOMATIC),
    ("Return-Path: <>\n", "return-path: null", MailKind.AUTOMATIC),
    ("Precedence: auto_reply\n", "precedence: auto_reply", MailKind.AUTO_REPLY),
    ("Precedence: bulk\n", "precedence: bulk", MailKind.AUTOMATIC),
    ("Precedence: junk\n", "precedence: junk", MailKind.AUTOMATIC),
    ("Precedence: list\n", "precedence: list", MailKind.AUTOMATIC),
    ("List-Id: <news.shop.example>\n", "list-id", MailKind.AUTOMATIC),
    ("List-Unsubscribe: <mailto:out@shop.example>\n", "list-unsubscribe", MailKind.AUTOMATIC),
    ("X-Auto-Response-Suppress: All\n", "x-auto-response-suppress: all", MailKind.AUTOMATIC),
    ("X-Auto-Response-Suppress: DR, RN\n", "x-auto-response-suppress: dr",
     MailKind.AUTOMATIC),
    ("X-Auto-Response-Suppress: OOF\n", "x-auto-response-suppress: oof",
     MailKind.AUTO_REPLY),
    ("X-Auto-Response-Suppress: DR, OOF, AutoReply\n", "x-auto-response-suppress: dr",
     MailKind.AUTO_REPLY),
    ("X-Autoreply: yes\n", "x-autoreply", MailKind.AUTO_REPLY),
    ("X-Autorespond: Thank you\n", "x-autorespond", MailKind.AUTO_REPLY),
    ("X-Autogenerated: Reply\n", "x-autogenerated: reply", MailKind.AUTO_REPLY),
    ("X-Autogenerated: Forward\n", "x-autogenerated: forward", MailKind.AUTOMATIC),
    ("X-MS-Exchange-Inbox-Rules-Loop: jana@customer.example\n",
     "x-ms-exchange-inbox-rules-loop", MailKind.AUTO_REPLY),
    ("X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\n",
     "x-ms-exchange-generated-message-source", MailKind.AUTOMATIC),
    ("X-Loop: tickets@partner.example\n", "x-loop", MailKind.AUTOMATIC),
    ("Feedback-ID: 1.eu-west-1.abc:AmazonSES\n", "feedback-id", MailKind.AUTOMATIC),
    ("X-Mailer: Vacation 1.2.7\n", "x-mailer: vacation", MailKind.AUTO_REPLY),
    ("User-Agent: Zimbra Autoresponder\n", "x-mailer: autoresponder", MailKind.AUTO_REPLY),
    ("X-Mailer: Mailchimp Mailer - **CID1**\n", "x-mailer: mailchimp", MailKind.AUTOMATIC),
])
def test_each_header_signal(headers: str, rule: str, kind: MailKind) -> None:
    verdict = classify(mail(headers=headers))
    assert rules(verdict) == [rule]
    assert verdict.kind is kind
    assert auto_response(mail(headers=headers)).reason == rule


@pytest.mark.parametrize("headers", [
    "Auto-Submitted: no\n", "X-Autoreply: no\n", "X-Autorespond: false\n",
    "X-Autogenerated: 0\n", "Precedence: first-class\n", "X-Auto-Response-Suppress: None\n",
    "X-Mailer: Microsoft Outlook 16.0\n", "User-Agent: Mozilla Thunderbird\n",
    "Return-Path: <jana@customer.example>\n",
])
def test_headers_that_say_nothing(headers: str) -> None:
    assert classify(mail(headers=headers)) == Verdict(MailKind.PERSON)


def test_every_signal_is_reported_in_order() -> None:
    verdict = classify(mail(
        subject="Automatická odpověď: Reklamace",
        headers="X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: j@c.example\n",
        body="Dobrý den, jsem mimo kancelář do 7. 12.\n"))
    assert rules(verdict) == ["x-auto-response-suppress: all",
                              "x-ms-exchange-inbox-rules-loop", "auto-reply-subject: cs",
                              "auto-reply-text: cs"]
    assert verdict.reason == "x-auto-response-suppress: all"
    assert verdict.reasons == ", ".join(rules(verdict))


# --- the verdict ------------------------------------------------------------------------------

SIGNALS = st.builds(Signal, rule=st.sampled_from(["a", "b", "c"]), weight=st.integers(1, 3),
                    reply=st.booleans())


@given(st.lists(SIGNALS, max_size=5))
def test_verdict_adds_up(signals: list[Signal]) -> None:
    verdict = Verdict.of(signals)
    assert verdict.automatic == bool(signals)
    assert verdict.auto_reply == (any(s.reply for s in signals)
                                  and sum(s.weight for s in signals) >= 3)
    assert verdict.signals == tuple(signals)


@given(st.lists(SIGNALS, max_size=4), SIGNALS)
def test_another_signal_never_makes_a_machine_a_person(signals: list[Signal],
                                                       more: Signal) -> None:
    before, after = Verdict.of(signals), Verdict.of([*signals, more])
    assert after.automatic
    if before.auto_reply:
        assert after.auto_reply


@given(subject=st.text(max_size=200), body=st.text(max_size=3000))
def test_classify_never_raises(subject: str, body: str) -> None:
    subject = " ".join(subject.split())  # one header line
    verdict = classify(mail(subject=subject, body=body))
    assert verdict.automatic == bool(verdict.signals)


@given(marker=st.sampled_from([m for _, m in LOOSE + STRICT]),
       rest=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80))
def test_a_marker_and_a_colon_start_an_auto_reply_whatever_follows(marker: str,
                                                                   rest: str) -> None:
    subject = " ".join(f"{marker}: {rest}".split())
    assert classify(mail(subject=subject)).auto_reply


@given(text=st.sampled_from([t for _, t in PHRASES]),
       filler=st.text(st.sampled_from("abcxyz.,\n "), min_size=PHRASE_WINDOW + 150,
                      max_size=PHRASE_WINDOW + 400))
def test_a_phrase_past_the_window_never_counts(text: str, filler: str) -> None:
    body = "x" + " ".join(filler.split())  # white space counts once
    assume(len(body) >= PHRASE_WINDOW)
    assert classify(mail(body=f"{body} {text}")).kind is MailKind.PERSON
