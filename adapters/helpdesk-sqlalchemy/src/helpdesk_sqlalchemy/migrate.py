"""The schema's version: checking it at start-up, and running the alembic migrations that ship
inside this package when it is behind.

**Start-up costs one query.** :func:`ensure_schema` (what ``SqlAlchemyStorage.migrate()`` and so
``bootstrap()`` with ``Settings(migrate=True)`` run) and :func:`check_schema` (with
``migrate=False``) read the database's revision from the version table and compare it with
:data:`HEAD_REVISION`, a constant: no migration script is read and alembic is not imported
unless the schema is missing or behind. A test keeps :data:`REVISIONS` equal to the history in
``migrations/versions`` (adding a revision means adding it there too).

**Migrating** runs ``alembic upgrade`` in one transaction, serialised between processes (an
advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). alembic's own INFO lines
("Context impl ...", "Running upgrade ...") are held back unless the host set a level on the
``alembic`` logger itself; this module's logger says in one line from which revision to which.

Users need no alembic.ini: the script location is set here. The version table has its own name
(``helpdesk_alembic_version``) so that a host application's alembic history in the same
database is left alone.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from helpdesk_core.errors import SchemaError
from helpdesk_sqlalchemy.engine import BEGIN_OPTION, storage_errors

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD_REVISION",
    "REVISIONS",
    "SCRIPT_LOCATION",
    "VERSION_TABLE",
    "SchemaState",
    "SchemaStatus",
    "alembic_config",
    "check_schema",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "schema_status",
    "upgrade",
]

SCRIPT_LOCATION = "helpdesk_sqlalchemy:migrations"
VERSION_TABLE = "helpdesk_alembic_version"
# Every revision in migrations/versions, oldest first (test_sqlalchemy_startup.py compares
# this with alembic's own reading of the scripts).
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007",
                               "0009", "0010", "0011", "0012", "0013")
HEAD_REVISION = REVISIONS[-1]
# Any constant works; it only has to be the same in every process migrating one database.
_PG_MIGRATION_LOCK = 0x68656C7064657368  # "helpdesh"
_READ_VERSION = f"SELECT version_num FROM {VERSION_TABLE}"
_HOW_TO_UPGRADE = "`helpdesk db upgrade`, or bootstrap once with Settings(migrate=True)"

log = logging.getLogger(__name__)


class SchemaState(enum.Enum):
    """How a database's helpdesk schema compares with what this package needs."""

    MISSING = "missing"  # no helpdesk schema (an empty database, or downgraded to base)
    BEHIND = "behind"  # an older revision of ours: upgrading brings it up to date
    CURRENT = "current"  # exactly HEAD_REVISION
    AHEAD = "ahead"  # a revision this package does not know: written by a newer version


@attrs.frozen
class SchemaStatus:
    """The revision found in a database (``current``; ``None``: no helpdesk schema) and the
    one this package needs (``head``)."""

    current: str | None
    head: str = attrs.field(default=HEAD_REVISION, init=False)

    @property
    def state(self) -> SchemaState:
        if self.current is None:
            return SchemaState.MISSING
        if self.current == self.head:
            return SchemaState.CURRENT
        if self.current in REVISIONS:
            return SchemaState.BEHIND
        return SchemaState.AHEAD

    def problem(self, where: str) -> SchemaError | None:
        """The error that says what is wrong and how to fix it; ``None`` when up to date."""
        state = self.state
        if state is SchemaState.CURRENT:
            return None
        if state is SchemaState.MISSING:
            message = (f"the helpdesk schema is missing from {where}: create it with "
                       f"{_HOW_TO_UPGRADE}")
        elif state is SchemaState.BEHIND:
            message = (f"the helpdesk schema of {where} is at revision {self.current}, this "
                       f"version of helpdesk-sqlalchemy needs {self.head}: upgrade it with "
                       f"{_HOW_TO_UPGRADE}")
        else:
            message = (f"the helpdesk schema of {where} is at revision {self.current}, which "
                       f"this version of helpdesk-sqlalchemy (schema {self.head}) does not know: "
                       f"a newer helpdesk-sqlalchemy has upgraded this database; run that "
                       f"version here too (a schema is never downgraded automatically)")
        return SchemaError(message, current=self.current, required=self.head)


def head_revision() -> str:
    """The schema revision this package needs, without reading any migration script."""
    return HEAD_REVISION


def schema_status(engine: Engine) -> SchemaStatus:
    """Read the database's revision: one query when the version table exists (a second, to
    tell a missing table from a failure, only when it does not)."""
    with storage_errors("reading the schema version"):
        try:
            return SchemaStatus(_read_revision(engine))
        except (sa_exc.OperationalError, sa_exc.ProgrammingError):
            with engine.connect() as conn:
                if inspect(conn).has_table(VERSION_TABLE):
                    raise
            return SchemaStatus(None)


def _read_revision(engine: Engine) -> str | None:
    """The one query of a start-up, on a pooled connection's DB-API cursor: SQLAlchemy's
    connection, transaction and result objects would add a quarter of what opening a bare
    connection costs. Driver errors leave as SQLAlchemy's ``DBAPIError`` subclasses, as on
    the hot paths (:mod:`helpdesk_sqlalchemy.driver`); the statement is logged at DEBUG."""
    log.debug("%s", _READ_VERSION)
    dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()  # the pool does not translate driver errors
    except dbapi_error as error:
        raise sa_exc.DBAPIError.instance(None, None, error, dbapi_error,
                                         dialect=engine.dialect) from error
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(_READ_VERSION)
            return _revision_of(cursor.fetchall())
        except dbapi_error as error:
            if engine.dialect.is_disconnect(error, connection.dbapi_connection,  # type: ignore[arg-type]
                                            cursor):
                connection.invalidate(error)  # the pool must not hand it out again
            raise sa_exc.DBAPIError.instance(_READ_VERSION, None, error, dbapi_error,
                                             dialect=engine.dialect) from error
        finally:
            with contextlib.suppress(dbapi_error):
                cursor.close()
    finally:
        connection.close()  # back to the pool, which rolls back what the driver began


def check_schema(engine: Engine) -> SchemaStatus:
    """The status if the schema is exactly the one this package needs; else SchemaError
    (missing, behind or ahead), changing nothing."""
    status = schema_status(engine)
    if status.state is not SchemaState.CURRENT:
        _refuse(status, engine)
    return status


def ensure_schema(engine: Engine) -> SchemaStatus:
    """Create the schema or upgrade it when it is behind; one query when it is up to date.
    A schema newer than this package is a SchemaError (it is never downgraded)."""
    status = schema_status(engine)
    state = status.state
    if state is SchemaState.AHEAD:
        _refuse(status, engine)
    if state is not SchemaState.CURRENT:
        upgrade(engine)
        status = SchemaStatus(HEAD_REVISION)
    return status


def current_revision(engine: Engine) -> str | None:
    """The database's revision; ``None`` when it has no helpdesk schema."""
    return schema_status(engine).current


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An alembic Config for our scripts; env.py uses ``connection`` if given, else ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` in one transaction, serialised between processes.

    Logs one line when it changed the schema. A database at a revision this package does not
    know is a SchemaError, not a downgrade."""
    with storage_errors("migrating the schema"):
        writer = engine.connect().execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with writer as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                # Two processes starting at once must not both create the tables.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            before = _locked_revision(conn)
            status = SchemaStatus(before)
            if status.state is SchemaState.AHEAD:
                _refuse(status, engine)
            target = HEAD_REVISION if revision == "head" else revision
            if before == target:
                return  # another process got there first
            with _alembic_quiet():
                from alembic import command

                command.upgrade(alembic_config(conn), revision)
            after = _locked_revision(conn)
    if after != before:
        if before is None:
            log.info("created the helpdesk schema at revision %s in %s", after, _where(engine))
        else:
            log.info("upgraded the helpdesk schema from revision %s to %s in %s", before, after,
                     _where(engine))


def _locked_revision(conn: Connection) -> str | None:
    """The revision, read inside the migration's transaction (which a failed statement would
    end on PostgreSQL, hence the look at the catalog first)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return _revision_of(conn.exec_driver_sql(_READ_VERSION).all())


def _revision_of(rows: Sequence[Any]) -> str | None:
    versions = sorted(str(row[0]) for row in rows)
    if not versions:
        return None
    # Our history is linear: several rows mean branches that are not ours.
    return ",".join(versions)


def _refuse(status: SchemaStatus, engine: Engine) -> NoReturn:
    error = status.problem(_where(engine))
    assert error is not None, "only a schema that is not current is refused"
    raise error


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


# Held while alembic's logger is quietened, so that two upgrades in one process (threads
# starting two helpdesks) cannot restore each other's level too early or too late.
_QUIET = threading.Lock()


@contextlib.contextmanager
def _alembic_quiet() -> Iterator[None]:
    """alembic's INFO lines stay out of the host's log, unless the host chose a level for the
    ``alembic`` logger itself (then it gets what it asked for)."""
    logger = logging.getLogger("alembic")
    with _QUIET:
        if logger.level != logging.NOTSET:
            yield
            return
        logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(logging.NOTSET)
