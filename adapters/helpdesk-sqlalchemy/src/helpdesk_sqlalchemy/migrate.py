"""Running the alembic migrations that ship inside this package.

Users need no alembic.ini: the script location is set here, and ``upgrade`` runs on the
storage's own engine. The version table has its own name so that a host application's alembic
history in the same database is left alone.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from helpdesk_sqlalchemy.engine import BEGIN_OPTION, storage_errors

__all__ = [
    "SCRIPT_LOCATION",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade",
]

SCRIPT_LOCATION = "helpdesk_sqlalchemy:migrations"
VERSION_TABLE = "helpdesk_alembic_version"
# Any constant works; it only has to be the same in every process migrating one database.
_PG_MIGRATION_LOCK = 0x68656C7064657368  # "helpdesh"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An alembic Config for our scripts; env.py uses ``connection`` if given, else ``url``."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` in one transaction, serialised between processes."""
    with storage_errors("migrating the schema"):
        writer = engine.connect().execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with writer as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                # Two processes starting at once must not both create the tables.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at; None when it has none (an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with storage_errors("reading the schema version"), engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str:
    """The newest revision this version of the package migrates to."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise RuntimeError(f"no migrations in {SCRIPT_LOCATION}")
    return head
