"""Customer groups and how each customer got its group (by hand or by rule).

`customers.group_id` (0002) stays the customer's group; `customer_group_assignments` records
whether a person or a rule put it there, so rules never override a hand-made choice. Default
groups (Retail, Wholesale, VIP) are created per tenant on first use, idempotently through
the unique `(tenant_id, key)`; names are unique per tenant, case-insensitively.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("key", sa.String(20)),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column(
            "discount_percent", sa.Numeric(5, 2), nullable=False, server_default=sa.text("0")
        ),
        sa.Column("free_shipping", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("free_shipping_threshold", sa.Numeric(20, 4)),
        sa.Column("minimum_order", sa.Numeric(20, 4)),
        sa.Column("currency", sa.String(3)),
        sa.Column("payment_terms", sa.String(30), nullable=False, server_default="prepaid"),
        sa.Column("price_list", sa.String(100)),
        sa.Column("auto_assign", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column(
            "rules",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_customer_groups"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_customer_groups_tenant_id_key"),
        sa.CheckConstraint(
            "discount_percent BETWEEN 0 AND 100", name=op.f("ck_customer_groups_discount_percent")
        ),
        sa.CheckConstraint(
            "free_shipping_threshold IS NULL OR free_shipping_threshold >= 0",
            name=op.f("ck_customer_groups_free_shipping_threshold"),
        ),
        sa.CheckConstraint(
            "minimum_order IS NULL OR minimum_order >= 0",
            name=op.f("ck_customer_groups_minimum_order"),
        ),
    )
    op.create_index(
        "uq_customer_groups_tenant_name",
        "customer_groups",
        ["tenant_id", sa.text("lower(name)")],
        unique=True,
    )
    enable_tenant_isolation("customer_groups")

    op.create_table(
        "customer_group_assignments",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by", sa.String(10), nullable=False),
        sa.Column(
            "assigned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name="pk_customer_group_assignments"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_customer_group_assignments_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["customer_groups.id"],
            name="fk_customer_group_assignments_group_id_customer_groups",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "assigned_by IN ('manual', 'rule')",
            name=op.f("ck_customer_group_assignments_assigned_by"),
        ),
    )
    op.create_index(
        "ix_customer_group_assignments_group",
        "customer_group_assignments",
        ["tenant_id", "group_id"],
    )
    enable_tenant_isolation("customer_group_assignments")


def downgrade() -> None:
    op.drop_table("customer_group_assignments")
    op.drop_table("customer_groups")
