"""Only ``helpdesk db upgrade`` creates or migrates a database; every other command refuses a
SQLite file that does not exist, and a schema that is missing or behind, naming the database
it looked for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.cli.conftest import run, sla_settings

from helpdesk_core.cli import main

SPEC = "quick:settings"
# Every command that opens the database, with what it needs besides: the settings module
# "quick" names sqlite:///missing.sqlite3 in the working directory.
COMMANDS = [
    ["mail", "quarantine"],
    ["mail", "reprocess"],
    ["mail", "reprocess", "--key", "1:1"],
    ["sla", "sweep", "--settings", SPEC],
    ["sla", "recompute", "--settings", SPEC],
    ["outbox", "dispatch", "--settings", SPEC, "--mail-sender", "smtp"],
]


@pytest.fixture
def settings_module(workdir: Path) -> Path:
    return sla_settings(workdir / "quick.py", "sqlite:///missing.sqlite3")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_command_but_db_upgrade_creates_a_database(
        command: list[str], workdir: Path, settings_module: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--database-url", "sqlite:///missing.sqlite3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"helpdesk: no database at {workdir / 'missing.sqlite3'} — "
                          "sqlite:///missing.sqlite3 (from --database-url)")
    assert "helpdesk db upgrade" in err
    assert len(err.splitlines()) == 1
    assert sorted(p.name for p in workdir.iterdir()) == ["quick.py"]


def test_without_a_database_url_the_default_is_named(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mail", "quarantine"]) == 2
    assert capsys.readouterr().err == (
        f"helpdesk: no database at {workdir / 'helpdesk.sqlite3'} — sqlite:///helpdesk.sqlite3 "
        "(the default sqlite:///helpdesk.sqlite3: HELPDESK_DATABASE_URL is not set); name the "
        "database with --database-url or HELPDESK_DATABASE_URL, or create or upgrade it with: "
        "helpdesk db upgrade\n")
    assert list(workdir.iterdir()) == []


def test_a_mistyped_path_in_the_environment_is_named(
        workdir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite:///{workdir}/dsek.sqlite3")
    assert main(["mail", "reprocess", "--key", "1:2"]) == 2
    assert "(from HELPDESK_DATABASE_URL)" in capsys.readouterr().err
    assert list(workdir.iterdir()) == []


def test_the_settings_database_is_named(workdir: Path, settings_module: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sla", "sweep", "--settings", SPEC]) == 2
    assert "sqlite:///missing.sqlite3 (from --settings quick:settings)" in \
        capsys.readouterr().err
    assert sorted(p.name for p in workdir.iterdir()) == ["quick.py"]


def test_an_empty_database_is_not_migrated(workdir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    empty = workdir / "empty.sqlite3"
    empty.touch()
    assert main(["mail", "quarantine", "--database-url", f"sqlite:///{empty}"]) == 2
    err = capsys.readouterr().err
    assert str(empty) in err
    assert "helpdesk db upgrade" in err
    assert len(err.splitlines()) == 1
    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_a_password_in_the_url_is_not_shown(capsys: pytest.CaptureFixture[str]) -> None:
    from helpdesk_core.cli._shared import safe_url

    assert safe_url("postgresql://helpdesk:s3cret@db.example/hd") == \
        "postgresql://helpdesk:***@db.example/hd"
    assert safe_url("sqlite:///a:b@c.sqlite3") == "sqlite:///a:b@c.sqlite3"


def test_a_real_process_exits_2_with_one_line_and_creates_nothing(workdir: Path) -> None:
    done = run("mail", "quarantine", cwd=workdir)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("helpdesk: no database at ")
    assert len(done.stderr.splitlines()) == 1
    assert list(workdir.iterdir()) == []
