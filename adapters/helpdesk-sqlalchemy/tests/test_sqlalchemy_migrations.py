"""The alembic history builds exactly the schema that ``tables.py`` describes."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from helpdesk_sqlalchemy import SqlAlchemyStorage, metadata
from helpdesk_sqlalchemy.migrate import VERSION_TABLE, alembic_config, current_revision
from sa_support import create_pg_schema, drop_pg_schema, sqlite_url_for


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrated_schema_matches_the_metadata(url: str) -> None:
    storage = SqlAlchemyStorage.from_url(url)
    storage.migrate()
    with storage.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        differences = compare_metadata(context, metadata)
    storage.close()
    assert differences == []


def _sqlite_index_sql(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )).all()
    return {name: " ".join(sql.split()) for name, sql in rows}


def test_sqlite_indexes_equal_create_all_including_partial_predicates(tmp_path: Path) -> None:
    """Autogenerate compares neither index predicates nor collations, so the migrated
    catalog is also compared with one made by ``metadata.create_all``."""
    migrated = SqlAlchemyStorage.from_url(sqlite_url_for(tmp_path / "migrated.sqlite3"))
    migrated.migrate()
    created = SqlAlchemyStorage.from_url(sqlite_url_for(tmp_path / "created.sqlite3"))
    metadata.create_all(created.engine)
    got, want = _sqlite_index_sql(migrated.engine), _sqlite_index_sql(created.engine)
    migrated.close()
    created.close()
    assert got == want
    assert "WHERE status_category IN" in got["ix_tickets_active_priority"]


def _pg_catalog(engine: Engine, schema: str) -> tuple[dict[str, str], set[tuple[str, ...]]]:
    with engine.connect() as conn:
        indexes = {
            name: definition.replace(f"{schema}.", "")
            for name, definition in conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"
            ), {"s": schema})
        }
        columns = {
            tuple(str(v) for v in row)
            for row in conn.execute(text(
                "SELECT table_name, column_name, data_type, collation_name, is_nullable"
                " FROM information_schema.columns WHERE table_schema = :s"
                " AND table_name <> :v"
            ), {"s": schema, "v": VERSION_TABLE})
        }
    indexes.pop(f"{VERSION_TABLE}_pkc", None)
    return indexes, columns


@pytest.mark.postgres
def test_postgres_catalog_equals_create_all_including_predicates_and_collations() -> None:
    migrated_schema, migrated_url = create_pg_schema()
    created_schema, created_url = create_pg_schema()
    try:
        migrated = SqlAlchemyStorage.from_url(migrated_url)
        migrated.migrate()
        created = SqlAlchemyStorage.from_url(created_url)
        metadata.create_all(created.engine)
        got = _pg_catalog(migrated.engine, migrated_schema)
        want = _pg_catalog(created.engine, created_schema)
        migrated.close()
        created.close()
    finally:
        drop_pg_schema(migrated_schema)
        drop_pg_schema(created_schema)
    assert got == want
    indexes, columns = got
    assert "WHERE" in indexes["ix_tickets_active_priority"]
    collations = {(t, c): coll for t, c, _type, coll, _null in columns}
    # Queue sort keys and subtree ranges need code-point order whatever the database default.
    assert collations[("tickets", "id")] == "C"
    assert collations[("tickets", "incident_type")] == "C"
    assert collations[("incident_types", "key")] == "C"


def test_migrate_is_idempotent_and_records_the_head(url: str) -> None:
    storage = SqlAlchemyStorage.from_url(url)
    assert current_revision(storage.engine) is None
    assert storage.schema_revision() == (None, _head())
    storage.migrate()
    storage.migrate()
    assert current_revision(storage.engine) == _head()
    assert storage.schema_revision() == (_head(), _head())
    tables = set(inspect(storage.engine).get_table_names())
    storage.close()
    assert tables == {*metadata.tables, VERSION_TABLE}
    assert "alembic_version" not in tables  # a host application's history stays its own


def test_downgrade_to_base_and_upgrade_again(url: str) -> None:
    storage = SqlAlchemyStorage.from_url(url)
    storage.migrate()
    with storage.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(storage.engine).get_table_names()) <= {VERSION_TABLE}
    storage.migrate()
    assert current_revision(storage.engine) == _head()
    storage.close()


def test_every_revision_is_linear_and_documented() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    for revision in revisions:
        assert revision.doc, revision.revision
        assert re.fullmatch(r"\d{4}", revision.revision), "revisions are numbered 0001, 0002..."


def test_migration_scripts_are_package_data() -> None:
    root = files("helpdesk_sqlalchemy") / "migrations"
    assert (root / "env.py").is_file()
    assert (root / "script.py.mako").is_file()
    assert (root / "versions" / "0001_initial.py").is_file()
