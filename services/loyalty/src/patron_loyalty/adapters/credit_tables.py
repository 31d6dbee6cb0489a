"""The store-credit tables (SQLAlchemy Core), on the loyalty metadata; migration 0003
creates them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    func,
    text,
)

from patron_loyalty.adapters.tables import metadata

# Exact money: up to 16 integer digits and 4 decimals (the contracts' money type).
CreditMoney = Numeric(20, 4)

# One row per customer and currency: the row a change locks (SELECT ... FOR UPDATE) so that
# one customer's applies run one at a time, and the balance every entry leaves behind.
credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance", CreditMoney, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id", "currency"),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
)

# What each issue granted and what is left of it; `customer_id` holds it now (a merge moves
# it), `origin_customer_id` was issued it (an unmerge gives it back).
credit_lots = Table(
    "credit_lots",
    metadata,
    Column("id", Uuid, nullable=False),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("origin_customer_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("amount", CreditMoney, nullable=False),
    Column("remaining", CreditMoney, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("id"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
    CheckConstraint("kind IN ('goodwill', 'refund_alternative', 'loyalty_reward')", name="kind"),
    Index(
        "ix_credit_lots_open",
        "tenant_id",
        "customer_id",
        "currency",
        postgresql_where=text("remaining > 0"),
    ),
    Index(
        "ix_credit_lots_open_by_origin",
        "tenant_id",
        "origin_customer_id",
        postgresql_where=text("remaining > 0 AND customer_id <> origin_customer_id"),
    ),
    Index(
        "ix_credit_lots_due",
        "tenant_id",
        "expires_at",
        postgresql_where=text("remaining > 0 AND expires_at IS NOT NULL"),
    ),
)

# The append-only ledger: one row per issue, apply, expiry and merge move.
credit_entries = Table(
    "credit_entries",
    metadata,
    Column("id", Uuid, nullable=False),
    # the order entries were written in (a customer's ledger reads newest first by it)
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("entry_type", String(20), nullable=False),
    Column("amount", CreditMoney, nullable=False),
    Column("balance_after", CreditMoney, nullable=False),
    Column("lot_id", Uuid),
    Column("kind", String(30)),
    Column("reason", String(500)),
    Column("actor", String(200)),
    Column("order_id", String(100)),
    Column("counterparty_customer_id", Uuid),
    Column("expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("id"),
    CheckConstraint(
        "entry_type IN ('issue', 'apply', 'expire', 'merge_in', 'merge_out')", name="entry_type"
    ),
    CheckConstraint(
        "CASE WHEN entry_type IN ('issue', 'merge_in') THEN amount > 0 ELSE amount < 0 END",
        name="amount_sign",
    ),
    CheckConstraint("balance_after >= 0", name="balance_not_negative"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
    Index("ix_credit_entries_customer", "tenant_id", "customer_id", "seq"),
)

# Requests already answered, by Idempotency-Key or order id: a retry gets the entry the
# first one wrote (and the balance after it) instead of spending twice.
credit_requests = Table(
    "credit_requests",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("key_type", String(20), nullable=False),
    Column("key", String(200), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("fingerprint", String(400), nullable=False),
    Column("entry_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "key_type", "key"),
    CheckConstraint("key_type IN ('idempotency_key', 'order_id')", name="key_type"),
)
