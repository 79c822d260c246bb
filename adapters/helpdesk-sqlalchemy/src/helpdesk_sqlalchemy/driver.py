"""Statements compiled once by SQLAlchemy and run on the DB-API cursor.

On the hot paths (the agent queue, a mail's transaction) SQLAlchemy's per-execution work —
cache key, parameter processing, result objects, events — costs several times what SQLite
needs to run the statement. Here a Core statement is compiled once per pooled connection
and afterwards executed on that connection's DB-API cursor, inside the unit's transaction,
with the column types' own bind processors. SQLAlchemy stays the only definition of the SQL.
Which statements may come here, and the key of the cache, are written at the top of
:mod:`helpdesk_sqlalchemy.statements`.

The compiled statements live in one cache per pooled connection (in its ``info``), used by
:func:`compiled` for statements that are constants and by :func:`compiled_for` for statements
built for a key (the agent queue's). A pooled connection serves one thread at a time, so the
cache needs no lock; it keeps the :data:`KEPT` most recently used statements.

Driver errors leave as SQLAlchemy's ``DBAPIError`` subclasses (``IntegrityError`` ...), so
the callers' error handling is the same on both paths. These statements skip SQLAlchemy's
``echo`` and cursor events: the ``helpdesk_sqlalchemy.driver`` logger shows each of them,
with its parameters, at DEBUG level.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect

__all__ = [
    "KEPT",
    "Compiled",
    "compiled",
    "compiled_for",
    "execute",
    "fetch",
    "mappings",
    "reader",
    "run",
]

log = logging.getLogger(__name__)

_CACHE = "helpdesk_compiled"  # key in the pooled connection's ``info``
KEPT = 512  # compiled statements per pooled connection, the most recently used

Params = Mapping[str, Any]
_PYFORMAT = re.compile(r"%\(([^)]+)\)s")


class Compiled:
    """One statement compiled for one dialect: its text and how to bind its parameters.

    ``values`` are one set of parameters (rendering expanded lists needs them); later
    executions bind their own. Parameters the statement fixed when it was built (a LIMIT)
    keep their value.
    """

    def __init__(self, statement: Any, dialect: Dialect, values: Params,
                 column_keys: Sequence[str] | None = None) -> None:
        if column_keys is not None:  # INSERT / UPDATE: the columns the values name
            compiled = statement.compile(dialect=dialect, column_keys=list(column_keys))
        else:  # expanded lists are rendered for the values given: part of the cache key
            compiled = statement.params(values).compile(
                dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql: str = compiled.string
        self.positional = compiled.positiontup is not None
        # The placeholders in the text, in order (an expanded list "ids" became ids_1, ...).
        self.names: list[str] = (list(compiled.positiontup) if self.positional
                                 else _PYFORMAT.findall(self.sql))
        binds = compiled.binds
        expanding = {name for name, bind in binds.items()
                     if bind.expanding and not bind.literal_execute}
        self.fixed = {name: bind.effective_value for name, bind in binds.items()
                      if name not in values and name not in expanding}
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        # How to bind: per parameter, in the order of the placeholders, its processor and,
        # for an expanded list, the placeholder names of its items (ids_1, ids_2, ...).
        self._plan: list[tuple[str, Callable[[Any], Any] | None, list[str] | None]] = []
        names = self.names
        i = 0
        while i < len(names):
            name = names[i]
            base = name.rpartition("_")[0]
            if base in expanding and name == f"{base}_1":  # IN (ids_1, ids_2, ...)
                items: list[str] = []
                while i < len(names) and names[i] == f"{base}_{len(items) + 1}":
                    items.append(names[i])
                    i += 1
                self._plan.append((base, processors.get(base), items))
            else:
                self._plan.append((name, processors.get(name), None))
                i += 1
        # Column keys and result processors of a SELECT, set by ``mappings`` on first use.
        self.readers: tuple[list[str], list[Callable[[Any], Any]]] | None = None

    def parameters(self, values: Params) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for one execution with ``values``."""
        bound = {**self.fixed, **values} if self.fixed else values
        if self.positional:
            out: list[Any] = []
            for name, process, items in self._plan:
                value = bound[name]
                if items is None:
                    out.append(value if process is None else process(value))
                else:
                    _check_length(name, value, items)
                    out.extend(value if process is None else map(process, value))
            return tuple(out)
        named: dict[str, Any] = {}
        for name, process, items in self._plan:
            value = bound[name]
            if items is None:
                named[name] = value if process is None else process(value)
            else:
                _check_length(name, value, items)
                named.update(zip(items, value if process is None else map(process, value),
                                 strict=True))
        return named


def _check_length(name: str, value: Sequence[Any], items: list[str]) -> None:
    if len(value) != len(items):
        raise ValueError(f"{name!r} has {len(value)} items; the statement was compiled for "
                         f"{len(items)} (pass the length as its shape)")


def compiled(conn: Connection, statement: Any, values: Params, *,
             shape: Hashable = None) -> Compiled:
    """``statement`` compiled for ``conn``'s pooled connection (cached there).

    ``statement`` must be long-lived (a module constant): the cache is keyed by its identity.
    An INSERT or UPDATE is compiled for exactly the keys of ``values`` (as SQLAlchemy does);
    a statement with an expanding list parameter passes the list's length as ``shape``.
    """
    columns = tuple(values) if statement.is_dml else None
    key = (id(statement), columns, shape)
    cache = _cache(conn)
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found[1]
    # The statement is kept with its compiled form so that its id cannot be reused.
    return _keep(cache, key, statement, Compiled(statement, conn.dialect, values, columns))


def compiled_for(conn: Connection, key: tuple[Hashable, ...], build: Callable[[str], Any],
                 values: Params) -> Compiled:
    """The statement for ``key``, built by ``build(dialect name)`` and compiled the first time
    ``key`` is seen on ``conn``'s pooled connection (cached there, in the same cache as
    :func:`compiled`).

    ``key`` must decide the statement's SQL text: two calls with equal keys get the same
    compiled statement, whatever their ``values``. It begins with a name of its own (the
    agent queue's are ``("queue", ...)``), so that it cannot equal a key of :func:`compiled`.
    """
    cache = _cache(conn)
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found[1]
    statement = build(conn.dialect.name)
    return _keep(cache, key, statement, Compiled(statement, conn.dialect, values))


def _cache(conn: Connection) -> OrderedDict[Hashable, tuple[Any, Compiled]]:
    info = conn.connection.info
    cache: OrderedDict[Hashable, tuple[Any, Compiled]] | None = info.get(_CACHE)
    if cache is None:
        cache = info[_CACHE] = OrderedDict()
    return cache


def _keep(cache: OrderedDict[Hashable, tuple[Any, Compiled]], key: Hashable, statement: Any,
          done: Compiled) -> Compiled:
    cache[key] = (statement, done)
    if len(cache) > KEPT:
        cache.popitem(last=False)  # the least recently used
    return done


def run(conn: Connection, done: Compiled, params: Params | Sequence[Params]) -> Any:
    """Execute a compiled statement on ``conn``'s DB-API cursor; the cursor."""
    many = not isinstance(params, Mapping)
    try:
        if isinstance(params, Mapping):
            bound: Any = done.parameters(params)
        else:
            bound = [done.parameters(row) for row in params]
    except Exception as error:  # a value the column type refuses, as SQLAlchemy reports it
        raise exc.StatementError(f"(in processing bind) {error}", done.sql, params, error
                                 ) from error
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %r", done.sql, bound)
    driver: Any = conn.connection.dbapi_connection
    cursor: Any = driver.cursor()
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    try:
        if many:
            cursor.executemany(done.sql, bound)
        else:
            cursor.execute(done.sql, bound)
    except dbapi_error as error:
        disconnected = conn.dialect.is_disconnect(error, driver, cursor)  # type: ignore[arg-type]
        with contextlib.suppress(dbapi_error):
            cursor.close()
        if disconnected:  # as SQLAlchemy does: the pool must not hand this connection out
            conn.invalidate(error)
        raise exc.DBAPIError.instance(done.sql, params, error, dbapi_error,
                                      connection_invalidated=disconnected,
                                      dialect=conn.dialect) from error
    return cursor


def _run(conn: Connection, statement: Any, params: Params | Sequence[Params],
         shape: Hashable) -> Any:
    first = params if isinstance(params, Mapping) else params[0]
    return run(conn, compiled(conn, statement, first, shape=shape), params)


def execute(conn: Connection, statement: Any, params: Params | Sequence[Params]) -> int:
    """Run a statement that returns no rows (one set of parameters, or many); its rowcount."""
    cursor = _run(conn, statement, params, None)
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def fetch(conn: Connection, statement: Any, params: Params, *,
          shape: Hashable = None) -> list[Any]:
    """Run a statement that returns rows; the driver's rows (tuples)."""
    cursor = _run(conn, statement, params, shape)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def mappings(conn: Connection, statement: Any, params: Params, *,
             shape: Hashable = None) -> list[dict[str, Any]]:
    """Run a SELECT; its rows as ``{column key: value}`` with the column types' result
    processors applied, as ``Result.mappings()`` would give them."""
    done = compiled(conn, statement, params, shape=shape)
    if done.readers is None:
        columns = list(statement.selected_columns)
        done.readers = ([c.key for c in columns], [reader(conn, c) for c in columns])
    keys, readers = done.readers
    cursor = run(conn, done, params)
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return [{key: read(value) for key, read, value in zip(keys, readers, row, strict=True)}
            for row in rows]


def reader(conn: Connection, column: Any) -> Callable[[Any], Any]:
    """How SQLAlchemy would turn ``column``'s driver value into a Python value on ``conn``'s
    dialect (timestamps on SQLite are text, JSON may be text): its type's result processor."""
    processor = column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
    return processor if processor is not None else _same


def _same(value: Any) -> Any:
    return value
