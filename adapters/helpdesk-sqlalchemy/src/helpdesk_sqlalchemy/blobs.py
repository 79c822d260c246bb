"""Attachment bytes in the ``blobs`` table, addressed by their SHA-256."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Self

from sqlalchemy import select
from sqlalchemy.engine import Engine

from helpdesk_core.errors import NotFound, ValidationError
from helpdesk_sqlalchemy import driver, statements
from helpdesk_sqlalchemy.engine import BEGIN_OPTION, create_engine_for, storage_errors
from helpdesk_sqlalchemy.storage import SqlAlchemyUnitOfWork, dialect_insert
from helpdesk_sqlalchemy.tables import blobs

if TYPE_CHECKING:
    from helpdesk_core.settings import Settings

__all__ = ["SqlAlchemyBlobStore"]


class SqlAlchemyBlobStore:
    """Content-addressed: ``put`` of the same bytes twice stores them once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, **options: object) -> Self:
        return cls(create_engine_for(url, options))

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(create_engine_for(settings.database_url, settings.options))

    def put(self, data: bytes | bytearray | memoryview, *, unit: object = None) -> str:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationError("must be bytes", field="data")
        content = bytes(data)
        key = hashlib.sha256(content).hexdigest()
        if isinstance(unit, SqlAlchemyUnitOfWork) and unit.storage.engine.url == self.engine.url:
            # Same database: the blob joins the unit's transaction.
            with storage_errors("storing a blob"):
                conn = unit.connection()
                driver.execute(conn, statements.put_blob(conn.dialect.name),
                               {"key": key, "data": content, "size": len(content)})
            return key
        writer = self.engine.connect().execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with storage_errors("storing a blob"), writer as conn, conn.begin():
            stmt = dialect_insert(conn, blobs).values(key=key, data=content, size=len(content))
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        return key

    def get(self, key: str) -> bytes:
        with storage_errors("reading a blob"), self.engine.connect() as conn:
            data = conn.execute(select(blobs.c.data).where(blobs.c.key == key)).scalar()
        if data is None:
            raise NotFound(f"no blob {key!r}")
        return bytes(data)

    def exists(self, key: str) -> bool:
        with storage_errors("looking up a blob"), self.engine.connect() as conn:
            found = conn.execute(select(blobs.c.key).where(blobs.c.key == key)).first()
        return found is not None

    def migrate(self) -> None:
        """Create or upgrade the schema when it is behind (the same migrations and the same
        one-query check as the storage's)."""
        from helpdesk_sqlalchemy.migrate import ensure_schema

        ensure_schema(self.engine)

    def check_schema(self) -> None:
        """SchemaError unless the schema is up to date; nothing changed."""
        from helpdesk_sqlalchemy.migrate import check_schema

        check_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()
