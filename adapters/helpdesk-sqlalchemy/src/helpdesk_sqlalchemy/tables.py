"""The adapter's tables (SQLAlchemy Core). The domain classes are never mapped onto these.

Changing anything here needs a new revision in ``migrations/versions``; the migration test
compares the migrated schema with this metadata.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    text,
)

from helpdesk_core.domain.status import StatusCategory
from helpdesk_sqlalchemy.types import JSONValue, UTCDateTime, key_string

__all__ = [
    "ACTIVE_CATEGORIES",
    "articles",
    "blobs",
    "contact_emails",
    "contact_phones",
    "contacts",
    "incident_types",
    "kb_articles",
    "kb_revisions",
    "mail_automatic_senders",
    "mail_messages",
    "mail_staging",
    "message_templates",
    "metadata",
    "organisations",
    "outbox",
    "portal_links",
    "sequences",
    "sla_escalations",
    "sla_state",
    "ticket_events",
    "ticket_tags",
    "tickets",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# The categories of TicketQuery.active(), in enum order. Queries render this list the same way
# so that SQLite (which matches partial-index predicates textually) can use the partial indexes.
ACTIVE_CATEGORIES: tuple[str, ...] = tuple(c.value for c in StatusCategory if c.is_active)


tickets = Table(
    "tickets",
    metadata,
    Column("id", key_string(), primary_key=True),
    Column("number", String(), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("status", String(), nullable=False),
    Column("status_category", String(), nullable=False),
    Column("priority", String(), nullable=False),
    Column("priority_rank", Integer(), nullable=False),
    Column("channel", String(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("customer_id", String(), nullable=True),
    Column("organisation_id", String(), nullable=True),
    Column("incident_type", key_string(), nullable=True),
    Column("assignee", String(), nullable=True),
    Column("team", String(), nullable=True),
    Column("language", String(), nullable=True),
    Column("due_at", UTCDateTime(), nullable=True),
    # due_at, or FAR_FUTURE when there is none: the DUE sort key without NULL handling.
    Column("due_sort", UTCDateTime(), nullable=False),
    Column("merged_into", String(), nullable=True),
    Column("custom_fields", JSONValue(), nullable=False),
    Column("links", JSONValue(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("event_seq", Integer(), nullable=False),
    UniqueConstraint("number"),
    # The agent queue. Views of active work use the partial indexes below; these serve the
    # unfiltered default TicketQuery() and the archive (closed/resolved, newest first).
    Index("ix_tickets_priority", "priority_rank", "created_at", "id"),
    Index("ix_tickets_created", "created_at", "id"),
    Index("ix_tickets_category_created", "status_category", "created_at", "id"),
    Index("ix_tickets_assignee", "assignee", "status_category", "priority_rank", "created_at"),
    Index("ix_tickets_team", "team", "status_category", "priority_rank", "created_at"),
    Index("ix_tickets_customer", "customer_id", "created_at", "id"),
    Index("ix_tickets_organisation", "organisation_id", "created_at", "id"),
    Index("ix_tickets_incident_type", "incident_type", "status_category"),
)



def active_only() -> ColumnElement[bool]:
    """The predicate of TicketQuery.active(), rendered with inline literals.

    Most tickets are closed, so the views of active work get small partial indexes in each sort
    order. SQLite uses a partial index only when the query repeats its predicate term for term,
    so queries build the filter with this same function.
    """
    return tickets.c.status_category.in_(
        bindparam("active_categories", ACTIVE_CATEGORIES, expanding=True, literal_execute=True)
    )


def _partial(name: str, *columns: str) -> Index:
    predicate = tickets.c.status_category.in_(ACTIVE_CATEGORIES)
    return Index(name, *(tickets.c[c] for c in columns),
                 sqlite_where=predicate, postgresql_where=predicate)


_partial("ix_tickets_active_priority", "priority_rank", "created_at", "id")
_partial("ix_tickets_active_due", "due_sort", "id")
_partial("ix_tickets_active_created", "created_at", "id")
# One team's work by due date is every team's main view. SQLite's approximate statistics
# (analysis_limit) misjudge how many tickets a team has and would pick ix_tickets_team plus a
# sort; with this index the plan does not depend on them.
_partial("ix_tickets_active_team_due", "team", "due_sort", "id")

ticket_tags = Table(
    "ticket_tags",
    metadata,
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), nullable=False),
    Column("tag", String(), nullable=False),
    PrimaryKeyConstraint("ticket_id", "tag"),
    Index("ix_ticket_tags_tag", "tag", "ticket_id"),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", JSONValue(), nullable=False),
    Column("kind", String(), nullable=False),
    Column("field", String(), nullable=True),
    Column("old", JSONValue(), nullable=True),
    Column("new", JSONValue(), nullable=True),
    Column("data", JSONValue(), nullable=False),
    PrimaryKeyConstraint("ticket_id", "seq"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", key_string(), primary_key=True),
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), nullable=False),
    # 1, 2, 3 ... per ticket: the order in which the articles were added.
    Column("position", Integer(), nullable=False),
    Column("direction", String(), nullable=False),
    Column("channel", String(), nullable=False),
    Column("author", JSONValue(), nullable=False),
    Column("public", Boolean(), nullable=False),
    Column("body_text", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("attachments", JSONValue(), nullable=False),
    Column("external_id", String(), nullable=True),
    Column("meta", JSONValue(), nullable=False),
    UniqueConstraint("ticket_id", "position"),
    Index("ix_articles_external_id", "external_id"),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", key_string(), primary_key=True),
    Column("name", Text(), nullable=False),
    Column("account_owner", String(), nullable=True),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", key_string(), primary_key=True),
    # Creation order; find_by_phone answers with the first contact that has the number.
    Column("ordinal", BigInteger(), nullable=False),
    Column("name", Text(), nullable=False),
    Column("organisation_id", String(), nullable=True),
    Column("language", String(), nullable=True),
    Column("account_owner", String(), nullable=True),
    Index("ix_contacts_ordinal", "ordinal"),
)

contact_emails = Table(
    "contact_emails",
    metadata,
    Column("contact_id", key_string(), ForeignKey("contacts.id"), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("email", String(), nullable=False),
    PrimaryKeyConstraint("contact_id", "position"),
    # One address, one contact: the database enforces it even between concurrent writers.
    UniqueConstraint("email"),
)

contact_phones = Table(
    "contact_phones",
    metadata,
    Column("contact_id", key_string(), ForeignKey("contacts.id"), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("phone", String(), nullable=False),
    PrimaryKeyConstraint("contact_id", "position"),
    Index("ix_contact_phones_phone", "phone", "contact_id"),
)

incident_types = Table(
    "incident_types",
    metadata,
    Column("key", key_string(), primary_key=True),
    Column("name", Text(), nullable=False),
    Column("responsible", String(), nullable=True),
    Column("team", String(), nullable=True),
)

# -- message templates ---------------------------------------------------------------------

# The incident type is part of the primary key, which cannot hold NULL: "for every incident
# type" is stored as the empty text.
message_templates = Table(
    "message_templates",
    metadata,
    Column("key", key_string(), nullable=False),
    Column("language", key_string(), nullable=False),
    Column("incident_type", key_string(), nullable=False),  # "" = every incident type
    Column("kind", String(), nullable=False),
    Column("name", Text(), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("body_text", Text(), nullable=False),
    Column("body_html", Text(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=True),
    Column("updated_by", String(), nullable=True),
    PrimaryKeyConstraint("key", "language", "incident_type"),
)

sequences = Table(
    "sequences",
    metadata,
    Column("scope", String(), primary_key=True),
    Column("value", BigInteger(), nullable=False),
)

blobs = Table(
    "blobs",
    metadata,
    Column("key", String(64), primary_key=True),  # lower-case hex SHA-256 of data
    Column("data", LargeBinary(), nullable=False),
    Column("size", BigInteger(), nullable=False),
)

# -- mail ----------------------------------------------------------------------------------

mail_messages = Table(
    "mail_messages",
    metadata,
    Column("message_id", key_string(), nullable=False),
    # "" for mail we sent: part of the primary key, so it cannot be NULL.
    Column("fingerprint", key_string(), nullable=False),
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), nullable=False),
    Column("article_id", String(), nullable=True),
    Column("direction", String(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("message_id", "fingerprint"),
    Index("ix_mail_messages_ticket", "ticket_id"),
    # A split points the records of the moved articles at the new ticket.
    Index("ix_mail_messages_article", "article_id"),
)

mail_staging = Table(
    "mail_staging",
    metadata,
    Column("account", key_string(), nullable=False),
    Column("key", key_string(), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("staged_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("blob_key", String(64), nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("state", String(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("reason", Text(), nullable=True),
    Column("outcome", String(), nullable=True),
    Column("ticket_id", String(), nullable=True),
    Column("article_id", String(), nullable=True),
    Column("acknowledged", Boolean(), nullable=False),
    Column("ack_attempts", Integer(), nullable=False, server_default=text("0")),
    Column("ack_error", Text(), nullable=True),
    Column("ack_next_at", UTCDateTime(), nullable=True),
    PrimaryKeyConstraint("account", "key"),
    Index("ix_mail_staging_state", "state", "staged_at"),
    Index("ix_mail_staging_ack_next_at", "ack_next_at"),
)

# Senders whose mail was recognised as automatic: one row per (normalised) address.
mail_automatic_senders = Table(
    "mail_automatic_senders",
    metadata,
    Column("address", key_string(), nullable=False),
    Column("seen_at", UTCDateTime(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("ticket_id", String(), nullable=True),
    Column("ticket_at", UTCDateTime(), nullable=True),
    PrimaryKeyConstraint("address"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", key_string(), primary_key=True),
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), nullable=False),
    Column("kind", String(), nullable=False),
    Column("channel", String(), nullable=False),
    Column("sender", String(), nullable=False),
    Column("recipients", JSONValue(), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("body_text", Text(), nullable=False),
    Column("body_html", Text(), nullable=True),
    Column("headers", JSONValue(), nullable=False),
    Column("message_id", String(), nullable=True),
    Column("article_id", String(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("state", String(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("last_error", Text(), nullable=True),
    # Rate limits count recent acknowledgements per recipient: the first recipient is indexed.
    Column("first_recipient", String(), nullable=False),
    Column("attachments", JSONValue(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("leased_until", UTCDateTime(), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("results", JSONValue(), nullable=False),
    Column("provider_id", String(), nullable=True),
    Column("cc", JSONValue(), nullable=False),
    Column("reply_to", String(), nullable=True),
    Column("sender_name", Text(), nullable=False),
    # The token of the claim that last took the message (migration 0010): every change a
    # dispatcher makes is a compare-and-set on it, the state and the lease.
    Column("lease_owner", String(), nullable=True),
    Index("ix_outbox_ticket", "ticket_id", "created_at"),
    Index("ix_outbox_provider", "provider_id"),
    Index("ix_outbox_recipient", "first_recipient", "kind", "created_at"),
    Index("ix_outbox_state", "state", "created_at"),
)

# -- SLA -----------------------------------------------------------------------------------

sla_state = Table(
    "sla_state",
    metadata,
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), primary_key=True),
    Column("policy", String(), nullable=True),
    Column("reason", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("next_at", UTCDateTime(), nullable=True),
    # What the deadlines were computed from, so a recomputation can say what moved them.
    Column("targets_digest", String(), nullable=True),
    Column("calendar_digest", String(), nullable=True),
    # The sweep's only read: due rows by next_at. Rows without a next instant stay out of it.
    Index("ix_sla_state_next_at", "next_at", "ticket_id"),
)

sla_escalations = Table(
    "sla_escalations",
    metadata,
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), nullable=False),
    Column("target", String(), nullable=False),
    Column("cycle", Integer(), nullable=False),
    Column("level", String(), nullable=False),
    Column("fired_at", UTCDateTime(), nullable=False),
    Column("notified", JSONValue(), nullable=False),
    # Each level of each target's cycle fires once: the database enforces it.
    PrimaryKeyConstraint("ticket_id", "target", "cycle", "level"),
)

# -- knowledge base ------------------------------------------------------------------------


def _kb_columns() -> list[Column[object]]:
    """The columns of one version of an article: the newest in kb_articles, every one in
    kb_revisions."""
    return [
        Column("key", key_string(), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("title", Text(), nullable=False),
        Column("body", Text(), nullable=False),
        Column("language", String(), nullable=False),
        Column("category", key_string(), nullable=True),
        Column("visibility", String(), nullable=False),
        Column("state", String(), nullable=False),
        Column("tags", JSONValue(), nullable=False),
        Column("related_tickets", JSONValue(), nullable=False),
        Column("attachments", JSONValue(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("created_by", String(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("updated_by", String(), nullable=False),
    ]


kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", key_string(), primary_key=True),
    *_kb_columns(),
    # One article per key: the database enforces it even between concurrent writers.
    UniqueConstraint("key"),
)

kb_revisions = Table(
    "kb_revisions",
    metadata,
    Column("article_id", key_string(), ForeignKey("kb_articles.id"), nullable=False),
    *_kb_columns(),
    Column("change", String(), nullable=False),
    Column("fields", JSONValue(), nullable=False),
    # A version is written once: a writer that lost the race cannot add a second one.
    PrimaryKeyConstraint("article_id", "version"),
)

portal_links = Table(
    "portal_links",
    metadata,
    Column("id", key_string(), primary_key=True),
    Column("token_hash", String(), nullable=False),  # SHA-256 of the token, never the token
    Column("ticket_id", key_string(), ForeignKey("tickets.id"), nullable=False),
    Column("contact_id", key_string(), nullable=False),  # the host's directory may hold it
    Column("email_digest", String(), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_portal_links_ticket_id", "ticket_id"),
    Index("ix_portal_links_contact_id", "contact_id"),
)
