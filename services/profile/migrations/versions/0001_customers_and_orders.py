"""Customers, their placed orders, the outbox and the inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import create_messaging_tables, enable_tenant_isolation

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(32)),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column(
            "accepts_marketing", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")
        ),
        sa.Column("notes", sa.Text()),
        sa.Column(
            "external_ids",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        sa.Column("source", sa.String(50)),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("total_orders", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("priced_orders", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("total_spent", sa.Numeric(20, 4), nullable=False, server_default=sa.text("0")),
        sa.Column("stats_currency", sa.String(3)),
        sa.Column("first_order_at", sa.DateTime(timezone=True)),
        sa.Column("last_order_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
    )
    op.create_index(
        "uq_customers_tenant_email",
        "customers",
        ["tenant_id", "email"],
        unique=True,
        postgresql_where=sa.text("email IS NOT NULL AND deleted_at IS NULL"),
    )
    op.create_index("ix_customers_tenant_phone", "customers", ["tenant_id", "phone"])
    op.create_index("ix_customers_tenant_created", "customers", ["tenant_id", "created_at", "id"])
    op.create_table(
        "orders",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.Numeric(20, 4), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_number", sa.String(100)),
        sa.Column("channel", sa.String(100)),
        sa.Column(
            "items", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
        sa.Column("counted", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name="pk_orders"),
    )
    op.create_index("ix_orders_customer", "orders", ["tenant_id", "customer_id", "placed_at"])
    for table in ("customers", "orders"):
        enable_tenant_isolation(table)


def downgrade() -> None:
    op.drop_table("orders")
    op.drop_table("customers")
    op.drop_table("inbox")
    op.drop_table("outbox")
