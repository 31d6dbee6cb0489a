"""The loyalty database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from patron_shared.db import MessagingTables, make_metadata

metadata = make_metadata()
messaging = MessagingTables.define(metadata)

loyalty_members = Table(
    "loyalty_members",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("member_since", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    CheckConstraint("status IN ('active', 'closed')", name="status"),
)

# ---------------------------------------------------------------------------- points

# The program of each tenant that changed the defaults (a tenant without a row runs them).
loyalty_programs = Table(
    "loyalty_programs",
    metadata,
    Column("tenant_id", String(63), primary_key=True),
    Column("program", JSONB, nullable=False),
    Column("updated_by", String(200)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per customer with points: the lock that serializes its ledger, its balance (kept
# equal to the sum of its entries and of its open lots), its tier and its card.
points_accounts = Table(
    "points_accounts",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("card_number", String(32), nullable=False),
    Column("balance", Integer, nullable=False, server_default="0"),
    Column("tier", String(100), nullable=False),
    Column("tier_since", DateTime(timezone=True), nullable=False),
    Column("downgrade_due_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    UniqueConstraint("tenant_id", "card_number", name="uq_points_accounts_card_number"),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
)

points_entries = Table(
    "points_entries",
    metadata,
    Column("entry_id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("points", Integer, nullable=False),
    Column("balance_after", Integer, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("actor", String(200)),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(200)),
    # [{"lot_id", "points"}]: the lots the entry added to or took from
    Column("lot_moves", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("points <> 0", name="points_not_zero"),
    CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    CheckConstraint(
        "kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse', 'merge_in', 'merge_out')",
        name="kind",
    ),
    Index("ix_points_entries_history", "tenant_id", "customer_id", "occurred_at", "entry_id"),
)

points_lots = Table(
    "points_lots",
    metadata,
    Column("lot_id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("points", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("earned_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("order_id", String(100)),
    # whose it was before a merge moved it (an unmerge moves it back)
    Column("origin_customer_id", Uuid),
    CheckConstraint("points > 0", name="points_positive"),
    CheckConstraint("remaining BETWEEN 0 AND points", name="remaining_within_points"),
    Index(
        "ix_points_lots_open",
        "tenant_id",
        "customer_id",
        "earned_at",
        postgresql_where=text("remaining > 0"),
    ),
    Index("ix_points_lots_expiring", "expires_at", postgresql_where=text("remaining > 0")),
)

# Each order as the ledger knows it: its folded events and what its points did so far.
points_orders = Table(
    "points_orders",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("state", JSONB, nullable=False),
    # exact (migration 0006): a tier's rate times an exchange rate
    Column("earn_rate", Numeric()),
    Column("earned", Integer, nullable=False, server_default="0"),
    Column("reversed", Integer, nullable=False, server_default="0"),
    Column("unrecovered", Integer, nullable=False, server_default="0"),
    Column("origin_customer_id", Uuid),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "order_id"),
)

# Discounts bought with points: direct redemptions and checkout holds (held, then redeemed
# or cancelled; a hold past `hold_expires_at` reserves nothing).
points_redemptions = Table(
    "points_redemptions",
    metadata,
    Column("redemption_id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("points", Integer, nullable=False),
    Column("discount", Numeric(20, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("code", String(40)),
    Column("order_id", String(100)),
    Column("hold_expires_at", DateTime(timezone=True)),
    Column("entry_id", Uuid),
    Column("idempotency_key", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("settled_at", DateTime(timezone=True)),
    CheckConstraint("points > 0", name="points_positive"),
    CheckConstraint("discount > 0", name="discount_positive"),
    CheckConstraint("status IN ('held', 'redeemed', 'cancelled')", name="status"),
    UniqueConstraint("tenant_id", "code", name="uq_points_redemptions_code"),
    UniqueConstraint(
        "tenant_id", "customer_id", "idempotency_key", name="uq_points_redemptions_idempotency_key"
    ),
    Index(
        "ix_points_redemptions_open_holds",
        "tenant_id",
        "customer_id",
        postgresql_where=text("status = 'held'"),
    ),
)

# Who was merged into whom (until an unmerge): order events naming a merged-away customer
# count for its survivor, and a survivor's tier counts the points its merged customers earned.
points_merges = Table(
    "points_merges",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("merged_customer_id", Uuid, nullable=False),
    Column("survivor_id", Uuid, nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("unmerged_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("tenant_id", "merged_customer_id"),
    Index("ix_points_merges_survivor", "tenant_id", "survivor_id"),
)
