"""The knowledge base: articles (the newest version of each) and every revision.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpdesk_sqlalchemy.types import JSONValue, UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key_string() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _version_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("key", key_string(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("category", key_string(), nullable=True),
        sa.Column("visibility", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("tags", JSONValue(), nullable=False),
        sa.Column("related_tickets", JSONValue(), nullable=False),
        sa.Column("attachments", JSONValue(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", key_string(), nullable=False),
        *_version_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_kb_articles"),
        sa.UniqueConstraint("key", name="uq_kb_articles_key"),
    )
    op.create_table(
        "kb_revisions",
        sa.Column("article_id", key_string(), nullable=False),
        *_version_columns(),
        sa.Column("change", sa.String(), nullable=False),
        sa.Column("fields", JSONValue(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"],
                                name="fk_kb_revisions_article_id_kb_articles"),
        sa.PrimaryKeyConstraint("article_id", "version", name="pk_kb_revisions"),
    )


def downgrade() -> None:
    op.drop_table("kb_revisions")
    op.drop_table("kb_articles")
