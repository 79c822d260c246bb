"""Mail: staged raw mails, the Message-ID index, the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpdesk_sqlalchemy.types import JSONValue, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key_string() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("message_id", key_string(), nullable=False),
        sa.Column("fingerprint", key_string(), nullable=False),
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("article_id", sa.String(), nullable=True),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name="fk_mail_messages_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("message_id", "fingerprint", name="pk_mail_messages"),
    )
    op.create_index("ix_mail_messages_ticket", "mail_messages", ["ticket_id"])
    op.create_table(
        "mail_staging",
        sa.Column("account", key_string(), nullable=False),
        sa.Column("key", key_string(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("staged_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("ticket_id", sa.String(), nullable=True),
        sa.Column("article_id", sa.String(), nullable=True),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("account", "key", name="pk_mail_staging"),
    )
    op.create_index("ix_mail_staging_state", "mail_staging", ["state", "staged_at"])
    op.create_table(
        "outbox",
        sa.Column("id", key_string(), nullable=False),
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("recipients", JSONValue(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("headers", JSONValue(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("article_id", sa.String(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("first_recipient", sa.String(), nullable=False),
        sa.Column("attachments", JSONValue(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("leased_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("results", JSONValue(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("cc", JSONValue(), nullable=False),
        sa.Column("reply_to", sa.String(), nullable=True),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_outbox_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_ticket", "outbox", ["ticket_id", "created_at"])
    op.create_index("ix_outbox_recipient", "outbox", ["first_recipient", "kind", "created_at"])
    op.create_index("ix_outbox_state", "outbox", ["state", "created_at"])
    op.create_index("ix_outbox_provider", "outbox", ["provider_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("mail_staging")
    op.drop_table("mail_messages")
