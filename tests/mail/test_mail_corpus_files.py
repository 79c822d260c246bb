"""Every ``tests/mail/corpus/*.eml`` against its ``<name>.expected.json`` sidecar.

Each mail goes through :func:`parse_mail` and through the ``helpdesk mail inspect --json``
report builder (:func:`inspect_mail`); neither may raise. The sidecar names only the fields
the mail is about, written from what a careful reader of the mail would say is correct.

Sidecar schema (a JSON object; every key is optional):

``description``
    What the mail is and why it is in the corpus (not checked).
any report key (``from_address``, ``from_name``, ``to``, ``cc``, ``reply_to``, ``subject``,
``message_id``, ``in_reply_to``, ``references``, ``date``, ``content_type``, ``body_text``,
``body_html``, ``new_text``, ``attachments``, ``ticket_numbers``)
    Equal to the report value, in the report's shape (``to`` is a list of
    ``{"address", "name"}``, ``date`` an ISO string in UTC, ``attachments`` a list of
    ``{"filename", "content_type", "size", "content_id", "inline"}`` in order).
``automatic``, ``auto_response``, ``bounce``
    Objects; only the keys given are compared (``{"suppress": true}`` ignores the reason).
``<text field>_contains`` / ``<text field>_excludes``
    Lists of substrings that must / must not occur in ``body_text``, ``body_html``,
    ``new_text``, ``subject`` or ``from_name`` (a missing ``body_html`` counts as "").
``<text field>_startswith``
    A prefix the (stripped) text field must start with.
``<text field>_order``
    Substrings that must occur in this order.
``attachments_count``
    The number of attachments.
``attachment_names``
    The attachment file names, in order.
``attachments_include``
    Objects, each a subset of some attachment entry.
``quarantined``
    Whether the mail was quarantined (a limit was hit).
``defects_contains``
    Substrings each found in at least one entry of ``defects``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core.mail import parse_mail
from helpdesk_core.mail.inspect import REPORT_KEYS, inspect_mail

CORPUS = Path(__file__).parent / "corpus"
MIN_CORPUS_FILES = 60
TEXT_FIELDS = ("body_text", "body_html", "new_text", "subject", "from_name")
SUFFIXES = ("_contains", "_excludes", "_startswith", "_order")
EXTRA_KEYS = {"description", "attachments_count", "attachment_names", "attachments_include",
              "quarantined", "defects_contains"}
PARTIAL_KEYS = {"automatic", "auto_response", "bounce"}


def check(report: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Every expectation in ``expected`` that ``report`` does not meet, one message each."""
    failures: list[str] = []

    def text(field: str) -> str:
        value = report[field]
        return value if isinstance(value, str) else ""

    for key, want in expected.items():
        if key == "description":
            continue
        if key in PARTIAL_KEYS:
            got = {k: report[key].get(k) for k in want}
            if got != want:
                failures.append(f"{key}: want {want!r}, got {got!r}")
        elif key in REPORT_KEYS:
            if report[key] != want:
                failures.append(f"{key}: want {want!r}, got {report[key]!r}")
        elif key == "attachments_count":
            if len(report["attachments"]) != want:
                failures.append(f"{key}: want {want}, got {len(report['attachments'])}")
        elif key == "attachment_names":
            names = [a["filename"] for a in report["attachments"]]
            if names != want:
                failures.append(f"{key}: want {want!r}, got {names!r}")
        elif key == "attachments_include":
            for item in want:
                if not any(all(a.get(k) == v for k, v in item.items())
                           for a in report["attachments"]):
                    failures.append(f"{key}: no attachment matches {item!r}")
        elif key == "quarantined":
            got_q = any(d.startswith("quarantined:") for d in report["defects"])
            if got_q != want:
                failures.append(f"{key}: want {want}, got {got_q}")
        elif key == "defects_contains":
            for item in want:
                if not any(item in d for d in report["defects"]):
                    failures.append(f"{key}: no defect mentions {item!r}")
        elif key.endswith(SUFFIXES):
            field, _, kind = key.rpartition("_")
            if field not in TEXT_FIELDS:
                failures.append(f"{key}: unknown text field")
                continue
            value = text(field)
            if kind == "contains":
                failures += [f"{key}: {s!r} missing" for s in want if s not in value]
            elif kind == "excludes":
                failures += [f"{key}: {s!r} present" for s in want if s in value]
            elif kind == "startswith":
                if not value.strip().startswith(want):
                    failures.append(f"{key}: {value.strip()[:80]!r} does not start with {want!r}")
            else:
                positions = [value.find(s) for s in want]
                if -1 in positions or positions != sorted(positions):
                    failures.append(f"{key}: {want!r} not in this order")
        else:
            failures.append(f"{key}: unknown expectation key")
    return failures


FILES = sorted(CORPUS.glob("*.eml"))


def test_corpus_does_not_shrink() -> None:
    assert len(FILES) >= MIN_CORPUS_FILES


def test_every_corpus_file_has_a_sidecar() -> None:
    missing = [p.name for p in FILES if not p.with_suffix(".expected.json").is_file()]
    assert missing == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_file_meets_its_expectations(path: Path) -> None:
    data = path.read_bytes()
    mail = parse_mail(data)
    assert mail.raw == data
    report = inspect_mail(data, file=path.name)
    assert set(report) == set(REPORT_KEYS)
    json.dumps(report)  # the --json output must be serialisable
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert isinstance(expected, dict)
    unknown = [k for k in expected if not (k in REPORT_KEYS or k in EXTRA_KEYS
                                           or k.endswith(SUFFIXES))]
    assert unknown == []
    assert check(report, expected) == []
