"""The notifications database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Time,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

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
    Column("last_name", String(200)),
    Column("full_name", String(400)),
    Column("date_of_birth", Date),
    # email marketing opt-in: the snapshot's `accepts_marketing` or a newer consent event
    Column("accepts_marketing", Boolean, nullable=False, server_default=text("false")),
    Column("email_consent_at", DateTime(timezone=True)),
    Column("sms_marketing", Boolean, nullable=False, server_default=text("false")),
    Column("sms_consent_at", DateTime(timezone=True)),
    Column("email_unsubscribed", Boolean, nullable=False, server_default=text("false")),
    Column("sms_unsubscribed", Boolean, nullable=False, server_default=text("false")),
    Column("time_zone", String(64)),
    Column("preferences_updated_at", DateTime(timezone=True)),
    Column("points", Integer, nullable=False, server_default=text("0")),
    Column("points_at", DateTime(timezone=True)),
    Column("tier", String(100)),
    Column("tier_at", DateTime(timezone=True)),
    Column("last_order_id", String(100)),
    Column("last_order_total", Numeric(20, 4)),
    Column("last_order_currency", String(3)),
    Column("last_order_placed_at", DateTime(timezone=True)),
    Column("merged_into", Uuid),
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

# A tenant's messaging settings; a missing row (or column) means the service's defaults.
messaging_settings = Table(
    "messaging_settings",
    metadata,
    Column("tenant_id", String(63), primary_key=True),
    Column("shop_name", String(200)),
    Column("shop_url", String(500)),
    Column("triggers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("marketing_cap", Integer),
    Column("marketing_cap_days", Integer),
    Column("quiet_hours_start", Time),
    Column("quiet_hours_end", Time),
    Column("default_time_zone", String(64)),
    Column("updated_by", String(200)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
