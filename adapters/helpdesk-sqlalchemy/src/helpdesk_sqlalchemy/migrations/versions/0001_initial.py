"""Initial schema: tickets, history, articles, contacts, incident types, sequences, blobs.

Revision ID: 0001
Revises:
Create Date: 2026-03-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from helpdesk_sqlalchemy.types import JSONValue, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of what tables.py had when this revision was written.
ACTIVE = "status_category IN ('new', 'open', 'waiting_on_customer', 'waiting_on_third_party')"


def key_string() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", key_string(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_category", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("organisation_id", sa.String(), nullable=True),
        sa.Column("incident_type", key_string(), nullable=True),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("due_sort", UTCDateTime(), nullable=False),
        sa.Column("merged_into", sa.String(), nullable=True),
        sa.Column("custom_fields", JSONValue(), nullable=False),
        sa.Column("links", JSONValue(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("number", name="uq_tickets_number"),
    )
    for name, columns in (
        ("ix_tickets_priority", ["priority_rank", "created_at", "id"]),
        ("ix_tickets_created", ["created_at", "id"]),
        ("ix_tickets_category_created", ["status_category", "created_at", "id"]),
        ("ix_tickets_assignee", ["assignee", "status_category", "priority_rank", "created_at"]),
        ("ix_tickets_team", ["team", "status_category", "priority_rank", "created_at"]),
        ("ix_tickets_customer", ["customer_id", "created_at", "id"]),
        ("ix_tickets_organisation", ["organisation_id", "created_at", "id"]),
        ("ix_tickets_incident_type", ["incident_type", "status_category"]),
    ):
        op.create_index(name, "tickets", columns)
    for name, columns in (
        ("ix_tickets_active_priority", ["priority_rank", "created_at", "id"]),
        ("ix_tickets_active_due", ["due_sort", "id"]),
        ("ix_tickets_active_created", ["created_at", "id"]),
    ):
        op.create_index(
            name, "tickets", columns,
            sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
        )

    op.create_table(
        "ticket_tags",
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_tags_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "tag", name="pk_ticket_tags"),
    )
    op.create_index("ix_ticket_tags_tag", "ticket_tags", ["tag", "ticket_id"])

    op.create_table(
        "ticket_events",
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", JSONValue(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("old", JSONValue(), nullable=True),
        sa.Column("new", JSONValue(), nullable=True),
        sa.Column("data", JSONValue(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_events_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "seq", name="pk_ticket_events"),
    )

    op.create_table(
        "articles",
        sa.Column("id", key_string(), nullable=False),
        sa.Column("ticket_id", key_string(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("author", JSONValue(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("attachments", JSONValue(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("meta", JSONValue(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_articles_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("ticket_id", "position", name="uq_articles_ticket_id_position"),
    )
    op.create_index("ix_articles_external_id", "articles", ["external_id"])

    op.create_table(
        "organisations",
        sa.Column("id", key_string(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("account_owner", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
    )

    op.create_table(
        "contacts",
        sa.Column("id", key_string(), nullable=False),
        sa.Column("ordinal", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.String(), nullable=True),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("account_owner", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
    )
    op.create_index("ix_contacts_ordinal", "contacts", ["ordinal"])

    op.create_table(
        "contact_emails",
        sa.Column("contact_id", key_string(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_contact_emails_contact_id_contacts"
        ),
        sa.PrimaryKeyConstraint("contact_id", "position", name="pk_contact_emails"),
        sa.UniqueConstraint("email", name="uq_contact_emails_email"),
    )

    op.create_table(
        "contact_phones",
        sa.Column("contact_id", key_string(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_contact_phones_contact_id_contacts"
        ),
        sa.PrimaryKeyConstraint("contact_id", "position", name="pk_contact_phones"),
    )
    op.create_index("ix_contact_phones_phone", "contact_phones", ["phone", "contact_id"])

    op.create_table(
        "incident_types",
        sa.Column("key", key_string(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("responsible", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_incident_types"),
    )

    op.create_table(
        "sequences",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_sequences"),
    )

    op.create_table(
        "blobs",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_blobs"),
    )


def downgrade() -> None:
    for table in (
        "blobs", "sequences", "incident_types", "contact_phones", "contact_emails", "contacts",
        "organisations", "articles", "ticket_events", "ticket_tags", "tickets",
    ):
        op.drop_table(table)
