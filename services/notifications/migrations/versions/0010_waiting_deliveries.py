"""Deliveries waiting for the customer: a message asked for a customer whose snapshot has
not arrived yet (an order placed before the customer's creation reached this service)
waits, with what is needed to plan it again, until the snapshot comes or the wait ends.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "('queued', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'waiting')"
_STATUSES_BEFORE = "('queued', 'sending', 'sent', 'delivered', 'failed', 'skipped')"


def upgrade() -> None:
    op.drop_constraint("ck_deliveries_status", "deliveries", type_="check")
    op.create_check_constraint("ck_deliveries_status", "deliveries", f"status IN {_STATUSES}")
    # what planning the message again needs (extras, category, not before, channel choice);
    # cleared once it is planned, expired or erased
    op.add_column("deliveries", sa.Column("request", JSONB()))
    op.create_index(
        "ix_deliveries_waiting_customer",
        "deliveries",
        ["tenant_id", "customer_id"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.create_index(
        "ix_deliveries_waiting_since",
        "deliveries",
        ["created_at"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    # across tenants: what waited since before `p_before` is skipped, its request forgotten
    op.execute(
        """
        CREATE FUNCTION expire_waiting_deliveries(p_before timestamptz, p_reason text)
        RETURNS int
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
            WITH expired AS (
                UPDATE deliveries
                SET status = 'skipped', skipped_reason = p_reason, request = NULL,
                    next_attempt_at = NULL
                WHERE status = 'waiting' AND created_at < p_before
                RETURNING 1
            )
            SELECT count(*)::int FROM expired
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS expire_waiting_deliveries(timestamptz, text)")
    op.execute(
        "UPDATE deliveries SET status = 'skipped', skipped_reason = 'customer_unknown' "
        "WHERE status = 'waiting'"
    )
    op.drop_index("ix_deliveries_waiting_since", table_name="deliveries")
    op.drop_index("ix_deliveries_waiting_customer", table_name="deliveries")
    op.drop_column("deliveries", "request")
    op.drop_constraint("ck_deliveries_status", "deliveries", type_="check")
    op.create_check_constraint(
        "ck_deliveries_status", "deliveries", f"status IN {_STATUSES_BEFORE}"
    )
