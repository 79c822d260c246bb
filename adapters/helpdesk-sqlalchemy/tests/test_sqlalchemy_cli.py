"""``helpdesk db current`` and ``helpdesk db upgrade`` on PostgreSQL: an empty schema is reported
and left alone by every other command; upgrade creates the tables; current then agrees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk_core.cli import main
from helpdesk_sqlalchemy.migrate import head_revision
from sa_support import create_pg_schema, drop_pg_schema


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    schema, url = create_pg_schema()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.mark.postgres
def test_db_current_and_upgrade_on_postgresql(pg_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    head = head_revision()
    assert main(["db", "current", "--database-url", pg_url]) == 1
    out, err = capsys.readouterr()
    assert "current:  none (no helpdesk schema)" in out
    assert err == ("helpdesk: the database has no helpdesk schema; create or upgrade it with: "
                   "helpdesk db upgrade\n")
    assert main(["mail", "quarantine", "--database-url", pg_url]) == 2
    assert "has no helpdesk schema" in capsys.readouterr().err

    assert main(["db", "upgrade", "--database-url", pg_url]) == 0
    assert capsys.readouterr().out.startswith(f"created the schema at revision {head} in ")
    assert main(["db", "current", "--database-url", pg_url]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"current:  {head}", f"newest:   {head}"]
    assert main(["mail", "quarantine", "--database-url", pg_url]) == 0
    assert capsys.readouterr().out == "no quarantined mail\n"
