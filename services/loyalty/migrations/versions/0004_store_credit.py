"""Store credit: accounts per customer and currency, lots, the ledger, answered requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("credit_accounts", "credit_lots", "credit_entries", "credit_requests")
_CURRENCY_CODE = "currency ~ '^[A-Z]{3}$'"


def _money() -> sa.Numeric[Decimal]:
    return sa.Numeric(20, 4)


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "credit_accounts",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance", _money(), nullable=False, server_default="0"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "currency", name="pk_credit_accounts"),
        sa.CheckConstraint("balance >= 0", name="ck_credit_accounts_balance_not_negative"),
        sa.CheckConstraint(_CURRENCY_CODE, name="ck_credit_accounts_currency_code"),
    )
    op.create_table(
        "credit_lots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("origin_customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("remaining", _money(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_credit_lots"),
        sa.CheckConstraint("amount > 0", name="ck_credit_lots_amount_positive"),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= amount", name="ck_credit_lots_remaining_within_amount"
        ),
        sa.CheckConstraint(_CURRENCY_CODE, name="ck_credit_lots_currency_code"),
        sa.CheckConstraint(
            "kind IN ('goodwill', 'refund_alternative', 'loyalty_reward')",
            name="ck_credit_lots_kind",
        ),
    )
    op.create_index(
        "ix_credit_lots_open",
        "credit_lots",
        ["tenant_id", "customer_id", "currency"],
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_index(
        "ix_credit_lots_open_by_origin",
        "credit_lots",
        ["tenant_id", "origin_customer_id"],
        postgresql_where=sa.text("remaining > 0 AND customer_id <> origin_customer_id"),
    )
    op.create_index(
        "ix_credit_lots_due",
        "credit_lots",
        ["tenant_id", "expires_at"],
        postgresql_where=sa.text("remaining > 0 AND expires_at IS NOT NULL"),
    )
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("entry_type", sa.String(20), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("balance_after", _money(), nullable=False),
        sa.Column("lot_id", sa.Uuid()),
        sa.Column("kind", sa.String(30)),
        sa.Column("reason", sa.String(500)),
        sa.Column("actor", sa.String(200)),
        sa.Column("order_id", sa.String(100)),
        sa.Column("counterparty_customer_id", sa.Uuid()),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credit_entries"),
        sa.CheckConstraint(
            "entry_type IN ('issue', 'apply', 'expire', 'merge_in', 'merge_out')",
            name="ck_credit_entries_entry_type",
        ),
        # issues and merges in add credit, everything else takes it
        sa.CheckConstraint(
            "CASE WHEN entry_type IN ('issue', 'merge_in') THEN amount > 0 ELSE amount < 0 END",
            name="ck_credit_entries_amount_sign",
        ),
        sa.CheckConstraint("balance_after >= 0", name="ck_credit_entries_balance_not_negative"),
        sa.CheckConstraint(_CURRENCY_CODE, name="ck_credit_entries_currency_code"),
    )
    op.create_index(
        "ix_credit_entries_customer", "credit_entries", ["tenant_id", "customer_id", "seq"]
    )
    op.create_table(
        "credit_requests",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("key_type", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(400), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "key_type", "key", name="pk_credit_requests"),
        sa.CheckConstraint(
            "key_type IN ('idempotency_key', 'order_id')", name="ck_credit_requests_key_type"
        ),
    )
    for table in _TABLES:
        enable_tenant_isolation(table)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
