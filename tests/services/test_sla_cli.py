"""``helpdesk sla sweep`` and ``helpdesk sla recompute`` against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.services import sla_cli_settings

from helpdesk_core.cli import main
from helpdesk_core.domain.history import EventKind

SPEC = "tests.services.sla_cli_settings:settings"


def test_recompute_and_sweep_from_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from helpdesk_core.bootstrap import bootstrap

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


def test_bad_settings_are_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sla", "sweep", "--settings", "no.such.module:settings"]) == 1
    assert capsys.readouterr().err.startswith("helpdesk: cannot load")
    assert main(["sla", "sweep", "--settings", "tests.services.sla_cli_settings:POLICY"]) == 1
    assert "not a Settings object" in capsys.readouterr().err
