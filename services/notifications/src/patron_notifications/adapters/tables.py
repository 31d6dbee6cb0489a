"""The notifications database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from patron_shared.db import MessagingTables, make_metadata

metadata = make_metadata()
messaging = MessagingTables.define(metadata)

contacts = Table(
    "contacts",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("first_name", String(200)),
    Column("locale", String(35)),
    Column("accepts_marketing", Boolean, nullable=False, server_default=text("false")),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    Index("ix_contacts_tenant_created", "tenant_id", "created_at", "customer_id"),
)

# Every saved version of a tenant's message template; the highest version is in use.
message_templates = Table(
    "message_templates",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("key", String(63), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("version", Integer, nullable=False),
    Column("category", String(16), nullable=False),
    Column("subject", Text),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text),
    Column("created_by", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "key", "channel", "version"),
    CheckConstraint("channel IN ('email', 'sms')", name="channel"),
    CheckConstraint("category IN ('transactional', 'marketing')", name="category"),
    CheckConstraint("version >= 1", name="version"),
)
