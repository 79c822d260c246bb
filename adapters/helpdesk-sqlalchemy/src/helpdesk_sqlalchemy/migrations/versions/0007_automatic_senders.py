"""Senders whose mail was recognised as automatic (no automatic answers to them, one ticket
per window for their automatic mail).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpdesk_sqlalchemy.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key_string() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mail_automatic_senders",
        sa.Column("address", key_string(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.String(), nullable=True),
        sa.Column("ticket_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("address", name="pk_mail_automatic_senders"),
    )


def downgrade() -> None:
    op.drop_table("mail_automatic_senders")
