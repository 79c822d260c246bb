"""``helpdesk mail quarantine`` and ``helpdesk mail reprocess`` on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.services.mail_support import raw_mail

from helpdesk_core import Settings, bootstrap
from helpdesk_core.cli import main
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.testing import MemoryInbox


def test_list_and_reprocess_quarantined_mail(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    strict = Settings(database_url=url, mail_policy=MailPolicy(unknown_sender="quarantine"))
    inbox = MemoryInbox("support")
    key = inbox.deliver(raw_mail(sender="new.customer@example.org"))
    with bootstrap(strict, environ={}) as desk:
        assert desk.mail.fetch(inbox).outcomes == {"quarantined": 1}

    assert main(["mail", "quarantine", "--database-url", url, "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    listed = json.loads(line)
    assert (listed["account"], listed["key"], listed["state"]) == ("support", key,
                                                                   "quarantined")
    assert listed["reason"] == "unknown sender (policy: quarantine)"

    # The default policy creates contacts: reprocessing now opens the ticket.
    assert main(["mail", "reprocess", "--database-url", url, "--account", "support"]) == 0
    assert capsys.readouterr().out.strip() == f"support {key}: processed (new_ticket)"
    with bootstrap(Settings(database_url=url), environ={}) as desk:
        assert desk.mail.staged(state=StagedState.QUARANTINED) == []
        [ticket] = desk.tickets.queue().items
        assert ticket.channel.value == "email"

    assert main(["mail", "quarantine", "--database-url", url]) == 0
    assert capsys.readouterr().out == "no quarantined mail\n"
    assert main(["mail", "quarantine", "--database-url", url, "--json"]) == 0
    assert capsys.readouterr() == ("", "helpdesk: no quarantined mail\n")
    assert main(["mail", "reprocess", "--database-url", url, "--account", "support"]) == 0
    assert capsys.readouterr().out == "no quarantined mail to reprocess in account 'support'\n"


def test_reprocessing_a_key_that_is_not_quarantined_is_not_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    bootstrap(Settings(database_url=url), environ={}).close()
    assert main(["mail", "reprocess", "--database-url", url, "--key", "nope"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("helpdesk: no quarantined mail with the key nope "
                   "(helpdesk mail quarantine lists them)\n")


def test_the_database_can_come_from_the_settings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    bootstrap(Settings(database_url=url), environ={}).close()
    (tmp_path / "shop_settings.py").write_text(
        f"from helpdesk_core import Settings\nsettings = Settings(database_url={url!r})\n")
    assert main(["mail", "quarantine", "--settings", "shop_settings:settings"]) == 0
    assert capsys.readouterr().out == "no quarantined mail\n"


def test_mail_the_server_will_not_flag_is_listed_with_the_quarantine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    inbox = MemoryInbox("support")
    key = inbox.deliver(raw_mail(sender="jana@example.org"))
    inbox.refuse_acknowledge.add(key)
    with bootstrap(Settings(database_url=url), environ={}) as desk:
        assert list(desk.mail.fetch(inbox).ack_failed) == [key]

    assert main(["mail", "quarantine", "--database-url", url]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"support {key}: processed (new_ticket); not acknowledged on the "
                           "server (1 failed, next try ")
    assert line.endswith(f"UTC): NO [CANNOT] flagging {key} refused")
    assert main(["mail", "quarantine", "--database-url", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["state"], listed["acknowledged"], listed["ack_attempts"]) == (
        "processed", False, 1)
    assert listed["ack_error"] == f"NO [CANNOT] flagging {key} refused"
    assert listed["ack_next_at"]
