"""Campaign tables (SQLAlchemy Core); migration 0008 creates them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.tables import metadata

# Who is in which segment now, as segmentation last said (the newest `at` wins).
segment_members = Table(
    "segment_members",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    # a built-in segment's key ("vip") or a custom segment's UUID as text
    Column("segment_key", String(100), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("member", Boolean, nullable=False),
    # the `at` of the event that said so
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "segment_key", "customer_id"),
    Index(
        "ix_segment_members_current",
        "tenant_id",
        "segment_key",
        "customer_id",
        postgresql_where=text("member"),
    ),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("name", String(200), nullable=False),
    Column("template_key", String(63), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("category", String(16), nullable=False),
    # the segment, or NULL for a list of customers (campaign_customers)
    Column("segment_key", String(100)),
    # customers in the audience: counted when created, exact once all are queued
    Column("audience_size", Integer, nullable=False),
    Column("variables", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("throttle_per_second", Float),
    Column("status", String(12), nullable=False),
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancelled_by", String(200)),
    # the runner's place: the last customer id queued (the audience goes in id order)
    Column("cursor_customer_id", Uuid),
    Column("targeted", Integer, nullable=False, server_default=text("0")),
    Column("idempotency_key", String(200)),
    Column("request_hash", String(64)),
    Column("created_by", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "idempotency_key", name="uq_campaigns_tenant_id_idempotency_key"),
    CheckConstraint("channel IN ('email', 'sms')", name="channel"),
    CheckConstraint("status IN ('scheduled', 'sending', 'sent', 'cancelled')", name="status"),
    CheckConstraint(
        "throttle_per_second IS NULL OR throttle_per_second > 0", name="throttle_per_second"
    ),
    Index("ix_campaigns_tenant_created", "tenant_id", "created_at", "campaign_id"),
    Index(
        "ix_campaigns_due",
        "scheduled_at",
        postgresql_where=text("status IN ('scheduled', 'sending')"),
    ),
)

campaign_customers = Table(
    "campaign_customers",
    metadata,
    Column(
        "campaign_id",
        Uuid,
        ForeignKey("campaigns.campaign_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("customer_id", Uuid, nullable=False),
    Column("tenant_id", String(63), nullable=False),
    PrimaryKeyConstraint("campaign_id", "customer_id"),
)

# a campaign's live counts, from the index alone
Index(
    "ix_deliveries_campaign",
    deliveries.c.campaign_id,
    deliveries.c.status,
    postgresql_include=["skipped_reason", "tenant_id"],
    postgresql_where=deliveries.c.campaign_id.isnot(None),
)
