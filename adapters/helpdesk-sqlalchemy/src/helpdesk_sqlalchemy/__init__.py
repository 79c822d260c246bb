"""SQL storage for helpdesk_core: SQLite and PostgreSQL through SQLAlchemy Core.

Install ``helpdesk-sqlalchemy`` and set ``Settings(storage="sqlalchemy", database_url=...)``;
the plugin registers itself through the ``helpdesk_core`` entry-point group.
"""

from helpdesk_sqlalchemy.blobs import SqlAlchemyBlobStore
from helpdesk_sqlalchemy.engine import create_engine_for
from helpdesk_sqlalchemy.storage import SqlAlchemyStorage, SqlAlchemyUnitOfWork
from helpdesk_sqlalchemy.tables import metadata

# Defines the message_templates table on ``metadata``: importing the package registers it.
from helpdesk_sqlalchemy.templates import SqlAlchemyTemplateStore

__all__ = [
    "SqlAlchemyBlobStore",
    "SqlAlchemyStorage",
    "SqlAlchemyTemplateStore",
    "SqlAlchemyUnitOfWork",
    "create_engine_for",
    "metadata",
]
