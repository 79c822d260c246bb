"""Properties of parse_mail on arbitrary and mutated input: it never raises, keeps the raw bytes
exactly, and every attachment name is safe and unique."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.article import safe_filename
from helpdesk_core.mail import ParsedMail, parse_mail

CORPUS = [p.read_bytes() for p in sorted((Path(__file__).parent / "corpus").glob("*.eml"))]

HEADERISH = st.sampled_from([
    b"From: ", b"To: ", b"Subject: ", b"Message-ID: ", b"Date: ", b"Content-Type: ",
    b"multipart/mixed; boundary=", b"--", b"\r\n", b"\n\n", b"=?utf-8?q?", b"=?", b"?=",
    b"=C5=BE", b"Content-Transfer-Encoding: base64\n", b"quoted-printable", b"filename*0*=",
    b"<", b">", b"@", b"\xff", b"\xc5", b"begin 644 x.bin\n", b"message/rfc822\n",
    b"charset=", b"utf-7", b"x-unknown", b"\x00", b"+2AA-", b"=?utf-7?q?+2AA-?=",
])


def check(mail: ParsedMail, data: bytes) -> None:
    assert isinstance(mail, ParsedMail)
    assert mail.raw == data
    # the last-resort guard in parse_mail must not be what kept it from raising
    assert not [d for d in mail.defects if d.startswith("parser failure")], mail.defects
    seen: set[str] = set()
    for attachment in mail.attachments:
        assert attachment.filename
        assert safe_filename(attachment.filename) == attachment.filename
        assert not attachment.filename.lower().endswith((".html", ".htm"))
        assert attachment.filename.casefold() not in seen
        seen.add(attachment.filename.casefold())
        assert attachment.size == len(attachment.data)
    texts = [mail.body_text, mail.new_text, mail.subject, mail.from_name,
             mail.body_html or "", mail.html_original or "", *mail.references,
             mail.message_id or "", mail.in_reply_to or "", mail.from_address or "",
             *(a.filename for a in mail.attachments),
             *(a.content_id or "" for a in mail.attachments),
             *(f"{a.name}{a.address}" for a in (*mail.to, *mail.cc, *mail.reply_to))]
    for text in texts:
        text.encode("utf-8")  # no lone surrogates leak out
    for name, value in mail.headers:
        name.encode("utf-8")
        value.encode("utf-8")
    if mail.date is not None:
        assert mail.date.utcoffset() is not None
        assert mail.date.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert mail.content_type in {"text/plain", "text/html"}
    if mail.message_id is not None:
        assert mail.message_id.startswith("<")
        assert mail.message_id.endswith(">")


FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    check(parse_mail(data), data)


@FAST
@given(st.lists(st.one_of(HEADERISH, st.binary(max_size=20)), max_size=60))
def test_mail_shaped_noise_never_raises(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    check(parse_mail(data), data)


mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete"]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
    st.one_of(st.binary(min_size=1, max_size=8), HEADERISH),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS), st.lists(mutation, min_size=1, max_size=8))
def test_mutated_corpus_mails_never_raise(
    original: bytes, mutations: list[tuple[str, float, bytes]]
) -> None:
    data = bytearray(original)
    for kind, where, payload in mutations:
        at = int(where * len(data)) if data else 0
        if kind == "flip" and data:
            data[at] ^= payload[0] or 0x20
        elif kind == "insert":
            data[at:at] = payload
        elif data:
            del data[at:at + len(payload)]
    mail = parse_mail(bytes(data))
    check(mail, bytes(data))


@FAST
@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=6))
def test_hostile_attachment_names_become_safe_and_unique(names: list[str]) -> None:
    parts = []
    for name in names:
        quoted = name.replace("\\", "").replace('"', "").replace("\r", "").replace("\n", "")
        encoded = "".join(f"%{b:02X}" for b in quoted.encode("utf-8"))
        parts.append(
            "--B\nContent-Type: application/octet-stream\n"
            f"Content-Disposition: attachment; filename*=utf-8''{encoded}\n\nx\n"
        )
    data = ("From: a@b.example\nContent-Type: multipart/mixed; boundary=B\n\n"
            + "".join(parts) + "--B--\n").encode("utf-8")
    mail = parse_mail(data)
    check(mail, data)
    assert len(mail.attachments) == len(names)


# ---- round trips through the standard library's mail writer ---------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzáäčďéěíĺľňóôŕřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ"
_LETTERS_DE = "abcdefghijklmnopqrstuvwxyzäöüßÄÖÜ"
word = st.text(alphabet=_LETTERS, min_size=1, max_size=12)
line = st.lists(word, min_size=1, max_size=12).map(" ".join)
text_body = st.lists(line, min_size=1, max_size=8).map("\n".join)


@settings(max_examples=60, deadline=None)
@example(body="ÉŠ", subject="a", charset="iso-8859-2", cte="quoted-printable", names=[])
@example(body="a", subject="a", charset="utf-8", cte="quoted-printable", names=["prn"])
@given(
    body=text_body,
    subject=st.lists(word, min_size=1, max_size=15).map(" ".join),
    charset=st.sampled_from(["utf-8", "iso-8859-2", "windows-1250"]),
    cte=st.sampled_from(["quoted-printable", "base64", "8bit"]),
    names=st.lists(st.lists(word, min_size=1, max_size=3).map(" ".join),
                   max_size=3, unique_by=str.casefold),
)
def test_round_trip_through_the_stdlib_writer(
    body: str, subject: str, charset: str, cte: str, names: list[str]
) -> None:
    from email.message import EmailMessage
    from email.policy import default

    message = EmailMessage(policy=default)
    message["From"] = "Zákazník <zakaznik@example.cz>"
    message["To"] = "podpora@shop.example"
    message["Subject"] = subject
    message["Message-ID"] = "<round-trip@example.cz>"
    message.set_content(body.encode(charset), maintype="text", subtype="plain", cte=cte,
                        params={"charset": charset})
    for index, name in enumerate(names):
        message.add_attachment(f"file {index}".encode(), maintype="application",
                               subtype="octet-stream", filename=f"{name}.pdf")
    data = message.as_bytes()
    parsed = parse_mail(data)
    check(parsed, data)
    assert parsed.body_text == body
    # The stdlib's writer sometimes folds a space away between encoded words (its own reader
    # agrees with ours on what it wrote), so the subject is compared with what it reads back.
    from email import message_from_bytes

    assert parsed.subject == str(message_from_bytes(data, policy=default)["Subject"])
    assert parsed.subject.replace(" ", "") == subject.replace(" ", "")
    assert parsed.from_name == "Zákazník"
    assert parsed.message_id == "<round-trip@example.cz>"
    assert [a.data for a in parsed.attachments] == [f"file {i}".encode()
                                                     for i in range(len(names))]
    # Names are made safe as they are stored ("prn.pdf", a Windows device name, is "_prn.pdf").
    assert [a.filename for a in parsed.attachments] == [safe_filename(f"{name}.pdf")
                                                        for name in names]
