"""Column types that make SQLite and PostgreSQL store our values identically.

Alembic revisions import these by name, so renaming one is a schema change.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["JSONValue", "UTCDateTime", "key_string", "utc_from_text"]


def utc_from_text(value: str | None) -> datetime | None:
    """A stored SQLite timestamp (naive UTC text) as an aware UTC datetime.

    Appending the offset lets the C parser attach ``UTC`` itself: about eight times faster
    than ``.replace(tzinfo=UTC)``, and reading timestamps is much of the cost of a queue page.
    """
    if value is None:
        return None
    try:
        return _parse_iso(value + "+00:00")
    except ValueError:  # text that already carries an offset (written by another tool)
        parsed = _parse_iso(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_parse_iso = datetime.fromisoformat


def key_string() -> TypeEngine[str]:
    """Text that sorts and compares by code point, as Python's ``str`` does.

    The queue sorts on ids and matches incident-type subtrees with range comparisons; a
    locale collation on PostgreSQL would order them differently from ``TicketQuery.apply``.
    SQLite's default BINARY collation already compares UTF-8 bytes, i.e. code points.
    """
    return String().with_variant(String(collation="C"), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware in UTC.

    SQLite has no time zones: values go in as naive UTC in a fixed-width text format (so text
    order is time order) and come out with ``tzinfo=UTC`` attached. PostgreSQL uses
    ``timestamptz``; psycopg returns it in the session's zone, which is converted back to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SQLiteUTCText()  # type: ignore[no-untyped-call]
        return super().load_dialect_impl(dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # One function per value instead of SQLAlchemy's chain of two: reading timestamps is
        # most of the cost of a queue page.
        if dialect.name == "sqlite":
            return utc_from_text
        return super().result_processor(dialect, coltype)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetimes are not stored; pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        tz = value.tzinfo
        if tz is None:
            return value.replace(tzinfo=UTC)
        # PostgreSQL sessions run in UTC (see engine.py), so the conversion is rarely needed.
        return value if tz is UTC else value.astimezone(UTC)


class _SQLiteUTCText(sqlite.DATETIME):
    """SQLite's DATETIME text (``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC), read and written
    by the C implementations of ``isoformat``/``fromisoformat``: the same stored text as
    SQLAlchemy's own DATETIME, several times faster to parse than its regex."""

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            return None if value is None else parse(value)

        return process


_NON_FINITE = "$float"


def _encode(value: Any) -> Any:
    # PostgreSQL's json type refuses NaN and Infinity, which Python's json module writes; a
    # custom field may legitimately hold an infinite float, so such floats travel tagged.
    if isinstance(value, float) and not math.isfinite(value):
        return {_NON_FINITE: repr(value)}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(_NON_FINITE), str):
            return float(value[_NON_FINITE])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class JSONValue(TypeDecorator[Any]):
    """JSON documents (``json`` on PostgreSQL, text on SQLite) that also carry NaN and ±inf."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return _encode(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return _decode(value) if value else value  # {} and [] are the common case

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":  # stored as text; decode it in one step
            loads = json.loads

            def from_text(value: str | float | None) -> Any:
                if not isinstance(value, str):
                    # None, or a bare number: the JSON column's NUMERIC affinity makes SQLite
                    # store "2.5" as a number.
                    return value
                if value == "{}":
                    return {}
                if value == "[]":
                    return []
                return _decode(loads(value))

            return from_text
        return super().result_processor(dialect, coltype)
