"""SLA: each ticket's policy and next due instant, and the escalations that fired.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpdesk_sqlalchemy.types import JSONValue, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key_string() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sla_state",
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("policy", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name="fk_sla_state_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_sla_state"),
    )
    op.create_index("ix_sla_state_next_at", "sla_state", ["next_at", "ticket_id"])
    op.create_table(
        "sla_escalations",
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=False),
        sa.Column("notified", JSONValue(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name="fk_sla_escalations_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("ticket_id", "target", "cycle", "level",
                                name="pk_sla_escalations"),
    )


def downgrade() -> None:
    op.drop_table("sla_escalations")
    op.drop_table("sla_state")
