"""SLA records keep digests of the policy's targets and calendar their deadlines came from.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing records get NULL: not known, so the first recomputation cannot name what moved
    # a deadline and says so; it stores the digests from then on.
    with op.batch_alter_table("sla_state") as batch:
        batch.add_column(sa.Column("targets_digest", sa.String(), nullable=True))
        batch.add_column(sa.Column("calendar_digest", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sla_state") as batch:
        batch.drop_column("calendar_digest")
        batch.drop_column("targets_digest")
