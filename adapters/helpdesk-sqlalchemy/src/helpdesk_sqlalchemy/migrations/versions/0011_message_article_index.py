"""The Message-ID index is searchable by article: splitting a ticket points the records of
the moved articles at the new ticket (``MessageIndex.move``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_mail_messages_article", "mail_messages", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_messages_article", table_name="mail_messages")
