"""The profile database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from patron_shared.db import MessagingTables, base_columns, make_metadata

SEARCH_TEXT = (
    "lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || "
    "coalesce(email, '') || ' ' || coalesce(phone, ''))"
)

metadata = make_metadata()
messaging = MessagingTables.define(metadata)

customers = Table(
    "customers",
    metadata,
    *base_columns(),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("accepts_marketing", Boolean, nullable=False, server_default=text("false")),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("notes", Text),
    Column("external_ids", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("source", String(50)),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("total_orders", Integer, nullable=False, server_default=text("0")),
    Column("priced_orders", Integer, nullable=False, server_default=text("0")),
    Column("total_spent", Numeric(20, 4), nullable=False, server_default=text("0")),
    Column("stats_currency", String(3)),
    Column("first_order_at", DateTime(timezone=True)),
    Column("last_order_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    # Set on a merged customer's tombstone (with deleted_at): the customer it was merged into.
    Column("merged_into", Uuid),
    Column("date_of_birth", Date),
    Column("gender", String(20)),
    Column("locale", String(35)),
    Column("preferences", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("group_id", Uuid),
    Column("last_login_at", DateTime(timezone=True)),
    # Read-model fields kept from segmentation and loyalty events.
    Column("is_vip", Boolean, nullable=False, server_default=text("false")),
    Column("segments", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("loyalty_points", BigInteger, nullable=False, server_default=text("0")),
    Column("loyalty_tier", String(50)),
    # Lower-cased names, email and phone: what partial search matches (trigram index).
    Column("search_text", Text, Computed(SEARCH_TEXT, persisted=True)),
    # Emails are stored lower-cased, so this is case-insensitive uniqueness per tenant.
    Index(
        "uq_customers_tenant_email",
        "tenant_id",
        "email",
        unique=True,
        postgresql_where=text("email IS NOT NULL AND deleted_at IS NULL"),
    ),
    Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
)

# One row per live customer and tag: what tag filters and counts read. Triggers on
# `customers` keep it equal to `customers.tags` (migration 0009); nothing writes it directly.
customer_tags = Table(
    "customer_tags",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("tag", Text, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    PrimaryKeyConstraint("tenant_id", "tag", "customer_id"),
)

orders = Table(
    "orders",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    # pending (only paid/refunded/cancelled events so far), placed, paid or cancelled.
    Column("status", String(20), nullable=False),
    # Null while pending: set by the order's OrderPlaced.
    Column("currency", String(3)),
    Column("total", Numeric(20, 4)),
    Column("placed_at", DateTime(timezone=True)),
    Column("order_number", String(100)),
    Column("channel", String(100)),
    Column("items", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # The OrderPlaced message that defined the order.
    Column("event_id", Uuid),
    Column("paid_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    # Sum of the order_refunds in the order's currency, capped at its total.
    Column("refunded_amount", Numeric(20, 4), nullable=False, server_default=text("0")),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "order_id"),
    Index("ix_orders_customer", "tenant_id", "customer_id", "placed_at"),
)

# Every refund of an order, once per refund event, kept even before the order is placed.
order_refunds = Table(
    "order_refunds",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("refund_id", Uuid, nullable=False),
    Column("amount", Numeric(20, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("refunded_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
    PrimaryKeyConstraint("tenant_id", "order_id", "refund_id"),
)
