"""Staged mail remembers failed acknowledgements: failures in a row, the last error, the
next try.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpdesk_sqlalchemy.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows: no failed acknowledgement known.
    with op.batch_alter_table("mail_staging") as batch:
        batch.add_column(sa.Column("ack_attempts", sa.Integer(), nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(sa.Column("ack_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ack_next_at", UTCDateTime(), nullable=True))
    # Only mail whose acknowledgement failed has a next try: the operator's listing.
    op.create_index("ix_mail_staging_ack_next_at", "mail_staging", ["ack_next_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_staging_ack_next_at", table_name="mail_staging")
    with op.batch_alter_table("mail_staging") as batch:
        batch.drop_column("ack_next_at")
        batch.drop_column("ack_error")
        batch.drop_column("ack_attempts")
