"""The delivery queue and log: one row per message to one customer on one channel."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from patron_notifications.adapters.tables import metadata

deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("category", String(16), nullable=False),
    Column("template_key", String(63), nullable=False),
    # what caused it, the template, the customer and the channel: one key, one message
    Column("idempotency_key", String(64), nullable=False),
    Column("cause", String(200), nullable=False),
    Column("campaign_id", Uuid),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True)),
    # a worker's claim on a message it is sending; a worker that died lets it lapse
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("provider_message_id", String(200)),
    Column("skipped_reason", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    # the customer it was queued for, while a merge has moved it to the survivor's log
    Column("merged_from", Uuid),
    # a waiting message's request (extras, category, not before, channel choice): what
    # planning it again needs once the customer is known; cleared after
    Column("request", JSONB),
    UniqueConstraint(
        "tenant_id", "idempotency_key", name="uq_deliveries_tenant_id_idempotency_key"
    ),
    CheckConstraint("channel IN ('email', 'sms')", name="channel"),
    CheckConstraint(
        "status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'waiting')",
        name="status",
    ),
    # the workers' claim: transactional first, each category in due order
    Index(
        "ix_deliveries_due_by_category",
        "category",
        text("coalesce(next_attempt_at, created_at)"),
        postgresql_where=text("status = 'queued'"),
    ),
    Index(
        "ix_deliveries_waiting_customer",
        "tenant_id",
        "customer_id",
        postgresql_where=text("status = 'waiting'"),
    ),
    Index("ix_deliveries_waiting_since", "created_at", postgresql_where=text("status = 'waiting'")),
    Index("ix_deliveries_log", "tenant_id", "customer_id", "created_at", "delivery_id"),
    Index("ix_deliveries_provider_message", "provider_message_id"),
    Index("ix_deliveries_leased", "lease_until", postgresql_where=text("status = 'sending'")),
    Index(
        "ix_deliveries_merged_from",
        "tenant_id",
        "merged_from",
        postgresql_where=text("merged_from IS NOT NULL"),
    ),
)

# Final SMS reports about a sid no delivery had yet (the provider reported before the
# worker recorded it): claimed by the worker as it records the sid, purged after a day.
early_sms_reports = Table(
    "early_sms_reports",
    metadata,
    Column("tenant_id", String(63), primary_key=True),
    Column("message_sid", String(200), primary_key=True),
    Column("status", String(12), nullable=False),
    Column("error_code", Integer),
    Column("error_message", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_early_sms_reports_received_at", "received_at"),
)
