"""Signed portal links: one record per link, with the token's hash (never the token), the
ticket and contact it opens, the digest of the contact's e-mail, and when it was issued,
expires and was revoked.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpdesk_sqlalchemy.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key_string() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", key_string(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("contact_id", key_string(), nullable=False),
        sa.Column("email_digest", sa.String(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name="fk_portal_links_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_portal_links"),
    )
    op.create_index("ix_portal_links_ticket_id", "portal_links", ["ticket_id"])
    op.create_index("ix_portal_links_contact_id", "portal_links", ["contact_id"])


def downgrade() -> None:
    op.drop_table("portal_links")
