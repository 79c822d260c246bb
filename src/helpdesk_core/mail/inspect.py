"""What the core makes of one raw mail, as a JSON-ready dict and as readable text.

Support engineers use it (through ``helpdesk mail inspect``) to answer "why did this mail do
that?": which addresses and thread ids were read, what body text was kept, which attachments
were found, whether a person or a machine wrote it and every signal that says so, whether an
automatic answer was suppressed and why, whether it is a bounce and which ticket numbers the
subject names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.mail.loops import bounce_info, classify, ticket_numbers
from helpdesk_core.mail.parsed import Address
from helpdesk_core.mail.parser import parse_mail

__all__ = ["REPORT_KEYS", "format_report", "inspect_mail"]

REPORT_KEYS = (
    "file", "from_address", "from_name", "sender_problem", "to", "cc", "reply_to", "subject",
    "message_id",
    "in_reply_to", "references", "date", "content_type", "body_text", "body_html", "new_text",
    "attachments", "automatic", "auto_response", "bounce", "ticket_numbers", "defects",
)


def _addresses(addresses: Iterable[Address]) -> list[dict[str, str]]:
    return [{"address": a.address, "name": a.name} for a in addresses]


def inspect_mail(
    data: bytes,
    *,
    file: str,
    fmt: TicketNumberFormat = TicketNumberFormat(),  # noqa: B008 - frozen, immutable
    own_addresses: Iterable[str] = (),
    own_message_id_domains: Iterable[str] = (),
    loop_header: str = "X-Helpdesk-Loop",
) -> dict[str, Any]:
    """The report for one raw mail; exactly the keys in :data:`REPORT_KEYS`.

    ``own_addresses``, ``own_message_id_domains`` and ``loop_header`` are passed to
    :func:`~helpdesk_core.mail.loops.classify`; ``automatic`` is its verdict (``kind`` and
    every signal's ``rule``), ``auto_response`` the answer it gives to "may we answer?".

    A quarantined mail (too large, or unreadable) still gets a report; its quarantine reason
    is the first entry of ``defects``. What the parser left out to stay within its limits
    follows, each entry starting with ``truncated:``.
    """
    mail = parse_mail(data)
    verdict = classify(mail, own_addresses=own_addresses,
                       own_message_id_domains=own_message_id_domains, loop_header=loop_header)
    bounce = bounce_info(mail)
    defects = list(mail.defects)
    defects[:0] = [f"truncated: {note}" for note in mail.truncated]
    if mail.quarantine_reason is not None:
        defects.insert(0, f"quarantined: {mail.quarantine_reason}")
    return {
        "file": file,
        "from_address": mail.from_address,
        "from_name": mail.from_name,
        "sender_problem": mail.sender_problem,
        "to": _addresses(mail.to),
        "cc": _addresses(mail.cc),
        "reply_to": _addresses(mail.reply_to),
        "subject": mail.subject,
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "references": list(mail.references),
        "date": mail.date.isoformat() if mail.date is not None else None,
        "content_type": mail.content_type,
        "body_text": mail.body_text,
        "body_html": mail.body_html,
        "new_text": mail.new_text,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size,
             "content_id": a.content_id, "inline": a.inline}
            for a in mail.attachments
        ],
        "automatic": {"kind": verdict.kind.value,
                      "signals": [s.rule for s in verdict.signals]},
        "auto_response": {"suppress": verdict.automatic, "reason": verdict.reason},
        "bounce": {"is_bounce": bounce.is_bounce,
                   "original_message_id": bounce.original_message_id},
        "ticket_numbers": list(ticket_numbers(mail.subject, fmt)),
        "defects": defects,
    }


def _people(entries: list[dict[str, str]]) -> str:
    if not entries:
        return "-"
    return ", ".join(f"{e['name']} <{e['address']}>" if e["name"] else e["address"]
                     for e in entries)


def _excerpt(text: str, limit: int = 400) -> str:
    text = text.strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + " …"
    return "\n".join("    " + line for line in text.splitlines()) or "    (empty)"


def format_report(report: Mapping[str, Any]) -> str:
    """A readable multi-line summary of an :func:`inspect_mail` report."""
    sender = report["from_address"] or "-"
    if report["from_name"]:
        sender = f"{report['from_name']} <{sender}>"
    loop = report["auto_response"]
    machine = report["automatic"]
    bounce = report["bounce"]
    lines = [
        f"== {report['file']}",
        f"From:           {sender}",
        *([f"Sender:         in doubt: {report['sender_problem']}"]
          if report["sender_problem"] else []),
        f"To:             {_people(report['to'])}",
        f"Cc:             {_people(report['cc'])}",
        f"Reply-To:       {_people(report['reply_to'])}",
        f"Subject:        {report['subject']}",
        f"Date:           {report['date'] or '-'}",
        f"Message-ID:     {report['message_id'] or '-'}",
        f"In-Reply-To:    {report['in_reply_to'] or '-'}",
        f"References:     {' '.join(report['references']) or '-'}",
        f"Ticket numbers: {', '.join(report['ticket_numbers']) or '-'}",
        f"Written by:     {machine['kind']}"
        + (f" ({', '.join(machine['signals'])})" if machine["signals"] else ""),
        "Auto-response:  " + (f"suppressed ({loop['reason']})" if loop["suppress"]
                              else "allowed"),
        "Bounce:         " + (
            f"yes (original {bounce['original_message_id'] or 'unknown'})"
            if bounce["is_bounce"] else "no"),
        f"Body:           {report['content_type']}"
        + (" (sanitised HTML kept)" if report["body_html"] is not None else ""),
        "New text:",
        _excerpt(report["new_text"]),
        f"Attachments:    {len(report['attachments'])}",
    ]
    for att in report["attachments"]:
        extra = " inline" if att["inline"] else ""
        if att["content_id"]:
            extra += f" cid={att['content_id']}"
        lines.append(f"  - {att['filename']} ({att['content_type']}, {att['size']} B){extra}")
    lines.append(f"Defects:        {len(report['defects'])}")
    lines.extend(f"  - {d}" for d in report["defects"])
    return "\n".join(lines)
