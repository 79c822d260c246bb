"""Message templates in the ``message_templates`` table.

The table is defined with the others (:mod:`helpdesk_sqlalchemy.tables`) and the statements a
unit of work runs on the driver path are in :mod:`helpdesk_sqlalchemy.statements`.
The incident type is part of the primary key, which cannot hold NULL: "for every incident
type" is stored as the empty text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import select
from sqlalchemy.engine import Engine

from helpdesk_core.domain.templates import MessageTemplate, TemplateKind
from helpdesk_sqlalchemy import driver, statements
from helpdesk_sqlalchemy.engine import BEGIN_OPTION, create_engine_for, storage_errors
from helpdesk_sqlalchemy.storage import SqlAlchemyUnitOfWork, dialect_insert
from helpdesk_sqlalchemy.tables import message_templates

if TYPE_CHECKING:
    from helpdesk_core.settings import Settings

__all__ = ["SqlAlchemyTemplateStore", "message_templates"]


def _row(template: MessageTemplate) -> dict[str, Any]:
    return {
        "key": template.key, "language": template.language,
        "incident_type": template.incident_type or "", "kind": template.kind.value,
        "name": template.name, "subject": template.subject, "body_text": template.body_text,
        "body_html": template.body_html, "updated_at": template.updated_at,
        "updated_by": template.updated_by,
    }


def _template(row: Mapping[Any, Any]) -> MessageTemplate:
    return MessageTemplate(
        key=row["key"], kind=TemplateKind(row["kind"]), language=row["language"],
        incident_type=row["incident_type"] or None, name=row["name"], subject=row["subject"],
        body_text=row["body_text"], body_html=row["body_html"],
        updated_at=row["updated_at"], updated_by=row["updated_by"],
    )


def _identity(key: str, language: str, incident_type: str | None) -> Any:
    c = message_templates.c
    return (c.key == key) & (c.language == language) & (c.incident_type == (incident_type or ""))


class SqlAlchemyTemplateStore:
    """Implements the TemplateStore port; each call is its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, **options: object) -> Self:
        return cls(create_engine_for(url, options))

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(create_engine_for(settings.database_url, settings.options))

    def put(self, template: MessageTemplate) -> None:
        row = _row(template)
        writer = self.engine.connect().execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with storage_errors("storing a template"), writer as conn, conn.begin():
            stmt = dialect_insert(conn, message_templates).values(**row)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["key", "language", "incident_type"],
                set_={name: stmt.excluded[name] for name in row
                      if name not in ("key", "language", "incident_type")},
            ))

    def get(self, key: str, language: str,
            incident_type: str | None = None) -> MessageTemplate | None:
        query = select(message_templates).where(_identity(key, language, incident_type))
        with storage_errors("reading a template"), self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _template(row)

    def delete(self, key: str, language: str, incident_type: str | None = None) -> bool:
        writer = self.engine.connect().execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with storage_errors("deleting a template"), writer as conn, conn.begin():
            result = conn.execute(
                message_templates.delete().where(_identity(key, language, incident_type)))
        return bool(result.rowcount)

    def all(self, *, key: str | None = None, unit: object = None) -> list[MessageTemplate]:
        query = statements.TEMPLATES if key is None else statements.TEMPLATES_WITH_KEY
        params = {} if key is None else {"key": key}
        if isinstance(unit, SqlAlchemyUnitOfWork) and unit.storage.engine.url == self.engine.url:
            # Same database: read in the unit's transaction (no connection of our own).
            with storage_errors("listing templates"):
                return [_template(row) for row in driver.mappings(unit.connection(), query,
                                                                   params)]
        with storage_errors("listing templates"), self.engine.connect() as conn:
            return [_template(row) for row in conn.execute(query, params).mappings()]

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
