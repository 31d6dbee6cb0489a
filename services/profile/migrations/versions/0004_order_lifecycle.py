"""The order lifecycle: paid, refunded and cancelled orders, and events that come early.

An order row now exists as soon as any of its events arrives: a *pending* row (no currency,
total or placing time yet) keeps an early payment, cancellation or refund until its
OrderPlaced fills it in. Refunds live in `order_refunds`, one row per refund event, so a
redelivered refund counts once; `orders.refunded_amount` is their sum in the order's
currency, capped at its total. Customers' statistics are recomputed from their orders, so
the `counted` flag goes, and the statistics are rebuilt here from the orders once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statistics of every customer with orders, as `OrderStats.from_orders` defines them:
# placed, not cancelled orders count; spend is in the earliest such order's currency.
REBUILD_STATISTICS = """
WITH live AS (
    SELECT tenant_id, customer_id, order_id, currency, total, refunded_amount, placed_at
    FROM orders
    WHERE placed_at IS NOT NULL AND cancelled_at IS NULL
), first_currency AS (
    SELECT DISTINCT ON (tenant_id, customer_id) tenant_id, customer_id, currency
    FROM live
    ORDER BY tenant_id, customer_id, placed_at, order_id COLLATE "C"
), stats AS (
    SELECT l.tenant_id, l.customer_id, f.currency,
           count(*) AS total_orders,
           count(*) FILTER (WHERE l.currency = f.currency) AS priced_orders,
           coalesce(sum(l.total - l.refunded_amount) FILTER (WHERE l.currency = f.currency), 0)
               AS total_spent,
           min(l.placed_at) AS first_order_at,
           max(l.placed_at) AS last_order_at
    FROM live l JOIN first_currency f USING (tenant_id, customer_id)
    GROUP BY l.tenant_id, l.customer_id, f.currency
)
UPDATE customers c
SET total_orders = s.total_orders,
    priced_orders = s.priced_orders,
    total_spent = s.total_spent,
    stats_currency = s.currency,
    first_order_at = s.first_order_at,
    last_order_at = s.last_order_at
FROM stats s
WHERE c.tenant_id = s.tenant_id AND c.id = s.customer_id
"""


def upgrade() -> None:
    op.add_column(
        "orders", sa.Column("status", sa.String(20), nullable=False, server_default="placed")
    )
    op.alter_column("orders", "status", server_default=None)
    op.add_column("orders", sa.Column("paid_at", sa.DateTime(timezone=True)))
    op.add_column("orders", sa.Column("cancelled_at", sa.DateTime(timezone=True)))
    op.add_column(
        "orders",
        sa.Column(
            "refunded_amount", sa.Numeric(20, 4), nullable=False, server_default=sa.text("0")
        ),
    )
    for column in ("currency", "total", "placed_at", "event_id"):
        op.alter_column("orders", column, nullable=True)
    op.drop_column("orders", "counted")
    op.create_table(
        "order_refunds",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("refund_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "refund_id", name="pk_order_refunds"),
    )
    enable_tenant_isolation("order_refunds")
    op.execute(REBUILD_STATISTICS)


def downgrade() -> None:
    # Early events of orders never placed, and refunds, have no place in the old schema.
    op.drop_table("order_refunds")
    op.execute("DELETE FROM orders WHERE placed_at IS NULL")
    op.add_column(
        "orders",
        sa.Column("counted", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.execute(
        "UPDATE orders o SET counted = true FROM customers c "
        "WHERE c.tenant_id = o.tenant_id AND c.id = o.customer_id"
    )
    for column in ("currency", "total", "placed_at", "event_id"):
        op.alter_column("orders", column, nullable=False)
    for column in ("refunded_amount", "cancelled_at", "paid_at", "status"):
        op.drop_column("orders", column)
