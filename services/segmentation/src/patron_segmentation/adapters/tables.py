"""The segmentation database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from patron_shared.db import MessagingTables, make_metadata

metadata = make_metadata()
messaging = MessagingTables.define(metadata)

customer_facts = Table(
    "customer_facts",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("accepts_marketing", Boolean, nullable=False, server_default=text("false")),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("registered_at", DateTime(timezone=True)),
    Column("date_of_birth", Date),  # migration 0003
    Column("gender", String(20)),  # migration 0008
    Column("source", String(50)),  # migration 0008
    Column("merged_into", Uuid),  # migration 0005: merged into this customer
    # migration 0007: address id -> {type, is_default, city, state, country}; the default
    # address gives the location
    Column("addresses", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("country", String(2)),
    Column("state", String(200)),
    Column("city", String(200)),
    Column("group_id", Uuid),
    Column("loyalty_tier", String(100)),
    Column("loyalty_tier_at", DateTime(timezone=True)),
    Column("messages_sent", Integer, nullable=False, server_default=text("0")),
    Column("messages_opened", Integer, nullable=False, server_default=text("0")),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Order facts (migration 0002), folded from the customer's orders (domain.orders).
    Column("order_count", Integer, nullable=False, server_default=text("0")),
    Column("total_spent", Numeric(20, 4), nullable=False, server_default=text("0")),
    Column("stats_currency", String(3)),
    Column("average_order_value", Numeric(20, 4)),
    Column("order_total_max", Numeric(20, 4)),
    Column("order_total_min", Numeric(20, 4)),
    Column("first_order_at", DateTime(timezone=True)),
    Column("last_order_at", DateTime(timezone=True)),
    Column("last_order_month", SmallInteger),
    Column("categories", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
)

# Every order the order events told of, folded as patron_shared.orders folds them (0002).
orders = Table(
    "orders",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    # Null until the order's OrderPlaced arrives.
    Column("currency", String(3)),
    Column("total", Numeric(20, 4)),
    Column("placed_at", DateTime(timezone=True)),
    Column("order_number", String(100)),
    Column("channel", String(100)),
    Column("items", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("placed_event_id", Uuid),
    Column("paid_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    # [{"refund_id", "amount", "currency", "refunded_at", "reason"}], one per refund event
    Column("refunds", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # migration 0005: the customer the order belonged to before a merge moved it
    Column("merged_from", Uuid),
    PrimaryKeyConstraint("tenant_id", "order_id"),
    Index("ix_orders_customer", "tenant_id", "customer_id"),
)

# Custom segments (migration 0003): a name and a rule in its JSON form.
segments = Table(
    "segments",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("rule", JSONB, nullable=False),
    Column("created_by", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index("uq_segments_tenant_name", "tenant_id", text("lower(name)"), unique=True),
    Index("ix_segments_tenant_created", "tenant_id", "created_at", "id"),
)

# Who is in which segment now (migration 0004): built-in keys and custom segment ids.
segment_memberships = Table(
    "segment_memberships",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("segment_key", String(100), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "segment_key", "customer_id"),
    Index("ix_segment_memberships_customer", "tenant_id", "customer_id"),
)

# Fitted customer-base models (migration 0006): BG/NBD and Gamma-Gamma per cut-off and unit.
insight_models = Table(
    "insight_models",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("time_unit", String(10), nullable=False),
    Column("model", JSONB, nullable=False),
    Column("fitted_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "as_of", "time_unit"),
)

# Notifications a customer opened (migration 0007): each counts once.
message_opens = Table(
    "message_opens",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("notification_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    PrimaryKeyConstraint("tenant_id", "notification_id"),
)
