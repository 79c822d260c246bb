"""Building engines: URL normalisation, SQLite connection setup, and error translation.

Engines are built only when a factory is called, never at import.

SQLite: WAL journal (readers never block the writer), a busy timeout, foreign keys on, and
transactions begun by us rather than by pysqlite, so that write units can take the write lock
up front with ``BEGIN IMMEDIATE``. A deferred transaction that later writes fails at once with
"database is locked" when another connection wrote in between; taking the lock at BEGIN makes
the busy timeout apply instead.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, create_engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from helpdesk_core.errors import (
    ConcurrencyError,
    ConfigurationError,
    StorageError,
    StorageUnavailable,
)

__all__ = [
    "BEGIN_OPTION",
    "DEFAULT_BUSY_TIMEOUT_MS",
    "UnitRepository",
    "create_engine_for",
    "guarded",
    "sqlite_pragmas",
    "storage_errors",
]

DEFAULT_BUSY_TIMEOUT_MS = 30_000
DEFAULT_BEGIN_RETRIES = 3
DEFAULT_OPTIMIZE_EVERY = 500
DEFAULT_WAL_AUTOCHECKPOINT = 10_000  # pages (about 40 MB of WAL at most)
# Execution option naming how a SQLite transaction begins: "IMMEDIATE" or "DEFERRED".
BEGIN_OPTION = "helpdesk_sqlite_begin"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")

P = ParamSpec("P")
R = TypeVar("R")


def _int_option(options: Mapping[str, Any], name: str, default: int) -> int:
    raw = options.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"option {name!r} must be an integer, not {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"option {name!r} must not be negative")
    return value


def _bool_option(options: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = options.get(name, default)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"option {name!r} must be true or false, not {raw!r}")


def normalise_url(url: str | URL) -> URL:
    """Parse the URL; plain ``postgresql://`` means psycopg 3, the driver we depend on."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise ConfigurationError(f"not a database URL: {error}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigurationError(
            f"helpdesk-sqlalchemy supports {', '.join(SUPPORTED_BACKENDS)}, "
            f"not {parsed.get_backend_name()!r}"
        )
    return parsed


def create_engine_for(url: str | URL, options: Mapping[str, Any] | None = None) -> Engine:
    """An engine for ``url`` set up for helpdesk storage.

    Options (all optional): ``sqlite_busy_timeout_ms`` (default 30000),
    ``sqlite_begin_retries`` (extra attempts at BEGIN after the busy timeout, default 3),
    ``sqlite_optimize_every`` (run ``PRAGMA optimize`` every N connection check-ins, default
    500, and at the first), ``sqlite_wal_autocheckpoint`` (WAL pages between checkpoints,
    default 10000),
    ``echo``, ``pool_size``, ``max_overflow``, ``pool_recycle`` (non-SQLite pools),
    ``pool_pre_ping`` (PostgreSQL; default on: each connection taken from the pool is tested
    with a ping first, so a connection whose server backend was terminated or restarted is
    replaced instead of failing the first unit of work that uses it).
    """
    options = dict(options or {})
    parsed = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": bool(options.get("echo", False))}
    for name in ("pool_size", "max_overflow", "pool_recycle"):
        if name in options:
            kwargs[name] = _int_option(options, name, 0)
    try:
        if parsed.get_backend_name() == "sqlite":
            busy_ms = _int_option(options, "sqlite_busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS)
            kwargs["connect_args"] = {"timeout": busy_ms / 1000}
            engine = create_engine(parsed, **kwargs)
            _configure_sqlite(
                engine,
                busy_ms=busy_ms,
                retries=_int_option(options, "sqlite_begin_retries", DEFAULT_BEGIN_RETRIES),
                optimize_every=_int_option(options, "sqlite_optimize_every",
                                           DEFAULT_OPTIMIZE_EVERY),
                checkpoint_pages=_int_option(options, "sqlite_wal_autocheckpoint",
                                             DEFAULT_WAL_AUTOCHECKPOINT),
            )
        else:
            kwargs["pool_pre_ping"] = _bool_option(options, "pool_pre_ping", True)
            engine = create_engine(parsed, **kwargs)
            _configure_postgresql(engine)
    except (exc.ArgumentError, ImportError) as error:
        raise ConfigurationError(f"cannot build a database engine: {error}") from error
    return engine


def _is_memory(engine: Engine) -> bool:
    database = engine.url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(engine.url.query)


def is_locked_error(error: BaseException) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "database is busy" in text


def _configure_postgresql(engine: Engine) -> None:
    from psycopg.types.json import set_json_loads  # psycopg is the postgresql extra

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Timestamps then arrive already in UTC, and reading them back needs no conversion.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()
        set_json_loads(_json_loads, context=dbapi_connection)


def _json_loads(data: bytes | str) -> Any:
    # Most custom-field maps and link lists are empty; skip the parser for those.
    if data in (b"{}", "{}"):
        return {}
    if data in (b"[]", "[]"):
        return []
    return json.loads(data)


def sqlite_pragmas(*, busy_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                   checkpoint_pages: int = DEFAULT_WAL_AUTOCHECKPOINT,
                   memory: bool = False) -> list[str]:
    """The PRAGMA statements every SQLite connection of the adapter runs when it opens (the
    benchmarks give their raw-SQL baselines the same ones)."""
    pragmas = [
        f"PRAGMA busy_timeout = {busy_ms:d}",
        "PRAGMA foreign_keys = ON",
        # Keeps ANALYZE (run by PRAGMA optimize) to milliseconds on large tables.
        "PRAGMA analysis_limit = 1000",
    ]
    if not memory:
        pragmas += [
            "PRAGMA journal_mode = WAL",
            # With WAL, NORMAL loses no committed data on an application crash.
            "PRAGMA synchronous = NORMAL",
            # A mail's transaction rewrites some 35 pages (tickets carry a dozen indexes);
            # checkpointing every 10,000 instead of every 1,000 WAL pages copies each hot
            # page back once per ~280 mails instead of per ~28.
            f"PRAGMA wal_autocheckpoint = {checkpoint_pages:d}",
        ]
    return pragmas


def _configure_sqlite(
    engine: Engine, *, busy_ms: int, retries: int, optimize_every: int, checkpoint_pages: int
) -> None:
    memory = _is_memory(engine)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Take transaction control away from pysqlite (SQLAlchemy's documented recipe);
        # ``on_begin`` below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in sqlite_pragmas(busy_ms=busy_ms, checkpoint_pages=checkpoint_pages,
                                         memory=memory):
                cursor.execute(pragma)
        finally:
            cursor.close()

    checkins = iter(range(1 << 62))

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # SQLite never gathers statistics by itself, and without them it answers the agent
        # queue from the category index plus a sort (14 ms at 30,000 tickets) instead of
        # the partial index (under 1 ms). PRAGMA optimize analyses the tables this connection
        # has queried when their statistics are missing or stale; it is cheap when not.
        if dbapi_connection is None or next(checkins) % max(optimize_every, 1):
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 0")  # never wait for it: next time will do
            cursor.execute("PRAGMA optimize")
        except Exception:  # statistics are an optimisation, never an error
            pass
        finally:
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms:d}")
            finally:
                cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        statement = "BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN"
        # The busy timeout already waited; a few more attempts cover writers that keep the
        # lock longer than that under heavy load. BEGIN has no effects, so retrying is safe.
        # Sent on the driver connection: every unit of work begins here, and SQLAlchemy's
        # execution machinery would cost more than the BEGIN itself.
        driver = conn.connection.dbapi_connection
        for attempt in range(retries + 1):
            try:
                driver.execute(statement)  # type: ignore[union-attr]
                return
            except sqlite3.OperationalError as error:
                if attempt == retries or not is_locked_error(error):
                    raise exc.OperationalError(statement, (), error) from error
                time.sleep(min(0.05 * 2**attempt, 1.0))


# PostgreSQL's "deadlock detected" and "could not serialize": the transaction lost a race and
# was rolled back; trying again is the cure, as for a stale version.
_LOST_RACE = {"40P01", "40001"}
# SQLSTATE classes that say the server cannot work now, whatever the data: connection
# exception (08), insufficient resources — disk full, out of memory, too many connections
# (53), operator intervention — admin shutdown, crash shutdown, cannot connect now (57),
# system error (58).
_UNAVAILABLE_CLASSES = {"08", "53", "57", "58"}
# SQLite's words for the same (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY after every retry,
# SQLITE_CANTOPEN).
_SQLITE_UNAVAILABLE = ("database or disk is full", "disk i/o error", "database is locked",
                       "database is busy", "unable to open database file")


def unavailable(error: BaseException) -> bool:
    """Whether a SQLAlchemy error says the database cannot work *now* (a lost or refused
    connection, a shutdown, a full disk) rather than anything about the statement's data."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.TimeoutError | exc.DisconnectionError):  # the pool's own
        return True
    detail = getattr(error, "orig", None)
    sqlstate = getattr(detail, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_CLASSES:
        return True
    if isinstance(detail, sqlite3.OperationalError):
        text = str(detail).lower()
        return any(words in text for words in _SQLITE_UNAVAILABLE)
    # psycopg's connection errors (server closed the connection, the connection is lost)
    # carry no SQLSTATE; they are OperationalError or InterfaceError without one.
    return isinstance(error, exc.OperationalError | exc.InterfaceError) and sqlstate is None \
        and not isinstance(detail, sqlite3.Error)


def storage_error(error: exc.SQLAlchemyError, what: str) -> StorageError | ConcurrencyError:
    detail = getattr(error, "orig", None) or error
    message = f"{what} failed: {type(detail).__name__}: {detail}".strip()
    if getattr(detail, "sqlstate", None) in _LOST_RACE:
        return ConcurrencyError(message)
    if unavailable(error):
        return StorageUnavailable(message)
    return StorageError(message)


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Translate any SQLAlchemy or driver error into StorageError (``__cause__`` keeps it)."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        raise storage_error(error, what) from error


def guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Decorate a repository method so that no SQLAlchemy exception escapes it."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except exc.SQLAlchemyError as error:
            raise storage_error(error, method.__qualname__) from error

    return wrapper


class UnitRepository:
    """Base of repositories that run on their unit of work's connection.

    ``connection`` is the unit's ``connection`` method: the transaction begins on first use.
    """

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def _conn(self) -> Connection:
        return self._connection()
