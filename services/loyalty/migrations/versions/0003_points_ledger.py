"""The points ledger: programs, accounts (balance, tier, card), entries, lots and orders.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("loyalty_programs", "points_accounts", "points_entries", "points_lots", "points_orders")


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "loyalty_programs",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("program", postgresql.JSONB(), nullable=False),
        sa.Column("updated_by", sa.String(200)),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_loyalty_programs"),
    )
    op.create_table(
        "points_accounts",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("card_number", sa.String(32), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("tier", sa.String(100), nullable=False),
        sa.Column("tier_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downgrade_due_at", sa.DateTime(timezone=True)),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name="pk_points_accounts"),
        sa.UniqueConstraint("tenant_id", "card_number", name="uq_points_accounts_card_number"),
        sa.CheckConstraint("balance >= 0", name="ck_points_accounts_balance_not_negative"),
    )
    op.create_table(
        "points_entries",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("source_id", sa.String(200)),
        sa.Column("lot_moves", postgresql.JSONB(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("entry_id", name="pk_points_entries"),
        sa.CheckConstraint("points <> 0", name="ck_points_entries_points_not_zero"),
        sa.CheckConstraint(
            "balance_after >= 0", name="ck_points_entries_balance_after_not_negative"
        ),
        sa.CheckConstraint(
            "kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse', 'merge_in', 'merge_out')",
            name="ck_points_entries_kind",
        ),
    )
    op.create_index(
        "ix_points_entries_history",
        "points_entries",
        ["tenant_id", "customer_id", "occurred_at", "entry_id"],
    )
    op.create_table(
        "points_lots",
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("order_id", sa.String(100)),
        sa.PrimaryKeyConstraint("lot_id", name="pk_points_lots"),
        sa.CheckConstraint("points > 0", name="ck_points_lots_points_positive"),
        sa.CheckConstraint(
            "remaining BETWEEN 0 AND points", name="ck_points_lots_remaining_within_points"
        ),
    )
    op.create_index(
        "ix_points_lots_open",
        "points_lots",
        ["tenant_id", "customer_id", "earned_at"],
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_index(
        "ix_points_lots_expiring",
        "points_lots",
        ["expires_at"],
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_table(
        "points_orders",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("state", postgresql.JSONB(), nullable=False),
        sa.Column("earn_rate", sa.Numeric(12, 4)),
        sa.Column("earned", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("reversed", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("unrecovered", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name="pk_points_orders"),
    )
    for table in _TABLES:
        enable_tenant_isolation(table)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
