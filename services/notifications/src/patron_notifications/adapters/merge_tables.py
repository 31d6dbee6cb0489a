"""Merges as the notifications service records them (migration 0009)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    func,
    text,
)

from patron_notifications.adapters.tables import metadata

# One row per merge seen (merged_at set), or per unmerge seen before its merge (merged_at
# None); ids, flags and times only, never personal data.
contact_merges = Table(
    "contact_merges",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("record_id", Uuid, nullable=False),
    Column("merged_customer_id", Uuid, nullable=False),
    Column("survivor_id", Uuid, nullable=False),
    Column("merged_at", DateTime(timezone=True)),
    Column("unmerged_at", DateTime(timezone=True)),
    Column("merge_id", Uuid),
    # the merged customer's own unsubscribes when it was merged: an unmerge gives them back
    Column("email_unsubscribed_before", Boolean, nullable=False, server_default=text("false")),
    Column("sms_unsubscribed_before", Boolean, nullable=False, server_default=text("false")),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "record_id"),
    CheckConstraint("merged_at IS NOT NULL OR unmerged_at IS NOT NULL", name="seen"),
    Index("ix_contact_merges_merged", "tenant_id", "merged_customer_id"),
    Index(
        "uq_contact_merges_active",
        "tenant_id",
        "merged_customer_id",
        unique=True,
        postgresql_where=text("merged_at IS NOT NULL AND unmerged_at IS NULL"),
    ),
)
