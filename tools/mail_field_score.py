"""Per-field accuracy of ``parse_mail`` against a plain stdlib parser on a mail corpus.

Usage::

    python3 tools/mail_field_score.py [DIR] [--failures]

``DIR`` (default ``tests/mail/corpus``) holds ``<name>.eml`` files with
``<name>.expected.json`` sidecars in the schema documented in
``tests/mail/test_mail_corpus_files.py``. Every key of a sidecar is one check; a check counts
for the report field it is about (``body_text_contains`` for ``body_text``,
``attachment_names`` for ``attachments`` ...). Both parsers produce the report shape of
``helpdesk mail inspect --json``: ours through :func:`inspect_mail`, the baseline through
``email.message_from_bytes(policy=email.policy.default)`` with the obvious field extraction,
each field guarded by try/except so that one broken header costs only its own field.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.mail.inspect import REPORT_KEYS, inspect_mail

TEXT_FIELDS = ("body_text", "body_html", "new_text", "subject", "from_name")
SUFFIXES = ("_contains", "_excludes", "_startswith", "_order")
PARTIAL_KEYS = {"auto_response", "bounce"}
FIELD_OF = {"attachments_count": "attachments", "attachment_names": "attachments",
            "attachments_include": "attachments", "quarantined": "defects",
            "defects_contains": "defects"}


# ---- checks ------------------------------------------------------------------------------

def field_of(key: str) -> str:
    if key in FIELD_OF:
        return FIELD_OF[key]
    if key.endswith(SUFFIXES):
        return key.rpartition("_")[0]
    return key


def passes(report: dict[str, Any], key: str, want: Any) -> bool:
    """Whether ``report`` meets the one expectation ``key: want``."""
    if key in PARTIAL_KEYS:
        got = report.get(key) or {}
        return all(got.get(k) == v for k, v in want.items())
    if key in REPORT_KEYS:
        return bool(report.get(key) == want)
    attachments = report.get("attachments") or []
    if key == "attachments_count":
        return bool(len(attachments) == want)
    if key == "attachment_names":
        return bool([a.get("filename") for a in attachments] == want)
    if key == "attachments_include":
        return all(any(all(a.get(k) == v for k, v in item.items()) for a in attachments)
                   for item in want)
    defects = report.get("defects") or []
    if key == "quarantined":
        return bool(any(str(d).startswith("quarantined:") for d in defects) == want)
    if key == "defects_contains":
        return all(any(item in str(d) for d in defects) for item in want)
    field, _, kind = key.rpartition("_")
    value = report.get(field)
    text = value if isinstance(value, str) else ""
    if kind == "contains":
        return all(s in text for s in want)
    if kind == "excludes":
        return not any(s in text for s in want)
    if kind == "startswith":
        return text.strip().startswith(want)
    if kind == "order":
        positions = [text.find(s) for s in want]
        return -1 not in positions and positions == sorted(positions)
    return False


# ---- the stdlib baseline -----------------------------------------------------------------

def _guard(default: Any, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:
        return default


def _addresses(msg: Message, name: str) -> list[dict[str, str]]:
    header: Any = msg[name]
    if header is None:
        return []
    return [{"address": a.addr_spec, "name": a.display_name} for a in header.addresses]


def _date(msg: Message) -> str | None:
    header: Any = msg["Date"]
    if header is None or header.datetime is None:
        return None
    value: datetime = header.datetime
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _attachments(msg: EmailMessage) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []

    def walk(part: EmailMessage) -> None:
        for att in part.iter_attachments():
            if att.get_content_maintype() == "multipart":
                walk(att)
                continue
            payload = att.get_payload(decode=True)
            cid = att.get("Content-ID")
            result.append({
                "filename": att.get_filename() or "",
                "content_type": att.get_content_type(),
                "size": len(payload) if isinstance(payload, bytes) else 0,
                "content_id": str(cid).strip().strip("<>") if cid else None,
                "inline": att.get_content_disposition() == "inline",
            })

    if msg.is_multipart():
        walk(msg)
    elif msg.get_content_maintype() not in {"text"}:
        walk_single = msg.get_payload(decode=True)
        result.append({"filename": msg.get_filename() or "",
                       "content_type": msg.get_content_type(),
                       "size": len(walk_single) if isinstance(walk_single, bytes) else 0,
                       "content_id": None, "inline": False})
    return result


def _original_id(msg: EmailMessage) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                value = inner[0].get("Message-ID")
                return str(value).strip() if value else None
    return None


def baseline_report(data: bytes, fmt: TicketNumberFormat) -> dict[str, Any]:
    """The report a plain stdlib parser gives with the obvious extraction."""
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
    except Exception:
        return {key: None for key in REPORT_KEYS}
    assert isinstance(msg, EmailMessage)
    from_ = _guard([], lambda: _addresses(msg, "From"))
    body = _guard(None, lambda: msg.get_body(preferencelist=("plain", "html")))
    html = _guard(None, lambda: msg.get_body(preferencelist=("html",)))
    body_text = _guard("", lambda: body.get_content() if body is not None else "")
    subject = _guard("", lambda: str(msg["Subject"] or ""))
    auto = _guard({"suppress": False, "reason": None}, lambda: {
        "suppress": (str(msg.get("Auto-Submitted", "no")).strip().lower() != "no"
                     or str(msg.get("Precedence", "")).strip().lower() in {"bulk", "junk", "list"}
                     or msg.get("List-Id") is not None),
        "reason": None})
    return {
        "file": "",
        "from_address": from_[0]["address"] if from_ else None,
        "from_name": from_[0]["name"] if from_ else "",
        "to": _guard([], lambda: _addresses(msg, "To")),
        "cc": _guard([], lambda: _addresses(msg, "Cc")),
        "reply_to": _guard([], lambda: _addresses(msg, "Reply-To")),
        "subject": subject,
        "message_id": _guard(None, lambda: str(msg["Message-ID"]).strip() or None
                             if msg["Message-ID"] is not None else None),
        "in_reply_to": _guard(None, lambda: str(msg["In-Reply-To"]).strip() or None
                              if msg["In-Reply-To"] is not None else None),
        "references": _guard([], lambda: str(msg["References"] or "").split()),
        "date": _guard(None, lambda: _date(msg)),
        "content_type": "text/html" if html is not None else "text/plain",
        "body_text": body_text,
        "body_html": _guard(None, lambda: html.get_content() if html is not None else None),
        "new_text": body_text,
        "attachments": _guard([], lambda: _attachments(msg)),
        "auto_response": auto,
        "bounce": _guard({"is_bounce": False, "original_message_id": None}, lambda: {
            "is_bounce": msg.get_content_type() == "multipart/report",
            "original_message_id": _original_id(msg)}),
        "ticket_numbers": _guard([], lambda: list(dict.fromkeys(
            m.group(0).upper() for m in fmt.regex().finditer(subject)))),
        "defects": [],
    }


# ---- scoring -----------------------------------------------------------------------------

def _checked(report: dict[str, Any], key: str, want: Any) -> bool:
    try:
        return passes(report, key, want)
    except Exception:
        return False


def score(directory: Path, *, show_failures: bool = False) -> dict[str, dict[str, int]]:
    """``{field: {"checks": n, "ours": passed, "stdlib": passed}}`` over ``directory``."""
    fmt = TicketNumberFormat()
    table: dict[str, dict[str, int]] = {}
    for path in sorted(directory.glob("*.eml")):
        sidecar = path.with_suffix(".expected.json")
        if not sidecar.is_file():
            continue
        expected = json.loads(sidecar.read_text(encoding="utf-8"))
        data = path.read_bytes()
        try:
            ours = inspect_mail(data, file=path.name, fmt=fmt)
        except Exception as exc:  # never expected; counted as every check failing
            print(f"{path.name}: inspect_mail raised {exc!r}", file=sys.stderr)
            ours = {}
        base = baseline_report(data, fmt)
        for key, want in expected.items():
            if key == "description":
                continue
            row = table.setdefault(field_of(key), {"checks": 0, "ours": 0, "stdlib": 0})
            row["checks"] += 1
            ok_ours = _checked(ours, key, want)
            ok_base = _checked(base, key, want)
            row["ours"] += ok_ours
            row["stdlib"] += ok_base
            if show_failures and not ok_ours:
                print(f"FAIL {path.name}: {key}", file=sys.stderr)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default="tests/mail/corpus", type=Path)
    parser.add_argument("--failures", action="store_true", help="list our failed checks")
    args = parser.parse_args(argv)
    table = score(args.directory, show_failures=args.failures)
    if not table:
        print(f"no .eml with .expected.json in {args.directory}")
        return 1
    print(f"{'field':<16}{'checks':>7}{'ours':>9}{'stdlib':>9}")
    totals = {"checks": 0, "ours": 0, "stdlib": 0}
    for field in sorted(table, key=lambda f: (*REPORT_KEYS, f).index(f)):
        row = table[field]
        for name in totals:
            totals[name] += row[name]
        print(f"{field:<16}{row['checks']:>7}{100 * row['ours'] / row['checks']:>8.1f}%"
              f"{100 * row['stdlib'] / row['checks']:>8.1f}%")
    print(f"{'all checks':<16}{totals['checks']:>7}{100 * totals['ours'] / totals['checks']:>8.1f}%"
          f"{100 * totals['stdlib'] / totals['checks']:>8.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
