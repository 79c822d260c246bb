"""A deterministic corpus of customer mails for the mail-ingestion benchmark.

``generate(directory, size=N, system="ours"|"django-helpdesk", seed=...)`` writes
``000001.eml`` … ``00000N.eml`` (the file names sort in ingestion order) and
``manifest.json``, which records for every mail its kind and the thread it belongs to: the
ordinal of the new request that opened the thread (1 for the first new request, 2 for the
second …).

The mix, drawn from one seeded ``random.Random``:

* about 40 % new requests;
* about 35 % replies that name the ticket in the subject (``AW: [TAG] Lieferung …``); half of
  them carry an ``In-Reply-To`` naming a message neither system has seen (the helpdesk's own
  notification, which is not part of the corpus), half carry no ``In-Reply-To`` at all;
* about 25 % replies found only by ``In-Reply-To``/``References`` (``Re: <original subject>``,
  no ticket number), naming the Message-ID of the latest earlier mail of the same thread;
* German, Czech and Slovak text in utf-8, iso-8859-2 or windows-1250, each body
  quoted-printable or base64, subjects and display names as RFC 2047 words;
* plain text, multipart/alternative, HTML only, and some with small attachments (PDF-like
  bytes, a PNG image, RFC 2231 file names with diacritics) in multipart/mixed.

Every file is 7-bit clean (the 8-bit text is always transfer-encoded), so a reader that opens
files as text, as django-helpdesk's local-directory mailbox does, reads the same bytes.

**Fairness across systems.** A reply names its ticket the way the helpdesk that received the
first mail rendered it: ours as ``[HD-2026-000042]`` (``{prefix}{year}-{seq:06d}``, prefix
``HD-``, the sequence allocated in the order new requests are ingested, the year that of
ingestion), django-helpdesk as ``[<queue slug>-<ticket id>]`` with ids 1, 2, 3 … in
ingestion order. Both number the n-th new request n on an empty database, so the tag of
thread n is known before ingestion. The corpus is therefore generated once per system from
the same seed: all random draws are the same and the files differ only in the rendered tag
inside the subject (a few bytes). The manifest is identical apart from the ``system`` field.
The corpus of N mails is also a prefix of every larger corpus with the same seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import charset as email_charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

__all__ = ["DJANGO_SLUG", "SYSTEMS", "generate", "tag_renderer"]

SYSTEMS = ("ours", "django-helpdesk")
DJANGO_SLUG = "support"
OURS_PREFIX = "HD-"
HELPDESK_ADDRESS = "podpora@shop.example.com"
CHARSETS = ("utf-8", "iso-8859-2", "windows-1250")

# -- text banks --------------------------------------------------------------------------

FIRST = {
    "de": ["Jürgen", "Sabine", "Lukas", "Bärbel", "Jörg", "Ursula", "Matthias", "Günther"],
    "cs": ["Jana", "Petr", "Lucie", "Jiří", "Tereza", "Tomáš", "Markéta", "Ondřej"],
    "sk": ["Zuzana", "Ľubomír", "Mária", "Štefan", "Katarína", "Ján", "Ľudmila", "Dušan"],
}
LAST = {
    "de": ["Müller", "Schröder", "Weiß", "Köhler", "Groß", "Bäcker", "Schäfer", "Hoffmann"],
    "cs": ["Nováková", "Dvořák", "Černá", "Procházka", "Kučerová", "Veselý", "Růžička", "Šťastná"],
    "sk": ["Horváthová", "Kováč", "Šimková", "Baláž", "Tóthová", "Lukáč", "Ďurišová", "Čierny"],
}
DOMAINS = {"de": ["web.example.de", "gmx.example.de", "t-online.example.de"],
           "cs": ["seznam.example.cz", "email.example.cz", "centrum.example.cz"],
           "sk": ["azet.example.sk", "zoznam.example.sk", "post.example.sk"]}
ASCII = str.maketrans("äöüßÄÖÜáčďéěíľĺňóôŕřšťúůýžÁČĎÉĚÍĽĹŇÓÔŔŘŠŤÚŮÝŽ",
                      "aousAOUacdeeillnoorrstuuyzACDEEILLNOORRSTUUYZ")

SUBJECTS = {
    "de": ["Lieferung beschädigt", "Rücksendung der Bestellung {order}",
           "Frage zur Rechnung {order}", "Paket nicht angekommen", "Größe passt nicht",
           "Stornierung meiner Bestellung", "Gutschrift fehlt noch", "Falscher Artikel geliefert"],
    "cs": ["Poškozená zásilka", "Vrácení objednávky {order}", "Dotaz k faktuře {order}",
           "Balík nedorazil", "Špatná velikost bot", "Zrušení objednávky",
           "Reklamace \u2013 nefunkční výrobek", "Chybí dobropis"],
    "sk": ["Poškodená zásielka", "Vrátenie objednávky {order}", "Otázka k faktúre {order}",
           "Balík neprišiel", "Nesprávna veľkosť", "Zrušenie objednávky",
           "Reklamácia \u2013 výrobok nefunguje", "Chýba dobropis"],
}
GREETING = {"de": ["Sehr geehrte Damen und Herren,", "Hallo,", "Guten Tag,"],
            "cs": ["Dobrý den,", "Vážení,", "Dobrý den, prosím o pomoc."],
            "sk": ["Dobrý deň,", "Vážení,", "Dobrý deň, prosím o pomoc."]}
SENTENCES = {
    "de": ["meine Bestellung {order} ist heute angekommen, aber der Karton war völlig zerdrückt.",
           "Leider fehlt ein Artikel in der Lieferung.",
           "Die Jacke ist zu groß, ich möchte sie gegen Größe M umtauschen.",
           "Können Sie mir bitte mitteilen, wann die Gutschrift erfolgt?",
           "Ich habe die Ware bereits am Montag zurückgeschickt.",
           "Im Anhang finden Sie Fotos der Beschädigung.",
           "Die Rechnung weist einen falschen Betrag aus: 149,90 € statt 129,90 €.",
           "Bitte prüfen Sie das so schnell wie möglich, es ist ein Geschenk.",
           "Der Zusteller hat das Paket angeblich zugestellt, ich habe aber nichts erhalten."],
    "cs": ["objednávka {order} dnes dorazila, ale krabice byla úplně zmačkaná.",
           "V zásilce bohužel chybí jedna položka.",
           "Bunda je příliš velká, rád bych ji vyměnil za velikost M.",
           "Můžete mi prosím sdělit, kdy mi vrátíte peníze?",
           "Zboží jsem odeslal zpět už v pondělí přes Českou poštu.",
           "V příloze posílám fotografie poškození.",
           "Na faktuře je špatná částka: 3 490 Kč místo 2 990 Kč.",
           "Prosím o co nejrychlejší vyřízení, jde o dárek k narozeninám.",
           "Kurýr tvrdí, že balík doručil, ale nic jsem nedostala."],
    "sk": ["objednávka {order} dnes prišla, ale škatuľa bola úplne pokrčená.",
           "V zásielke, žiaľ, chýba jedna položka.",
           "Bunda je príliš veľká, chcel by som ju vymeniť za veľkosť M.",
           "Môžete mi prosím povedať, kedy mi vrátite peniaze?",
           "Tovar som poslal späť už v pondelok cez Slovenskú poštu.",
           "V prílohe posielam fotografie poškodenia.",
           "Na faktúre je nesprávna suma: 149,90 € namiesto 129,90 €.",
           "Prosím o čo najrýchlejšie vybavenie, ide o darček k meninám.",
           "Kuriér tvrdí, že balík doručil, ale nič som nedostala."],
}
REPLY_SENTENCES = {
    "de": ["Vielen Dank für die schnelle Antwort.", "Ich warte immer noch auf eine Rückmeldung.",
           "Anbei die gewünschte Sendungsnummer.", "Das Problem besteht leider weiterhin.",
           "Gerne, so machen wir es. Schönen Tag noch!"],
    "cs": ["Děkuji za rychlou odpověď.", "Stále čekám na vyjádření.",
           "Posílám požadované číslo zásilky.", "Problém bohužel přetrvává.",
           "Dobře, tak to uděláme. Hezký den!"],
    "sk": ["Ďakujem za rýchlu odpoveď.", "Stále čakám na vyjadrenie.",
           "Posielam požadované číslo zásielky.", "Problém, žiaľ, pretrváva.",
           "Dobre, tak to urobíme. Pekný deň!"],
}
CLOSING = {"de": ["Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße"],
           "cs": ["S pozdravem", "Děkuji a zdravím", "S přáním hezkého dne"],
           "sk": ["S pozdravom", "Ďakujem a zdravím", "S prianím pekného dňa"]}
REPLY_PREFIX = {"de": ["AW: ", "Re: ", "WG: "], "cs": ["Re: ", "Odp: ", "RE: "],
                "sk": ["Re: ", "Odp: ", "RE: "]}
QUOTE_INTRO = {"de": "Am {date} schrieb Kundenservice <{addr}>:",
               "cs": "Dne {date} napsal(a) Zákaznická podpora <{addr}>:",
               "sk": "Dňa {date} napísal(a) Zákaznícka podpora <{addr}>:"}
ATTACHMENT_NAMES = {"de": ["Rechnung_{order}.pdf", "Foto_Schäden.png", "Rücksendeschein.pdf"],
                    "cs": ["faktura_{order}.pdf", "fotka_poškození.png", "reklamační_list.pdf"],
                    "sk": ["faktúra_{order}.pdf", "fotka_poškodenia.png", "reklamačný_list.pdf"]}


# -- tags --------------------------------------------------------------------------------


def tag_renderer(system: str, *, year: int, slug: str = DJANGO_SLUG) -> Callable[[int], str]:
    """How ``system`` names the ticket opened by the n-th new request on an empty database."""
    if system == "ours":
        return lambda n: f"[{OURS_PREFIX}{year}-{n:06d}]"
    if system == "django-helpdesk":
        return lambda n: f"[{slug}-{n}]"
    raise ValueError(f"unknown system {system!r}; one of {', '.join(SYSTEMS)}")


# -- building blocks ---------------------------------------------------------------------


def _png(rng: random.Random, size: int = 16) -> bytes:
    """A small, valid RGB PNG with random pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    rows = b"".join(b"\x00" + rng.randbytes(size * 3) for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def _pdf(rng: random.Random) -> bytes:
    """PDF-like bytes: a header, a binary stream, the trailer marker."""
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 0 >>\nstream\n"
            + rng.randbytes(rng.randint(1500, 6000)) + b"\nendstream\nendobj\n%%EOF\n")


def _charset(name: str, body: int, header: int) -> email_charset.Charset:
    cs = email_charset.Charset(name)
    cs.body_encoding = body
    cs.header_encoding = header
    return cs


def _encodable(text: str, charset: str) -> str:
    if charset == "iso-8859-2":  # no typographic quotes or dashes in Latin-2
        text = text.replace("„", '"').replace("“", '"').replace("\u2013", "-").replace("€", "EUR")
    return text


def _text_part(text: str, subtype: str, cs: email_charset.Charset) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text, cs)
    return part


def _html(text: str, lang: str) -> str:
    paragraphs = "".join(
        f"<p>{line.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</p>\n"
        for line in text.split("\n") if line.strip())
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<style>p {{ margin: 0 0 8px; }}</style></head>\n<body>\n"
            f'<div style="font-family: Arial, sans-serif">\n{paragraphs}</div>\n</body></html>\n')


class _Thread:
    def __init__(self, ordinal: int, lang: str, name: str, address: str, subject: str,
                 order: str, first_text: str) -> None:
        self.ordinal = ordinal
        self.lang = lang
        self.name = name
        self.address = address
        self.subject = subject
        self.order = order
        self.message_ids: list[str] = []
        self.last_text = first_text


# -- generator ---------------------------------------------------------------------------


def _plan(size: int, seed: int) -> Iterator[dict[str, Any]]:
    """The system-independent corpus: one dict per mail, in ingestion order."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    threads: list[_Thread] = []
    for index in range(1, size + 1):
        at = start + timedelta(minutes=index * 3 + rng.randint(0, 2))
        roll = rng.random()
        if not threads or roll < 0.40:
            kind = "new"
        elif roll < 0.75:
            kind = "reply-subject"
        else:
            kind = "reply-in-reply-to"
        if kind == "new":
            lang = rng.choice(("de", "cs", "sk"))
            first, last = rng.choice(FIRST[lang]), rng.choice(LAST[lang])
            local = f"{first}.{last}".translate(ASCII).lower()
            address = f"{local}{rng.randint(1, 999)}@{rng.choice(DOMAINS[lang])}"
            # Unique per thread: the core links order numbers named in mails.
            order = f"{1_000_000 + 13 * len(threads) + rng.randint(0, 12)}"
            text = "\n".join([
                rng.choice(GREETING[lang]), "",
                *(s.format(order=order) for s in rng.sample(SENTENCES[lang], rng.randint(2, 4))),
                "", rng.choice(CLOSING[lang]), f"{first} {last}",
            ])
            thread = _Thread(len(threads) + 1, lang, f"{first} {last}", address,
                             rng.choice(SUBJECTS[lang]).format(order=order), order, text)
            threads.append(thread)
            subject: dict[str, Any] = {"text": thread.subject, "prefix": "", "tag": None}
            in_reply_to: str | None = None
            references: list[str] = []
        else:
            # Replies mostly go to recent threads, as in a live helpdesk.
            thread = threads[max(0, len(threads) - 1 - int(rng.expovariate(1 / 60)))]
            lang = thread.lang
            prefix = rng.choice(REPLY_PREFIX[lang])
            # The previous mail quoted below, as mail clients do, cut after 40 lines so that
            # long threads do not grow every reply without bound.
            quoted = "\n".join(f"> {line}" for line in thread.last_text.split("\n")[:40])
            intro = QUOTE_INTRO[lang].format(date=format_datetime(at - timedelta(hours=5)),
                                             addr=HELPDESK_ADDRESS)
            text = "\n".join([
                *(rng.sample(REPLY_SENTENCES[lang], rng.randint(1, 2))), "",
                rng.choice(CLOSING[lang]), thread.name, "", intro, quoted,
            ])
            if kind == "reply-subject":
                where = rng.choice(("before", "after"))
                subject = {"text": thread.subject, "prefix": prefix, "tag": where}
                in_reply_to = (f"<notify.{thread.ordinal}.{rng.randbytes(4).hex()}"
                               f"@helpdesk.shop.example.com>" if rng.random() < 0.5 else None)
                references = [in_reply_to] if in_reply_to else []
            else:
                subject = {"text": thread.subject, "prefix": prefix, "tag": None}
                in_reply_to = thread.message_ids[-1]
                references = thread.message_ids[-4:]
            thread.last_text = text
        message_id = (f"<{at:%Y%m%d%H%M%S}.{index}.{rng.randbytes(5).hex()}"
                      f"@{thread.address.split('@')[1]}>")
        thread.message_ids.append(message_id)
        charset = rng.choices(CHARSETS, weights=(50, 25, 25))[0]
        structure = rng.choices(("plain", "alternative", "html"), weights=(45, 40, 15))[0]
        attachments: list[dict[str, Any]] = []
        if rng.random() < 0.12:
            for name in rng.sample(ATTACHMENT_NAMES[lang], rng.randint(1, 2)):
                name = name.format(order=thread.order)
                data = _png(rng) if name.endswith(".png") else _pdf(rng)
                attachments.append({"name": name, "data": data})
        yield {
            "index": index, "kind": kind, "thread": thread.ordinal, "lang": lang,
            "at": at, "from": (thread.name, thread.address), "subject": subject,
            "message_id": message_id, "in_reply_to": in_reply_to, "references": references,
            "charset": charset, "cte": rng.choice(("quoted-printable", "base64")),
            "structure": structure, "attachments": attachments, "text": text,
            "header_encoding": rng.choice(("Q", "B")),
        }


def _render(mail: dict[str, Any], tag: Callable[[int], str]) -> bytes:
    charset: str = mail["charset"]
    body_enc = email_charset.QP if mail["cte"] == "quoted-printable" else email_charset.BASE64
    head_enc = email_charset.QP if mail["header_encoding"] == "Q" else email_charset.BASE64
    cs = _charset(charset, body_enc, head_enc)
    text = _encodable(mail["text"], charset)
    if mail["structure"] == "plain":
        body: Message = _text_part(text, "plain", cs)
    elif mail["structure"] == "html":
        body = _text_part(_html(text, mail["lang"]), "html", cs)
    else:
        body = MIMEMultipart("alternative", boundary=f"=_alt_{mail['index']:06d}")
        body.attach(_text_part(text, "plain", cs))
        body.attach(_text_part(_html(text, mail["lang"]), "html", cs))
    if mail["attachments"]:
        outer: Message = MIMEMultipart("mixed", boundary=f"=_mix_{mail['index']:06d}")
        outer.attach(body)
        for item in mail["attachments"]:
            name: str = item["name"]
            if name.endswith(".png"):
                part: Message = MIMEImage(item["data"], "png")
            else:
                part = MIMEApplication(item["data"], "pdf")
            if name.isascii():
                part.add_header("Content-Disposition", "attachment", filename=name)
            else:
                part.add_header("Content-Disposition", "attachment",
                                filename=("utf-8", "", name))
            outer.attach(part)
    else:
        outer = body
    subject = mail["subject"]
    words = subject["text"]
    if subject["tag"] == "before":
        words = f"{tag(mail['thread'])} {words}"
    elif subject["tag"] == "after":
        words = f"{words} {tag(mail['thread'])}"
    words = _encodable(subject["prefix"] + words, charset)
    name, address = mail["from"]
    # Header order as mail clients write it; MIME headers of the body part come last.
    mime_headers = [(k, v) for k, v in outer.items()]
    for key in list(outer.keys()):
        del outer[key]
    outer["From"] = formataddr((_encodable(name, charset), address), charset=cs)
    outer["To"] = formataddr(("Zákaznická podpora".translate(ASCII), HELPDESK_ADDRESS))
    outer["Subject"] = words if words.isascii() else Header(words, cs)
    outer["Date"] = format_datetime(mail["at"])
    outer["Message-ID"] = mail["message_id"]
    if mail["in_reply_to"]:
        outer["In-Reply-To"] = mail["in_reply_to"]
    if mail["references"]:
        outer["References"] = " ".join(mail["references"])
    outer["Content-Language"] = mail["lang"]
    for key, value in mime_headers:
        outer[key] = value
    return outer.as_bytes()


def generate(directory: Path, *, size: int, system: str, seed: int = 20260301,
             year: int | None = None, slug: str = DJANGO_SLUG) -> dict[str, Any]:
    """Write the corpus into ``directory`` (created); returns the manifest."""
    year = year if year is not None else datetime.now(UTC).year
    tag = tag_renderer(system, year=year, slug=slug)
    directory.mkdir(parents=True, exist_ok=True)
    mails = []
    for mail in _plan(size, seed):
        file = f"{mail['index']:06d}.eml"
        (directory / file).write_bytes(_render(mail, tag))
        mails.append({
            "file": file, "message_id": mail["message_id"], "kind": mail["kind"],
            "thread": mail["thread"], "charset": mail["charset"], "cte": mail["cte"],
            "structure": mail["structure"], "attachments": len(mail["attachments"]),
            "lang": mail["lang"], "in_reply_to": mail["in_reply_to"],
        })
    manifest = {"seed": seed, "size": size, "system": system, "year": year, "slug": slug,
                "threads": sum(1 for m in mails if m["kind"] == "new"), "mails": mails}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=0), encoding="utf-8")
    return manifest


def mail_files(directory: Path) -> list[Path]:
    """The corpus files in ingestion order."""
    return [directory / name for name in mail_names(directory)]


def mail_names(directory: Path) -> list[str]:
    """The corpus's file names in ingestion order (plain strings: a smaller list to hold)."""
    return sorted(name for name in os.listdir(directory) if name.endswith(".eml"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--system", choices=SYSTEMS, default="ours")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--year", type=int)
    args = parser.parse_args()
    manifest = generate(args.directory, size=args.size, system=args.system, seed=args.seed,
                        year=args.year)
    kinds: dict[str, int] = {}
    for mail in manifest["mails"]:
        kinds[mail["kind"]] = kinds.get(mail["kind"], 0) + 1
    print(json.dumps({"size": manifest["size"], "threads": manifest["threads"], **kinds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
