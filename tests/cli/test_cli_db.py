"""``helpdesk db upgrade`` creates or upgrades the schema; ``helpdesk db current`` shows the
revision and exits 1 when the database or its schema is missing or behind; ``--version``."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from tests.cli.conftest import run

from helpdesk_core.cli import main
from helpdesk_sqlalchemy import SqlAlchemyStorage
from helpdesk_sqlalchemy.migrate import head_revision, upgrade

HEAD = head_revision()


def test_upgrade_creates_the_database_and_current_shows_it(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "sqlite:///desk.sqlite3"
    assert main(["db", "current", "--database-url", url]) == 1
    out, err = capsys.readouterr()
    assert out == "database: sqlite:///desk.sqlite3 (from --database-url)\n"
    assert err.startswith(f"helpdesk: no database at {workdir / 'desk.sqlite3'} — ")
    assert list(workdir.iterdir()) == []  # looked, created nothing

    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert capsys.readouterr().out == (
        f"created the schema at revision {HEAD} in sqlite:///desk.sqlite3 (from --database-url)\n")
    assert main(["db", "current", "--database-url", url]) == 0
    assert capsys.readouterr() == (
        f"database: sqlite:///desk.sqlite3 (from --database-url)\ncurrent:  {HEAD}\n"
        f"newest:   {HEAD}\n", "")
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert capsys.readouterr().out == (
        f"sqlite:///desk.sqlite3 (from --database-url) is at revision {HEAD}, the newest\n")
    assert main(["mail", "quarantine", "--database-url", url]) == 0


def test_a_schema_that_is_behind_is_reported_and_upgraded(
        workdir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "sqlite:///old.sqlite3")
    storage = SqlAlchemyStorage.from_url("sqlite:///old.sqlite3")
    upgrade(storage.engine, "0003")
    storage.close()

    assert main(["db", "current"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["database: sqlite:///old.sqlite3 (from HELPDESK_DATABASE_URL)",
                                "current:  0003", f"newest:   {HEAD}"]
    assert err == ("helpdesk: the database is not at the newest revision; create or upgrade "
                   "it with: helpdesk db upgrade\n")
    # the other commands refuse it rather than fail in the middle of their work
    assert main(["mail", "quarantine"]) == 2
    assert capsys.readouterr().err == (
        "helpdesk: the database sqlite:///old.sqlite3 (from HELPDESK_DATABASE_URL) is at "
        f"revision 0003, this version needs {HEAD}; create or upgrade it with: "
        "helpdesk db upgrade\n")

    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == (
        f"upgraded sqlite:///old.sqlite3 (from HELPDESK_DATABASE_URL) from revision 0003 "
        f"to {HEAD}\n")
    assert main(["db", "current"]) == 0


def test_an_empty_database_has_no_schema(workdir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "empty.sqlite3").touch()
    assert main(["db", "current", "--database-url", "sqlite:///empty.sqlite3"]) == 1
    out, err = capsys.readouterr()
    assert "current:  none (no helpdesk schema)" in out
    assert err == ("helpdesk: the database has no helpdesk schema; create or upgrade it with: "
                   "helpdesk db upgrade\n")


def test_a_storage_without_schema_versions_says_so(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HELPDESK_STORAGE", "memory")
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "the memory storage keeps no schema versions: nothing to do\n"
    assert main(["db", "current"]) == 2
    assert capsys.readouterr().err == "helpdesk: the memory storage keeps no schema versions\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"helpdesk-core {version('helpdesk-core')}\n"


def test_the_script_and_python_m_work(workdir: Path) -> None:
    done = run("--version", cwd=workdir, script=True)
    assert (done.returncode, done.stderr) == (0, "")
    assert re.fullmatch(r"helpdesk-core \d+\.\d+\S*\n", done.stdout)
    done = run("db", "upgrade", "--database-url", "sqlite:///run.sqlite3", cwd=workdir)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    done = run("db", "current", "--database-url", "sqlite:///run.sqlite3", cwd=workdir)
    assert done.returncode == 0
    assert f"current:  {HEAD}" in done.stdout


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["db"], ["db", "downgrade"], ["sla", "sweep"], ["mail", "fetch", "--loop"],
                 ["outbox", "dispatch", "--settings", "x:y", "--interval", "soon"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
        assert capsys.readouterr().err.startswith("usage: helpdesk")
