"""A handful of realistic mails: Czech and German text, an attachment, a reply by
In-Reply-To. Built with ``email.message.EmailMessage`` and sent with CRLF line ends, as a
server stores them."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime


def make_mail(*, sender: str, to: str, subject: str, body: str, mid: str, day: int,
              in_reply_to: str | None = None,
              attachment: tuple[str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 3, day, 9, 15, tzinfo=UTC))
    msg["Message-ID"] = mid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def invoice() -> bytes:
    """About 65 kB of PDF-looking bytes (90 kB as base64): large enough to be cut in the middle
    of a download."""
    lines = [f"{n} 0 obj << /Type /Page /Contents {n + 1} 0 R >> endobj\n".encode()
             for n in range(1500)]
    return b"%PDF-1.4\n" + b"".join(lines) + b"%%EOF\n"


DASH = "\N{EN DASH}"
KETTLE = "<reklamace-7731@posta.example.cz>"
MAILS: tuple[bytes, ...] = (
    make_mail(sender="Jana Nováková <jana.novakova@posta.example.cz>",
              to="podpora@eshop.example.cz", day=2, mid=KETTLE,
              subject=f"Reklamace {DASH} rychlovarná konvice nehřeje",
              body="Dobrý den,\n\nkonvice, kterou jsem u vás koupila minulý týden, po třech dnech "
                   "přestala hřát. Prosím o výměnu, nebo vrácení peněz.\n\nS pozdravem\n"
                   "Jana Nováková\n"),
    make_mail(sender="Klaus Müller <k.mueller@beispiel.example.de>",
              to="support@eshop.example.de", day=3, mid="<20260303.4411@beispiel.example.de>",
              subject=f"Lieferung unvollständig {DASH} Rechnung anbei",
              body="Guten Tag,\n\nin meinem Paket fehlte der Deckel für den Schnellkochtopf. Die "
                   "Rechnung hänge ich an.\n\nMit freundlichen Grüßen\nKlaus Müller\n",
              attachment=("Rechnung-2026-0142.pdf", invoice())),
    make_mail(sender="Jana Nováková <jana.novakova@posta.example.cz>",
              to="podpora@eshop.example.cz", day=4, mid="<reklamace-7790@posta.example.cz>",
              in_reply_to=KETTLE, subject=f"Re: Reklamace {DASH} rychlovarná konvice nehřeje",
              body="Ještě doplňuji: výrobní číslo konvice je KV-2231-88.\n\nJana Nováková\n"),
    make_mail(sender="Sabine Weiß <sabine.weiss@beispiel.example.de>",
              to="support@eshop.example.de", day=5, mid="<f3a9c1@mail.beispiel.example.de>",
              subject="Frage zur Rücksendung",
              body="Hallo,\n\nkann ich die Kaffeemühle auch nach 30 Tagen noch zurückschicken? Sie "
                   "ist noch originalverpackt.\n\nViele Grüße\nSabine Weiß\n"),
    make_mail(sender="Petr Dvořák <petr.dvorak@example.cz>", to="podpora@eshop.example.cz", day=6,
              mid="<CAF=x81-doprava@mail.example.cz>", subject="Dotaz na dopravu do Brna",
              body="Dobrý den,\n\nkolik stojí doprava do Brna a jak dlouho trvá? Děkuji.\n\n"
                   "Petr Dvořák\n"),
)


def message_id(data: bytes) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
               ["Message-ID"]).strip()


IDS: tuple[str, ...] = tuple(message_id(data) for data in MAILS)
BIG = 1  # the mail with the attachment, about 110 kB
