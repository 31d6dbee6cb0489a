"""Points redemptions (direct ones and checkout holds), merges, and the tenants the daily
jobs visit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "points_redemptions",
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("code", sa.String(40)),
        sa.Column("order_id", sa.String(100)),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True)),
        sa.Column("entry_id", sa.Uuid()),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("redemption_id", name="pk_points_redemptions"),
        sa.CheckConstraint("points > 0", name="ck_points_redemptions_points_positive"),
        sa.CheckConstraint("discount > 0", name="ck_points_redemptions_discount_positive"),
        sa.CheckConstraint(
            "status IN ('held', 'redeemed', 'cancelled')", name="ck_points_redemptions_status"
        ),
        sa.UniqueConstraint("tenant_id", "code", name="uq_points_redemptions_code"),
        sa.UniqueConstraint(
            "tenant_id",
            "customer_id",
            "idempotency_key",
            name="uq_points_redemptions_idempotency_key",
        ),
    )
    op.create_index(
        "ix_points_redemptions_open_holds",
        "points_redemptions",
        ["tenant_id", "customer_id"],
        postgresql_where=sa.text("status = 'held'"),
    )
    enable_tenant_isolation("points_redemptions")
    # whose a lot or an order was before a merge moved it (an unmerge moves it back)
    op.add_column("points_lots", sa.Column("origin_customer_id", sa.Uuid()))
    op.add_column("points_orders", sa.Column("origin_customer_id", sa.Uuid()))
    op.create_table(
        "points_merges",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("merged_customer_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unmerged_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("tenant_id", "merged_customer_id", name="pk_points_merges"),
    )
    op.create_index("ix_points_merges_survivor", "points_merges", ["tenant_id", "survivor_id"])
    enable_tenant_isolation("points_merges")
    # The service's role sees one tenant at a time; the daily jobs (expiry, tier reviews)
    # need to know which tenants have points or credit. Owned by the tables' owner, this
    # function tells that and nothing else.
    op.execute(
        """
        CREATE FUNCTION loyalty_tenants() RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT tenant_id::text FROM points_accounts
            UNION
            SELECT tenant_id::text FROM credit_accounts
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS loyalty_tenants()")
    op.drop_table("points_merges")
    op.drop_column("points_orders", "origin_customer_id")
    op.drop_column("points_lots", "origin_customer_id")
    op.drop_table("points_redemptions")
