"""Alembic environment for helpdesk-sqlalchemy.

Run programmatically by ``SqlAlchemyStorage.migrate()`` (which passes its connection in
``config.attributes["connection"]``), or from the command line for writing new revisions:
``alembic -x url=sqlite:///dev.sqlite3 -c <(printf '[alembic]\\nscript_location=...')``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from helpdesk_sqlalchemy.engine import create_engine_for
from helpdesk_sqlalchemy.migrate import VERSION_TABLE
from helpdesk_sqlalchemy.tables import metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    return url or config.get_main_option("sqlalchemy.url") or "sqlite:///helpdesk.sqlite3"


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite alters tables by copying them; autogenerate must write batch operations.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller owns the connection and its transaction.
        _configure(connection)
        context.run_migrations()
        return
    engine = create_engine_for(_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
