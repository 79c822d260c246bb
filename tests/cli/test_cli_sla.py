"""``helpdesk sla sweep`` and ``helpdesk sla recompute`` against a real SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.cli import sla_cli_settings
from tests.cli.conftest import open_tickets, sla_settings

from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.cli import main
from helpdesk_core.domain.history import EventKind
from helpdesk_core.settings import Settings

SPEC = "tests.cli.sla_cli_settings:settings"


def test_recompute_and_sweep_from_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HELPDESK_TEST_SLA_URL", f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    with bootstrap(sla_cli_settings.settings(), environ={}) as desk:
        ticket = desk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "Konvice"})
        first_due = desk.tickets.get(ticket.number).due_at
    assert first_due is not None

    assert main(["sla", "recompute", "--settings", SPEC]) == 0
    assert capsys.readouterr().out.strip() == "recomputed 1 ticket(s)"

    assert main(["sla", "sweep", "--settings", SPEC]) == 0
    # created just now with 8 hours round the clock: the 50 % level is four hours away
    assert capsys.readouterr().out.strip() == "due 0, fired 0, notified 0, conflicts 0"
    with bootstrap(sla_cli_settings.settings(), environ={}) as desk:
        assert desk.tickets.get(ticket.number).due_at == first_due  # same policy, same deadline
        history = desk.tickets.history(ticket.number)
    assert [e.kind for e in history].count(EventKind.SLA_POLICY) == 1


def test_bad_settings_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sla", "sweep", "--settings", "no.such.module:settings"]) == 2
    assert capsys.readouterr().err.startswith("helpdesk: cannot load")
    assert main(["sla", "sweep", "--settings", "tests.cli.sla_cli_settings:POLICY"]) == 2
    assert "not a Settings object" in capsys.readouterr().err


def test_a_sweep_says_when_more_are_due_and_until_done_sweeps_them_all(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{workdir / 'desk.sqlite3'}"
    settings_file = sla_settings(workdir / "quick.py", url, seconds=1)
    open_tickets(settings_file, 5)
    time.sleep(0.6)  # the 50 % level of a one-second target

    assert main(["sla", "sweep", "--settings", "quick:settings", "--limit", "2"]) == 0
    assert capsys.readouterr().out.strip() == (
        "due 2, fired 2, notified 2, conflicts 0; more tickets are due: run it again, "
        "or with --until-done")
    assert main(["sla", "sweep", "--settings", "quick:settings", "--limit", "2",
                 "--until-done"]) == 0
    assert capsys.readouterr().out.strip() == "due 3, fired 3, notified 3, conflicts 0 in 2 rounds"
    assert main(["sla", "sweep", "--settings", "quick:settings"]) == 0
    assert capsys.readouterr().out.strip() == "due 0, fired 0, notified 0, conflicts 0"


def test_commands_that_need_policies_say_when_the_settings_have_none(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{workdir / 'desk.sqlite3'}"
    bootstrap(Settings(database_url=url), environ={}).close()
    (workdir / "plain.py").write_text(f"from helpdesk_core import Settings\n"
                                      f"settings = Settings(database_url={url!r})\n")
    for command in ("sweep", "recompute"):
        assert main(["sla", command, "--settings", "plain:settings"]) == 2
        err = capsys.readouterr().err
        assert err == "helpdesk: the settings plain:settings have no SLA policies " \
                      "(Settings.sla is None): there is nothing to do\n"


def test_recompute_of_a_ticket_that_does_not_exist_is_not_found(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{workdir / 'desk.sqlite3'}"
    settings_file = sla_settings(workdir / "quick.py", url)
    open_tickets(settings_file, 1)
    assert main(["sla", "recompute", "--settings", "quick:settings", "--ticket", "HD-NOPE"]) == 1
    err = capsys.readouterr().err
    assert "HD-NOPE" in err
    assert len(err.splitlines()) == 1
