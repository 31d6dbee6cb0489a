"""Orders, and the order facts of each customer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FACT_COLUMNS = (
    sa.Column("order_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("total_spent", sa.Numeric(20, 4), nullable=False, server_default=sa.text("0")),
    sa.Column("stats_currency", sa.String(3)),
    sa.Column("average_order_value", sa.Numeric(20, 4)),
    sa.Column("order_total_max", sa.Numeric(20, 4)),
    sa.Column("order_total_min", sa.Numeric(20, 4)),
    sa.Column("first_order_at", sa.DateTime(timezone=True)),
    sa.Column("last_order_at", sa.DateTime(timezone=True)),
    sa.Column("last_order_month", sa.SmallInteger()),
    sa.Column(
        "categories", postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")
    ),
)


def upgrade() -> None:
    for column in _FACT_COLUMNS:
        op.add_column("customer_facts", column)
    op.create_table(
        "orders",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3)),
        sa.Column("total", sa.Numeric(20, 4)),
        sa.Column("placed_at", sa.DateTime(timezone=True)),
        sa.Column("order_number", sa.String(100)),
        sa.Column("channel", sa.String(100)),
        sa.Column(
            "items", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
        sa.Column("placed_event_id", sa.Uuid()),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column(
            "refunds", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name="pk_orders"),
    )
    op.create_index("ix_orders_customer", "orders", ["tenant_id", "customer_id"])
    enable_tenant_isolation("orders")


def downgrade() -> None:
    op.drop_table("orders")
    for column in reversed(_FACT_COLUMNS):
        op.drop_column("customer_facts", column.name)
