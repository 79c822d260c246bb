"""The partial index for one team's active tickets by due date.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status_category IN ('new', 'open', 'waiting_on_customer', 'waiting_on_third_party')"


def upgrade() -> None:
    predicate = sa.text(ACTIVE)
    op.create_index("ix_tickets_active_team_due", "tickets", ["team", "due_sort", "id"],
                    sqlite_where=predicate, postgresql_where=predicate)


def downgrade() -> None:
    op.drop_index("ix_tickets_active_team_due", table_name="tickets")
