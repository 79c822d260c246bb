"""``inspect_mail`` reports and the ``helpdesk mail inspect`` command line."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core.cli import main
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.mail.inspect import REPORT_KEYS, format_report, inspect_mail

CORPUS = Path(__file__).parent / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.eml"))

EXPECTED_KEYS = {
    "file", "from_address", "from_name", "sender_problem", "to", "cc", "reply_to", "subject",
    "message_id",
    "in_reply_to", "references", "date", "content_type", "body_text", "body_html", "new_text",
    "attachments", "automatic", "auto_response", "bounce", "ticket_numbers", "defects",
}


def _optional_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def check_report(report: dict[str, Any]) -> None:
    assert set(report) == EXPECTED_KEYS
    assert isinstance(report["file"], str)
    assert _optional_str(report["from_address"])
    assert isinstance(report["from_name"], str)
    assert _optional_str(report["sender_problem"])
    for key in ("to", "cc", "reply_to"):
        assert isinstance(report[key], list)
        for entry in report[key]:
            assert set(entry) == {"address", "name"}
            assert isinstance(entry["address"], str)
            assert isinstance(entry["name"], str)
    assert isinstance(report["subject"], str)
    assert _optional_str(report["message_id"])
    assert _optional_str(report["in_reply_to"])
    assert isinstance(report["references"], list)
    assert all(isinstance(r, str) for r in report["references"])
    assert _optional_str(report["date"])
    if report["date"] is not None:
        from datetime import datetime

        datetime.fromisoformat(report["date"])
    assert report["content_type"] in {"text/plain", "text/html"}
    assert isinstance(report["body_text"], str)
    assert _optional_str(report["body_html"])
    assert isinstance(report["new_text"], str)
    assert set(report["automatic"]) == {"kind", "signals"}
    assert report["automatic"]["kind"] in {"person", "auto-reply", "automatic"}
    assert all(isinstance(s, str) for s in report["automatic"]["signals"])
    assert report["auto_response"]["suppress"] == (report["automatic"]["kind"] != "person")
    assert isinstance(report["attachments"], list)
    for att in report["attachments"]:
        assert set(att) == {"filename", "content_type", "size", "content_id", "inline"}
        assert isinstance(att["filename"], str)
        assert isinstance(att["content_type"], str)
        assert isinstance(att["size"], int)
        assert _optional_str(att["content_id"])
        assert isinstance(att["inline"], bool)
    assert set(report["auto_response"]) == {"suppress", "reason"}
    assert isinstance(report["auto_response"]["suppress"], bool)
    assert _optional_str(report["auto_response"]["reason"])
    assert report["auto_response"]["suppress"] == (report["auto_response"]["reason"] is not None)
    assert set(report["bounce"]) == {"is_bounce", "original_message_id"}
    assert isinstance(report["bounce"]["is_bounce"], bool)
    assert _optional_str(report["bounce"]["original_message_id"])
    assert isinstance(report["ticket_numbers"], list)
    assert all(isinstance(n, str) for n in report["ticket_numbers"])
    assert isinstance(report["defects"], list)
    assert all(isinstance(d, str) for d in report["defects"])


def test_report_keys_constant_matches() -> None:
    assert set(REPORT_KEYS) == EXPECTED_KEYS
    assert len(REPORT_KEYS) == len(EXPECTED_KEYS)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_every_corpus_mail_has_exactly_the_documented_keys(path: Path) -> None:
    report = inspect_mail(path.read_bytes(), file=str(path))
    check_report(report)
    # JSON round trip keeps everything
    assert json.loads(json.dumps(report, ensure_ascii=False)) == report
    assert str(path) in format_report(report)


def test_corpus_is_not_empty() -> None:
    assert CORPUS_FILES


def test_outlook_reply_report_values() -> None:
    report = inspect_mail((CORPUS / "outlook_de_reply.eml").read_bytes(), file="x.eml")
    assert report["ticket_numbers"] == ["HD-2026-000042"]
    assert report["auto_response"] == {"suppress": False, "reason": None}
    assert report["bounce"] == {"is_bounce": False, "original_message_id": None}
    assert report["date"] == "2026-11-24T08:15:02+00:00"
    assert report["to"] == [{"address": "support@shop.example", "name": "Support"}]


def test_other_ticket_number_format() -> None:
    report = inspect_mail(b"Subject: Re: [T-42] hi\r\n\r\nbody\r\n", file="t.eml",
                          fmt=TicketNumberFormat(prefix="T-", pattern="{prefix}{seq}"))
    check_report(report)
    assert report["ticket_numbers"] == ["T-42"]


def test_garbage_still_gets_a_report() -> None:
    for data in (b"", b"\x00\xff\xfe garbage", b"Subject: =?bogus?Q?x?=\r\n"):
        check_report(inspect_mail(data, file="g.eml"))


@pytest.mark.parametrize(("name", "problem"), [
    ("outlook_de_reply.eml", None),
    ("duplicate_from_headers.eml", "2 From headers"),
    ("encoded_address_iso_date.eml",
     "no valid address in From (jana.bednarova@example.cz only in its text)"),
    ("missing_from_reply_to.eml", "no From header"),
])
def test_the_report_says_when_the_author_is_in_doubt(name: str, problem: str | None) -> None:
    report = inspect_mail((CORPUS / name).read_bytes(), file=name)
    assert report["sender_problem"] == problem
    text = format_report(report)
    assert (f"Sender:         in doubt: {problem}" in text) is (problem is not None)
    assert ("in doubt" in text) is (problem is not None)


def test_summary_shows_the_decisions() -> None:
    report = inspect_mail((CORPUS / "bounce_report.eml").read_bytes(), file="b.eml")
    text = format_report(report)
    assert "suppressed (auto-submitted: auto-replied)" in text
    assert "yes (original <hd-7-3@shop.example>)" in text
    assert "headers.txt (text/rfc822-headers" in text


def test_cli_json_lines_in_input_order(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in reversed(CORPUS_FILES)]
    assert main(["mail", "inspect", "--json", *files]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == len(files)
    reports = [json.loads(line) for line in lines]
    assert [r["file"] for r in reports] == files
    for report in reports:
        check_report(report)


def test_cli_json_is_not_ascii_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mail", "inspect", "--json", str(CORPUS / "outlook_de_reply.eml")]) == 0
    out = capsys.readouterr().out
    assert "verspätet" in out
    assert "\\u00e4" not in out


def test_cli_missing_file_is_reported_and_others_still_processed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.eml")
    good = str(CORPUS / "bounce_report.eml")
    assert main(["mail", "inspect", "--json", missing, good]) == 1
    out, err = capsys.readouterr()
    first, second = (json.loads(line) for line in out.splitlines())
    assert set(first) == {"file", "error"}
    assert first["file"] == missing
    assert second["file"] == good
    check_report(second)
    assert missing in err
    assert len(err.strip().splitlines()) == 1


def test_cli_directory_is_an_unreadable_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = str(CORPUS / "gmail_forward.eml")
    assert main(["mail", "inspect", str(tmp_path), good]) == 1
    out, err = capsys.readouterr()
    assert str(tmp_path) in err
    assert f"== {good}" in out


def test_cli_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(CORPUS / "outlook_de_reply.eml"), str(CORPUS / "bounce_report.eml")]
    assert main(["mail", "inspect", *files]) == 0
    out = capsys.readouterr().out
    assert out.index(f"== {files[0]}") < out.index(f"== {files[1]}")
    assert "Ticket numbers: HD-2026-000042" in out
    assert "Auto-response:  suppressed (auto-submitted: auto-replied)" in out


def test_cli_prefix_and_pattern(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "t.eml"
    path.write_bytes(b"Subject: AW: [sup#0042] Frage\r\n\r\nText\r\n")
    assert main(["mail", "inspect", "--json", "--prefix", "SUP#", "--pattern",
                 "{prefix}{seq:04d}", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["ticket_numbers"] == ["SUP#0042"]


def test_cli_bad_pattern_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mail", "inspect", "--pattern", "{prefix}", str(CORPUS_FILES[0])]) == 2
    assert "pattern" in capsys.readouterr().err


def test_cli_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["mail", "inspect"])
    assert exc.value.code == 2
    assert "FILE" in capsys.readouterr().err


def test_cli_runs_as_module(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(CORPUS / "bounce_report.eml")
    monkeypatch.setattr(sys, "argv", ["helpdesk", "mail", "inspect", "--json", path])
    sys.modules.pop("helpdesk_core.cli", None)
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("helpdesk_core.cli", run_name="__main__")
    assert exc.value.code == 0
    assert json.loads(capsys.readouterr().out)["bounce"]["is_bounce"] is True


def test_cli_own_addresses_domains_and_loop_header(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    own = tmp_path / "own.eml"
    own.write_bytes(b"From: Support <support@shop.example>\r\nSubject: x\r\n\r\nbody\r\n")
    echoed = tmp_path / "echo.eml"
    echoed.write_bytes(b"From: a@b.example\r\nMessage-ID: <hd-1-1@shop.example>\r\n\r\nb\r\n")
    looped = tmp_path / "loop.eml"
    looped.write_bytes(b"From: a@b.example\r\nX-Acme-Loop: 1\r\n\r\nb\r\n")
    files = [str(own), str(echoed), str(looped)]
    assert main(["mail", "inspect", "--json", *files]) == 0
    plain = [json.loads(line)["auto_response"] for line in capsys.readouterr().out.splitlines()]
    assert plain == [{"suppress": False, "reason": None}] * 3
    assert main(["mail", "inspect", "--json", "--own-address", "SUPPORT@shop.example",
                 "--own-domain", "shop.example", "--loop-header", "X-Acme-Loop", *files]) == 0
    reasons = [json.loads(line)["auto_response"]["reason"]
               for line in capsys.readouterr().out.splitlines()]
    assert reasons == ["own-address", "own-message-id", "loop-header"]
