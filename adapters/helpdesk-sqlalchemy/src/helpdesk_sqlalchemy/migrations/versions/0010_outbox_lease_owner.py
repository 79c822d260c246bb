"""Outbox messages carry the token of the claim that took them (``lease_owner``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get NULL: a message claimed before the upgrade has no token, and the
    # dispatcher that claimed it under the old code no longer runs. A pending one is claimed
    # afresh (with a token); a sending one is made uncertain by expiry, which compares
    # against NULL (IS NULL).
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_owner")
